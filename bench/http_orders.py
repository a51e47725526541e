"""Order entry over HTTP with a real server, a real worker, PostgreSQL and Redis (issue 3, §8).

``make bench-http`` (``python -m bench.http_orders [--profile [N]]``):

1. Drops and re-creates a scratch PostgreSQL database (``oms_bench_http`` on 127.0.0.1, or
   ``BENCH_HTTP_DATABASE_URL``; its name must contain "bench"), migrates it and seeds, through the
   services: one tenant, one trader with an API token, one account, one equity instrument and
   three simulated venues with different fees, each quoting it deep (a billion shares a side),
   so every order fills.
2. Starts gunicorn (``oms_site.wsgi``, 2 workers; ``gthread`` with ``BENCH_HTTP_THREADS`` threads,
   default 4, because gunicorn's ``sync`` worker closes every connection and the load keeps its
   connections alive) on a free 127.0.0.1 port, and a Celery worker (queues routing, venues,
   default; thread pool, concurrency 4), both with ``DEBUG`` off, ``LOG_LEVEL=WARNING``, the
   scratch database, and Redis databases that were empty (broker, cache; flushed at the end).
   Waits for ``/healthz``; a warm-up (``BENCH_HTTP_WARMUP`` requests of each kind, default 200)
   fills its orders, which proves the worker is consuming. Both processes are always stopped at
   the end (also on Ctrl-C or SIGTERM); their output is in ``var/bench-http/``.
3. Alternates baseline and candidate rounds (``BENCH_HTTP_ROUNDS``, default 3 of each) of
   ``BENCH_HTTP_N`` requests (default 2,000) over ``BENCH_HTTP_CONNECTIONS`` keep-alive
   connections (default 8), sent by ``bench/http_load.py`` in its own process:
   - baseline: ``POST /api/v1/bench/baseline/``, a plain DRF ModelSerializer create of a bare
     row (``bench/endpoints.py``; mounted only with ``OMS_BENCH_ENDPOINTS=1``);
   - candidate: ``POST /api/v1/trading/orders/``, a marketable day limit buy (validated,
     screened, journaled, answered 201, then routed and filled by the worker).
   Same server, same middleware, same token authentication. After each candidate round the
   script polls the database until none of the round's orders is live (pending / open /
   partial), so the worker's backlog never spills into the next round, and reports the orders
   filled per second end to end (first request out to last order filled).
4. Batch entry: ``BENCH_HTTP_BATCHES`` (default 3) ``POST /api/v1/trading/orders/batch/`` of
   ``BENCH_HTTP_BATCH_SIZE`` orders (default 1,000) on one connection, each drained the same way;
   reports orders accepted per second (201 results / request time) and filled end to end.
5. Prints medians over the rounds: requests/s, p50 and p99 latency, the candidate/baseline ratio,
   and CPU per request of the web workers, the Celery worker, PostgreSQL (all its processes) and
   the load generator, read from /proc: on a 2-core machine CPU is the budget they share.
6. ``--profile [N]`` (default 500): afterwards, with the servers stopped, runs N candidate and N
   baseline creates in process through ``APIRequestFactory`` (no middleware, no HTTP) and prints
   the per-request time, the SQL statements of one candidate request and a cProfile breakdown;
   then routes the orders it entered (left pending: the worker is stopped) in process, as the
   worker does (``trading.tasks.route_order``: route, send to the simulated venue, its ACK and
   FILL, booking), and prints the worker's CPU ms, SQL statements and row locks per order.

Numbers drift up to 1.5x between runs on these machines (DESIGN.md): compare within one run.
Everything is bounded: every loop has a count and a deadline, and only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import json
import os
import pstats
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.db import database_config, database_recreate
from bench.report import quick, record

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "var" / "bench-http"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


DATABASE_URL = (
    os.environ.get("BENCH_HTTP_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/oms_bench_http"
)
_QUICK = quick()  # make bench QUICK=1: a smoke run
ROUNDS = _env_int("BENCH_HTTP_ROUNDS", 1 if _QUICK else 3)
PER_ROUND = _env_int("BENCH_HTTP_N", 200 if _QUICK else 2000)
CONNECTIONS = _env_int("BENCH_HTTP_CONNECTIONS", 8)
WARMUP = _env_int("BENCH_HTTP_WARMUP", 20 if _QUICK else 200)
BATCHES = _env_int("BENCH_HTTP_BATCHES", 1 if _QUICK else 3)
BATCH_SIZE = _env_int("BENCH_HTTP_BATCH_SIZE", 200 if _QUICK else 1000)
WEB_WORKERS = 2
WEB_THREADS = _env_int("BENCH_HTTP_THREADS", 4)
WORKER_CONCURRENCY = 4
READY_TIMEOUT = 60.0  # seconds for gunicorn to answer /healthz
REQUEST_TIMEOUT = 120.0  # one HTTP request of a round
BATCH_TIMEOUT = 900.0  # one batch request (and gunicorn's worker timeout)
ROUND_DEADLINE = 600.0  # one round of load
DRAIN_TIMEOUT = float(_env_int("BENCH_HTTP_DRAIN_TIMEOUT", 900))  # the worker filling a round
POLL_INTERVAL = 0.1
STOP_TIMEOUT = 20.0

BASELINE_PATH = "/api/v1/bench/baseline/"
ORDERS_PATH = "/api/v1/trading/orders/"
BATCH_PATH = "/api/v1/trading/orders/batch/"
TENANT_SLUG, USERNAME = "bench-http", "bench.http.trader"
ACCOUNT, SYMBOL = "BENCH-1", "BNCH"
# (code, taker bps, maker bps): the routing compares fee-adjusted prices across all three.
VENUES = (("XBNA", "3", "-1"), ("XBNB", "2", "0"), ("XBNC", "1", "0"))
DEEP = Decimal("1000000000")
BID, ASK, LAST = Decimal("99.99"), Decimal("100.01"), Decimal("100.00")
# A marketable day limit buy: swept at the ask of the cheapest venue, filled at once.
ORDER = {
    "account": ACCOUNT,
    "instrument": SYMBOL,
    "side": "buy",
    "quantity": "100",
    "order_type": "limit",
    "limit_price": "100.05",
    "time_in_force": "day",
}


# --- the scratch database and Redis ---------------------------------------------------------


def _redis(db: int) -> Any:
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=db, socket_timeout=5)


def _free_redis_dbs(count: int) -> list[int]:
    """The highest-numbered Redis databases that hold no key (``BENCH_HTTP_REDIS_DBS`` to pick)."""
    chosen = os.environ.get("BENCH_HTTP_REDIS_DBS")
    if chosen:
        return [int(n) for n in chosen.split(",")][:count]
    client = _redis(0)
    try:
        total = int(client.config_get("databases").get("databases", 16))
    except Exception:
        total = 16
    used = {int(name[2:]) for name in client.info("keyspace")}
    free = [db for db in range(total - 1, 0, -1) if db not in used]
    if len(free) < count:
        raise SystemExit(f"need {count} empty Redis databases; set BENCH_HTTP_REDIS_DBS")
    return free[:count]


def _bench_env(broker_db: int, cache_db: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "oms_site.settings",
            "SECRET_KEY": "bench-http-only-not-secret",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{cache_db}",
            "LOG_LEVEL": "WARNING",
            "OMS_BENCH_ENDPOINTS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass(frozen=True)
class Fixtures:
    tenant: Any
    user: Any
    token: str


def _seed() -> Fixtures:
    from rest_framework.authtoken.models import Token

    from tenancy.models import Role
    from tenancy.services import membership_ensure, tenant_ensure, user_ensure
    from trading.models import AccountKind, AssetClass
    from trading.services.reference import (
        account_create,
        cash_balance_ensure,
        instrument_create,
        quote_ensure,
        venue_create,
    )

    tenant = tenant_ensure(slug=TENANT_SLUG, name="Bench HTTP")
    user = user_ensure(username=USERNAME, password="bench-http-password", is_staff=False)
    membership_ensure(tenant=tenant, user=user, role=Role.TRADER)
    token, _ = Token.objects.get_or_create(user=user)
    account = account_create(
        tenant=tenant,
        actor=user,
        code=ACCOUNT,
        name="Bench account",
        kind=AccountKind.PROPRIETARY,
        beneficial_owner="Bench",
        base_currency="USD",
    )
    cash_balance_ensure(
        tenant=tenant, actor=user, account=account, currency="USD", amount=DEEP * 1000
    )
    instrument = instrument_create(
        tenant=tenant,
        actor=user,
        symbol=SYMBOL,
        name="Bench Corp",
        asset_class=AssetClass.EQUITY,
        currency="USD",
    )
    for code, taker, maker in VENUES:
        venue = venue_create(
            tenant=tenant,
            actor=user,
            code=code,
            name=f"Bench venue {code}",
            kind="exchange",
            asset_classes=[AssetClass.EQUITY],
            taker_fee_bps=Decimal(taker),
            maker_fee_bps=Decimal(maker),
            timezone="UTC",
            session_open=dtime(0, 0),
            session_close=dtime(23, 59),
        )
        quote_ensure(
            tenant=tenant,
            actor=user,
            venue=venue,
            instrument=instrument,
            bid=BID,
            bid_size=DEEP,
            ask=ASK,
            ask_size=DEEP,
            last=LAST,
        )
    return Fixtures(tenant=tenant, user=user, token=token.key)


# --- processes --------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(name: str, cmd: list[str], env: dict[str, str]) -> Proc:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, spared our Ctrl-C
        )
    return Proc(name, popen, log)


def _signal_group(proc: Proc, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.popen.pid, sig)


def _stop(procs: list[Proc]) -> None:
    """SIGTERM each process group we started, wait, then SIGKILL what is left of it."""
    for proc in procs:
        if proc.popen.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for proc in procs:
        try:
            proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.popen.wait(timeout=STOP_TIMEOUT)
        _signal_group(proc, signal.SIGKILL)  # stragglers of the group (e.g. orphaned workers)


def _start_servers(env: dict[str, str], port: int) -> list[Proc]:
    web = _start(
        "gunicorn",
        [
            str(BIN / "gunicorn"),
            "oms_site.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WEB_WORKERS}",
            "--worker-class=gthread",
            f"--threads={WEB_THREADS}",
            "--keep-alive=30",
            f"--timeout={int(BATCH_TIMEOUT)}",
            "--graceful-timeout=5",
            "--log-level=warning",
        ],
        env,
    )
    worker = _start(
        "celery",
        [
            str(BIN / "celery"),
            "-A",
            "oms_site",
            "worker",
            "-Q",
            "routing,venues,default",
            "--pool=threads",
            "-c",
            str(WORKER_CONCURRENCY),
            "--loglevel=WARNING",
            "-n",
            f"bench-http-{os.getpid()}@%h",
        ],
        env,
    )
    return [web, worker]


def _wait_ready(port: int, procs: list[Proc]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"gunicorn did not answer /healthz in {READY_TIMEOUT:.0f} s")
        time.sleep(0.2)


# --- CPU accounting from /proc ----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _postgres_backend(pid: int, database: str) -> bool:
    """A PostgreSQL backend serving ``database`` (its title: "postgres: ... user db host ...")."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return False
    return title.startswith("postgres:") and f" {database} " in title


