"""``make bench`` (``python -m bench``): every benchmark of the project, one table.

Runs each benchmark module in its own process, in turn (they would skew each other if run
together on a 2-core machine), each on its own scratch PostgreSQL database and Redis
databases; PostgreSQL and Redis on 127.0.0.1 are started if they are down (as ``.ci/run``
does). Each module records its figures through ``bench.report.record``: a median over its
rounds, its baseline measured in the same run, the ratio and the issue's goal. The table is
printed at the end and written to ``bench/results.json``.

``make bench QUICK=1`` (``QUICK=1 python -m bench``) is a smoke run with small sizes (under
two minutes on these machines); ``python -m bench NAME ...`` runs only the named suites.
What each suite measures, and why that baseline: ``bench/README.md``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import RESULTS_ENV, quick

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results.json"
PG = "postgres://postgres@127.0.0.1:5432"


@dataclass(frozen=True)
class Suite:
    name: str
    module: str
    env: dict[str, str]
    timeout: float  # seconds (full run)


SUITES = (
    Suite("orders", "bench.orders_core", {"BENCH_DATABASE_URL": f"{PG}/bench_core"}, 900),
    Suite(
        "trading-http", "bench.http_orders", {"BENCH_HTTP_DATABASE_URL": f"{PG}/bench_http"}, 3600
    ),
    Suite(
        "commerce-import",
        "bench.commerce_import",
        {"BENCH_DATABASE_URL": f"{PG}/bench_import"},
        1800,
    ),
    Suite(
        "commerce-allocation",
        "bench.commerce_allocation",
        {"BENCH_DATABASE_URL": f"{PG}/bench_alloc"},
        1800,
    ),
    Suite(
        "compliance-screening",
        "bench.compliance_screening",
        {"BENCH_DATABASE_URL": f"{PG}/bench_screen"},
        900,
    ),
    Suite(
        "compliance-surveillance",
        "bench.compliance_surveillance",
        {"BENCH_DATABASE_URL": f"{PG}/bench_surv"},
        1800,
    ),
)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ensure_services() -> None:
    """PostgreSQL and Redis on 127.0.0.1, started the way DESIGN.md / .ci/run start them."""
    starts = {
        5432: ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],
        6379: [
            "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
            "--save", "", "--appendonly", "no",
        ],
    }  # fmt: skip
    for port, command in starts.items():
        if _listening(port):
            continue
        print(f"starting {command[0]} (port {port} is down)", flush=True)
        subprocess.run(command, check=False)
        deadline = time.monotonic() + 30
        while not _listening(port):
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not come up on 127.0.0.1:{port}")
            time.sleep(0.5)


def _run(suite: Suite) -> tuple[list[dict[str, Any]], str]:
    OUT.mkdir(parents=True, exist_ok=True)
    results = OUT / f"{suite.name}.jsonl"
    log = OUT / f"{suite.name}.log"
    results.unlink(missing_ok=True)
    env = {**os.environ, **suite.env, RESULTS_ENV: str(results)}
    timeout = suite.timeout / 6 if quick() else suite.timeout
    started = time.monotonic()
    print(f"== {suite.name} ({suite.module})", flush=True)
    with log.open("w") as out:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", suite.module],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timeout after {timeout:.0f} s"
    elapsed = time.monotonic() - started
    print(f"   {status} in {elapsed:.0f} s (output: {log.relative_to(ROOT)})", flush=True)
    rows = []
    if results.exists():
        rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return rows, status


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def _table(rows: list[dict[str, Any]]) -> None:
    head = f"{'suite / scenario':<58}{'median':>16}{'baseline':>16}{'ratio':>8}  goal"
    print()
    print(head)
    print("-" * len(head))
    for row in rows:
        met = {True: "met", False: "NOT met", None: ""}[row["met"]]
        goal = f"{row['goal']} {met}".strip()
        print(
            f"{row['suite'] + ': ' + row['scenario']:<58}"
            f"{_fmt(row['value'], row['unit']):>16}"
            f"{_fmt(row['baseline'], row['unit']):>16}"
            f"{_fmt(row['ratio']):>8}  {goal}"
        )


def main(argv: list[str]) -> int:
    wanted = set(argv)
    unknown = wanted - {s.name for s in SUITES}
    if unknown:
        print(f"unknown suite(s): {', '.join(sorted(unknown))}; known: "
              f"{', '.join(s.name for s in SUITES)}")  # fmt: skip
        return 2
    _ensure_services()
    load = os.getloadavg()
    print(f"QUICK={int(quick())}  load average at the start: {load[0]:.2f} {load[1]:.2f}")
    rows: list[dict[str, Any]] = []
    statuses: dict[str, str] = {}
    for suite in SUITES:
        if wanted and suite.name not in wanted:
            continue
        suite_rows, statuses[suite.name] = _run(suite)
        rows.extend({"suite": suite.name, **row} for row in suite_rows)
    _table(rows)
    failed = {name: status for name, status in statuses.items() if status != "ok"}
    RESULTS.write_text(
        json.dumps(
            {
                "quick": quick(),
                "load_average_start": load,
                "load_average_end": os.getloadavg(),
                "suites": statuses,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nresults: {RESULTS.relative_to(ROOT)}")
    if failed:
        print("suites that did not finish: " + ", ".join(f"{k} ({v})" for k, v in failed.items()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