def _cpu_snapshot(procs: list[Proc], database: str) -> dict[str, float]:
    """CPU seconds so far of each started process tree, of the PostgreSQL backends serving the
    scratch database (other databases' work on a shared machine is left out), and of our
    children (the load generator)."""
    stats = {pid: stat for pid in _all_pids() if (stat := _proc_stat(pid)) is not None}
    snapshot: dict[str, float] = {}
    for proc in procs:
        tree = {proc.popen.pid}
        grew = True
        while grew:
            before = len(tree)
            tree |= {pid for pid, (ppid, _) in stats.items() if ppid in tree}
            grew = len(tree) != before
        snapshot[proc.name] = sum(stats[pid][1] for pid in tree if pid in stats)
    snapshot["postgres"] = sum(
        cpu for pid, (_, cpu) in stats.items() if _postgres_backend(pid, database)
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the load generator (waited for)
    snapshot["client"] = usage.ru_utime + usage.ru_stime
    return snapshot


def _cpu_ms_per(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {key: (after[key] - before[key]) * 1000 / max(n, 1) for key in after}


# --- load, drain, rounds ----------------------------------------------------------------------


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def _load(*, port: int, token: str, kind: str, prefix: str, count: int) -> dict[str, Any]:
    baseline = kind == "baseline"
    job = {
        "host": "127.0.0.1",
        "port": port,
        "path": BASELINE_PATH if baseline else ORDERS_PATH,
        "headers": _headers(token),
        "template": {} if baseline else ORDER,
        "id_field": "name" if baseline else "client_order_id",
        "prefix": prefix,
        "count": count,
        "connections": CONNECTIONS,
        "expect": 201,
        "timeout": REQUEST_TIMEOUT,
        "deadline": ROUND_DEADLINE,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.http_load"],
        input=json.dumps(job).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=ROUND_DEADLINE + REQUEST_TIMEOUT + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(done.stdout)
    if result["ok"] != count:
        print(f"  ! {kind} {prefix}: {result['ok']}/{count} answered 201 {result['statuses']}")
        print(f"    first error: {result['sample_error']}")
    if result["ok"] == 0:
        raise RuntimeError(f"no {kind} request succeeded: {result['sample_error']}")
    return result


@dataclass
class Drain:
    seconds: float  # from the last answer to the last order out of a live state
    finished_at: float
    statuses: dict[str, int]
    timed_out: bool


def _drain(*, tenant: Any, prefix: str, expected: int, procs: list[Proc]) -> Drain:
    """Poll until every order of the round is terminal (routed, acknowledged, filled)."""
    from django.db.models import Count

    from orders.models import TERMINAL_STATUSES, Order

    orders = Order.objects.for_tenant(tenant).filter(
        kind="trade", client_order_id__startswith=prefix
    )
    start = time.perf_counter()
    deadline = start + DRAIN_TIMEOUT
    statuses: dict[str, int] = {}
    while True:
        statuses = {
            row["status"]: row["n"]
            for row in orders.values("status").annotate(n=Count("id")).order_by()
        }
        live = sum(n for status, n in statuses.items() if status not in TERMINAL_STATUSES)
        now = time.perf_counter()
        if live == 0 and sum(statuses.values()) >= expected:
            return Drain(now - start, now, statuses, timed_out=False)
        if now > deadline or any(p.popen.poll() is not None for p in procs):
            return Drain(now - start, now, statuses, timed_out=True)
        time.sleep(POLL_INTERVAL)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 1)) - 1))
    return sorted_values[index]


@dataclass
class Round:
    kind: str
    ok: int
    rps: float
    p50: float
    p99: float
    cpu: dict[str, float]
    filled_per_s: float | None = None
    drain_s: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Setup:
    fx: Fixtures
    port: int
    procs: list[Proc]
    database: str

    def cpu(self) -> dict[str, float]:
        return _cpu_snapshot(self.procs, self.database)


def _round(run: Setup, kind: str, prefix: str, count: int) -> Round:
    fx = run.fx
    cpu0 = run.cpu()
    result = _load(port=run.port, token=fx.token, kind=kind, prefix=prefix, count=count)
    answered = time.perf_counter()
    latencies = sorted(result["latencies_ms"])
    rnd = Round(
        kind=kind,
        ok=result["ok"],
        rps=result["ok"] / result["elapsed"],
        p50=_percentile(latencies, 0.50),
        p99=_percentile(latencies, 0.99),
        cpu={},
    )
    if kind == "candidate":
        drain = _drain(tenant=fx.tenant, prefix=prefix, expected=result["ok"], procs=run.procs)
        filled = drain.statuses.get("completed", 0)
        rnd.filled_per_s = filled / (drain.finished_at - (answered - result["elapsed"]))
        rnd.drain_s = drain.seconds
        rnd.statuses = drain.statuses
        if drain.timed_out or filled != result["ok"]:
            print(f"  ! {prefix}: not all filled ({drain.statuses}, timed out: {drain.timed_out})")
    rnd.cpu = _cpu_ms_per(cpu0, run.cpu(), rnd.ok)
    return rnd


def _batch(run: Setup, index: int) -> Round:
    fx = run.fx
    prefix = f"batch{index}-"
    body = json.dumps(
        [{**ORDER, "client_order_id": f"{prefix}{i}"} for i in range(BATCH_SIZE)]
    ).encode()
    cpu0 = run.cpu()
    conn = http.client.HTTPConnection("127.0.0.1", run.port, timeout=BATCH_TIMEOUT)
    try:
        started = time.perf_counter()
        conn.request("POST", BATCH_PATH, body=body, headers=_headers(fx.token))
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"batch answered {response.status}: {payload[:300]!r}")
    results = json.loads(payload)["results"]
    accepted = sum(1 for r in results if r["status"] == 201)
    if accepted != BATCH_SIZE:
        refused = next((r for r in results if r["status"] != 201), None)
        print(f"  ! batch {index}: {accepted}/{BATCH_SIZE} accepted; e.g. {refused}")
    drain = _drain(tenant=fx.tenant, prefix=prefix, expected=accepted, procs=run.procs)
    filled = drain.statuses.get("completed", 0)
    return Round(
        kind="batch",
        ok=accepted,
        rps=accepted / elapsed,
        p50=elapsed * 1000,
        p99=elapsed * 1000,
        cpu=_cpu_ms_per(cpu0, run.cpu(), accepted),
        filled_per_s=filled / (drain.finished_at - started),
        drain_s=drain.seconds,
        statuses=drain.statuses,
    )


def _show(label: str, r: Round) -> None:
    cpu = "  ".join(f"{k} {v:.2f}" for k, v in r.cpu.items())
    line = f"  {label:<18}{r.ok:>6} ok {r.rps:>8.0f}/s  p50 {r.p50:>7.1f}  p99 {r.p99:>7.1f} ms"
    if r.filled_per_s is not None:
        line += f"  filled {r.filled_per_s:>5.0f}/s (drain {r.drain_s:.1f} s)"
    print(f"{line}  cpu ms/req: {cpu}", flush=True)


def _median(rounds: list[Round], get: Callable[[Round], float | None]) -> float:
    values = [v for r in rounds if (v := get(r)) is not None]
    return statistics.median(values) if values else float("nan")


def _median_cpu(rounds: list[Round]) -> str:
    if not rounds:
        return "-"
    keys = rounds[0].cpu.keys()
    return ", ".join(f"{k} {statistics.median(r.cpu[k] for r in rounds):.2f}" for k in keys)


def _run(run: Setup) -> None:
    print(f"warm-up: {WARMUP} of each (the worker must fill them)", flush=True)
    _show("warm-up baseline", _round(run, "baseline", "wb-", WARMUP))
    _show("warm-up candidate", _round(run, "candidate", "wc-", WARMUP))
    base: list[Round] = []
    cand: list[Round] = []
    for n in range(1, ROUNDS + 1):
        base.append(_round(run, "baseline", f"b{n}-", PER_ROUND))
        _show(f"{n} baseline", base[-1])
        cand.append(_round(run, "candidate", f"c{n}-", PER_ROUND))
        _show(f"{n} candidate", cand[-1])
    batches: list[Round] = []
    for n in range(1, BATCHES + 1):
        batches.append(_batch(run, n))
        _show(f"batch {n}", batches[-1])

    b_rps, c_rps = _median(base, lambda r: r.rps), _median(cand, lambda r: r.rps)
    print()
    print(f"{'scenario (medians)':<46}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
    rows = [
        ("baseline: plain DRF create (auth.Group)", base, b_rps, ""),
        ("candidate: POST /trading/orders/ (201)", cand, c_rps, f"{c_rps / b_rps:.2f}"),
    ]
    for name, rounds, rps, ratio in rows:
        p50, p99 = _median(rounds, lambda r: r.p50), _median(rounds, lambda r: r.p99)
        print(f"{name:<46}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}{ratio:>8}")
    print(
        f"{'candidate: filled end to end (orders)':<46}"
        f"{_median(cand, lambda r: r.filled_per_s):>9.0f}"
        f"    drain after the last answer {_median(cand, lambda r: r.drain_s):.1f} s"
    )
    print(
        f"{f'batch: {BATCH_SIZE}/request accepted (orders)':<46}"
        f"{_median(batches, lambda r: r.rps):>9.0f}"
        f"    request {_median(batches, lambda r: r.p50) / 1000:.2f} s"
    )
    print(
        f"{'batch: filled end to end (orders)':<46}"
        f"{_median(batches, lambda r: r.filled_per_s):>9.0f}"
        f"    drain after the answer {_median(batches, lambda r: r.drain_s):.1f} s"
    )
    c_p99 = _median(cand, lambda r: r.p99)
    batch_rate = _median(batches, lambda r: r.rps)
    record(
        scenario="order entry over HTTP",
        value=c_rps,
        unit="orders/s",
        baseline=b_rps,
        baseline_label="plain DRF create, same server",
        goal=">= 1.0x baseline",
        met=c_rps >= b_rps,
        detail={"p50_ms": _median(cand, lambda r: r.p50), "connections": CONNECTIONS},
    )
    record(
        scenario="order entry p99 latency",
        value=c_p99,
        unit="ms",
        baseline=_median(base, lambda r: r.p99),
        baseline_label="plain DRF create p99",
        goal="<= 20 ms at 8 connections",
        met=c_p99 <= 20,
        higher_is_better=False,
    )
    record(
        scenario="filled end to end",
        value=_median(cand, lambda r: r.filled_per_s),
        unit="orders/s",
    )
    record(
        scenario=f"batch entry ({BATCH_SIZE}/request)",
        value=batch_rate,
        unit="orders/s",
        goal=">= 5,000 orders/s",
        met=batch_rate >= 5000,
    )
    print("CPU ms per request (gunicorn: web workers, celery: worker, postgres: its backends):")
    print(f"  baseline   {_median_cpu(base)}")
    print(f"  candidate  {_median_cpu(cand)}")
    print(f"  batch      {_median_cpu(batches)}  (per order)")


# --- in-process profile -----------------------------------------------------------------------

# (label, path suffix of the source file, function name): cumulative time per request.
BREAKDOWN = (
    ("DRF dispatch, whole view", "rest_framework/views.py", "dispatch"),
    ("  token authentication", "rest_framework/authentication.py", "authenticate"),
    ("  tenant resolution (memberships)", "tenancy/api.py", "tenant_resolve_for_api"),
    ("  request body validation", "rest_framework/serializers.py", "is_valid"),
    ("  trade_order_submit", "trading/services/entry.py", "trade_order_submit"),
    ("    trade_order_validate", "trading/services/entry.py", "trade_order_validate"),
    ("    payload + canonical JSON", "orders/services.py", "canonical_payload"),
    ("    role check (user_has_role)", "tenancy/selectors.py", "user_has_role"),
    ("    reference_next (sequence)", "orders/services.py", "reference_next"),
    ("    Model.save (Order, TradeOrder)", "django/db/models/base.py", "save"),
    ("    TradeOrder insert", "trading/services/entry.py", "detail_create"),
    ("    submit + screening", "orders/services.py", "_submit_and_screen"),
    ("      screening_run", "orders/screening.py", "screening_run"),
    ("      _persist (status UPDATE + journal)", "orders/services.py", "_persist"),
    ("    transaction commit", "django/db/backends/base/base.py", "commit"),
    ("    Celery publish (route_order)", "celery/app/task.py", "apply_async"),
    ("  response: re-read + serialize", "trading/api/orders.py", "_body"),
    ("  finalize_response", "rest_framework/views.py", "finalize_response"),
    ("JSON render", "rest_framework/renderers.py", "render"),
    ("SQL: psycopg2 execute (all)", "~", "<method 'execute' of 'psycopg2.extensions.cursor"),
)


def _profile(fx: Fixtures, n: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory

    from bench.endpoints import BaselineCreateApi
    from trading.api.orders import TradeOrderViewSet

    factory = APIRequestFactory()
    auth = {"HTTP_AUTHORIZATION": f"Token {fx.token}"}
    create = TradeOrderViewSet.as_view({"post": "create"})
    baseline = BaselineCreateApi.as_view()
    seq = iter(range(10**9))

    def candidate_once() -> None:
        body = {**ORDER, "client_order_id": f"prof-{next(seq)}"}
        response = create(factory.post(ORDERS_PATH, body, format="json", **auth))
        response.render()
        assert response.status_code == 201, response.content

    def baseline_once() -> None:
        body = {"name": f"prof-{next(seq)}"}
        response = baseline(factory.post(BASELINE_PATH, body, format="json", **auth))
        response.render()
        assert response.status_code == 201, response.content

    def timed(fn: Callable[[], None], count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        return (time.perf_counter() - start) * 1000 / count

    print(f"\nin-process profile (APIRequestFactory, no middleware, no HTTP), n={n}")
    for fn in (candidate_once, baseline_once):
        timed(fn, 50)  # warm
    b_ms, c_ms = timed(baseline_once, n), timed(candidate_once, n)
    print(f"  ms/request: baseline {b_ms:.2f}, candidate {c_ms:.2f} ({c_ms / b_ms:.1f}x)")
    for label, fn in (("baseline", baseline_once), ("candidate", candidate_once)):
        with CaptureQueriesContext(connection) as captured:
            fn()
        print(f"  SQL statements of one {label} request: {len(captured.captured_queries)}")
        if label == "candidate":
            for q in captured.captured_queries:
                print(f"    {q['time']:>6}s  {' '.join(q['sql'].split())[:110]}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        candidate_once()
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    print(f"  candidate breakdown, cumulative ms/request under cProfile (n={n}):")
    for label, path, func in BREAKDOWN:
        cum, calls = 0.0, 0
        for (filename, _line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():
            hit = name.startswith(func) if path == "~" else name == func
            if hit and filename.replace("\\", "/").endswith(path):
                cum += tt if path == "~" else ct
                calls += nc
        print(f"    {label:<44}{cum * 1000 / n:>7.2f}   calls/req {calls / n:>5.1f}")
    print("  top 15 by own time:")
    stats.sort_stats("tottime")
    for key in stats.fcn_list[:15]:
        _cc, nc, tt, ct, _ = stats.stats[key]
        filename, line, name = key
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}" if line else ""
        print(f"    {tt * 1000 / n:>6.3f} ms  {nc / n:>6.1f}x  {name[:60]}  {where}")


def _profile_worker(fx: Fixtures) -> None:
    """The worker's share per order, in process: route + send + ack + fill + booking."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order, OrderStatus
    from trading.tasks import route_order

    pending = list(
        Order.objects.for_tenant(fx.tenant)
        .filter(client_order_id__startswith="prof-", status=OrderStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(pending) < 2:
        return
    first, rest = pending[0], pending[1:]
    with CaptureQueriesContext(connection) as captured:
        route_order.run(tenant_id=fx.tenant.pk, order_id=first)
    sql = [q["sql"] for q in captured.captured_queries]
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    data = [q for q in sql if not q.lstrip().upper().startswith(control)]
    locks = sum(" FOR UPDATE" in q for q in sql)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for pk in rest:
        route_order.run(tenant_id=fx.tenant.pk, order_id=pk)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(rest)
    wall_ms = (time.perf_counter() - wall0) * 1000 / len(rest)
    filled = Order.objects.for_tenant(fx.tenant).filter(
        pk__in=pending, status=OrderStatus.COMPLETED
    )
    print(f"\nworker in process (route_order: route, send, ack, fill, booking), n={len(rest)}")
    print(f"  CPU ms/order {cpu_ms:.2f}, wall ms/order {wall_ms:.2f}")
    print(
        f"  SQL of one order: {len(data)} statements (+{len(sql) - len(data)} transaction "
        f"control), {locks} row-lock statements; filled {filled.count()} of {len(pending)}"
    )


# --- main -------------------------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _on_signal(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _servers(env: dict[str, str], port: int) -> Iterator[list[Proc]]:
    procs: list[Proc] = []
    try:
        procs = _start_servers(env, port)
        _wait_ready(port, procs)
        yield procs
    finally:
        _stop(procs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_orders", description=__doc__)
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=500,
        default=0,
        metavar="N",
        help="afterwards, profile N candidate creates in process (default 500)",
    )
    args = parser.parse_args(argv)
    cfg = database_config(DATABASE_URL, postgres_only=True)
    broker_db, cache_db = _free_redis_dbs(2)
    env = _bench_env(broker_db, cache_db)
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        database_recreate(DATABASE_URL)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        fx = _seed()
        port = _free_port()
        print(
            f"database {cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}, "
            f"Redis db {broker_db} (broker) + {cache_db} (cache), server 127.0.0.1:{port}"
        )
        print(
            f"gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads (gthread, keep-alive), "
            f"Celery threads x{WORKER_CONCURRENCY}; rounds={ROUNDS} n={PER_ROUND} "
            f"connections={CONNECTIONS} batches={BATCHES}x{BATCH_SIZE}",
        )
        print(
            f"load average at the start: {_loadavg()} (other work on the machine skews both)",
            flush=True,
        )
        with _servers(env, port) as procs:
            _run(Setup(fx=fx, port=port, procs=procs, database=cfg["NAME"]))
        print(f"load average at the end: {_loadavg()}")
        if args.profile:
            _profile(fx, args.profile)
            _profile_worker(fx)
    finally:
        for db in (broker_db, cache_db):
            with contextlib.suppress(Exception):
                _redis(db).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
