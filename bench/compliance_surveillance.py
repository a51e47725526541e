"""Surveillance benchmark: every detector over 1,000,000 executions on PostgreSQL.

``python -m bench.compliance_surveillance`` on a scratch database (``BENCH_DATABASE_URL``,
e.g. postgres://postgres@127.0.0.1:5432/bench_surv, dropped and re-created). ``QUICK=1``
loads 100,000 executions.

Data (loaded with COPY): one tenant, 500 instruments, 3 venues in New York time, 5,000
accounts (clients, 150 employees, 50 proprietary books), 60 trading days; each filled order
has two executions a few seconds after it was placed, and one order in ten is cancelled
unfilled. The figures are medians over the rounds, which alternate:

- candidate: a full scan (all eight detectors from empty cursors) through
  ``compliance.services.surveillance.surveillance_scan``; alerts raised by chance in the random
  data are raised in the first round and found already raised (dedupe) in the next ones.
- baseline: one plain aggregate over the same executions, ``count(*), sum(last_qty *
  last_px) GROUP BY account`` (executions joined to their orders for the account): the cost
  of reading the table once.

Also printed: an incremental scan with nothing new (the on-fill case when nothing arrived).
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from bench.orders_core import _fresh_database
from bench.report import quick, record

QUICK = quick()
EXECUTIONS = 100_000 if QUICK else 1_000_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if QUICK else "3"))
INSTRUMENTS = 500
ACCOUNTS = 5_000
EMPLOYEES = 150
PROPRIETARY = 50
DAYS = 60
GOAL_SECONDS = 10.0
NY = ZoneInfo("America/New_York")


def _trading_days() -> list[date]:
    days: list[date] = []
    day = date(2025, 1, 6)
    while len(days) < DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _copy(table: str, columns: list[str], rows: io.StringIO) -> None:
    from django.db import connection

    rows.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", rows
        )


def _load() -> Any:
    from django.db import connection

    from tenancy.models import Tenant
    from trading.models import Account, Instrument, Venue

    rng = random.Random(11)
    tenant = Tenant.objects.create(slug="bench-surv", name="Bench surveillance")
    venues = Venue.objects.bulk_create(
        [
            Venue(tenant=tenant, code=code, name=code, kind="exchange", timezone="America/New_York")
            for code in ("XNYS", "ARCX", "BATS")
        ]
    )
    instruments = Instrument.objects.bulk_create(
        [
            Instrument(
                tenant=tenant,
                symbol=f"S{i:04d}",
                name=f"Stock {i}",
                asset_class="equity",
                currency="USD",
                issuer=f"Issuer {i // 2}",
                average_daily_volume=1_000_000,
            )
            for i in range(INSTRUMENTS)
        ]
    )
    kinds = ["employee"] * EMPLOYEES + ["proprietary"] * PROPRIETARY
    kinds += ["client"] * (ACCOUNTS - len(kinds))
    accounts = Account.objects.bulk_create(
        [
            Account(
                tenant=tenant,
                code=f"A{i:05d}",
                name=f"Account {i}",
                kind=kind,
                beneficial_owner=f"Owner {i}",
                base_currency="USD",
            )
            for i, kind in enumerate(kinds)
        ]
    )
    base_px = [rng.uniform(10, 500) for _ in instruments]
    opens = {
        d: datetime.combine(d, dtime(9, 30), tzinfo=NY).astimezone(UTC) for d in _trading_days()
    }
    days = list(opens)
    orders, trades, execs = io.StringIO(), io.StringIO(), io.StringIO()
    filled = EXECUTIONS // 2
    total = filled + filled // 9
    exec_id = 0
    employees = {a.pk for a in accounts if a.kind == "employee"}
    clearances = []  # employees trade with pre-clearance: the data set is clean of that
    for pk in range(1, total + 1):
        inst = rng.randrange(INSTRUMENTS)
        account = accounts[rng.randrange(ACCOUNTS)].pk
        placed = opens[rng.choice(days)] + timedelta(seconds=rng.uniform(0, 23_000))
        side = "buy" if rng.random() < 0.5 else "sell"
        qty = rng.randrange(2, 20) * 100
        px = round(base_px[inst] * rng.uniform(0.99, 1.01), 2)
        cancelled = pk > filled
        updated = placed + timedelta(seconds=rng.uniform(5, 60))
        status = "canceled" if cancelled else "completed"
        orders.write(
            f"{pk}\t{tenant.pk}\t{placed.isoformat()}\t{updated.isoformat()}\ttrade\tT-{pk:09d}\t"
            f"b-{pk}\t{status}\t\t\t\\N\t{{}}\t\\N\n"
        )
        cum = 0 if cancelled else qty
        trades.write(
            f"{tenant.pk}\t{placed.isoformat()}\t{updated.isoformat()}\t{pk}\t{account}\t"
            f"{instruments[inst].pk}\t{side}\t{qty}\tlimit\t{px}\t\\N\t\\N\t\\N\tday\t\\N\tauto\t"
            f"{cum}\t0\t{px if cum else 0}\t\t\\N\t\\N\t\\N\tf\t\\N\t{0 if cancelled else 3}\n"
        )
        if cancelled:
            continue
        if account in employees:
            clearances.append((account, instruments[inst].pk, side, qty, placed))
        venue = venues[rng.randrange(3)].pk
        first = qty // 200 * 100  # two fills: about half, then the rest
        for part, delay in ((first, rng.uniform(0.5, 10)), (qty - first, rng.uniform(10, 30))):
            exec_id += 1
            at = (placed + timedelta(seconds=delay)).isoformat()
            execs.write(
                f"{exec_id}\t{tenant.pk}\t{at}\tX{exec_id}\t{pk}\t\\N\t{venue}\t{part}\t{px}\t0\t"
                f"removed\t{at}\n"
            )
    from django.contrib.auth import get_user_model

    from compliance.models import PreClearance
    from orders.models import Order
    from trading.models import Execution, TradeOrder

    officer = get_user_model().objects.create(username="bench.compliance")
    PreClearance.objects.bulk_create(
        [
            PreClearance(
                tenant=tenant,
                account_id=account,
                instrument_id=instrument,
                side=side,
                quantity=qty,
                valid_from=placed - timedelta(hours=1),
                valid_to=placed + timedelta(hours=1),
                approved_by=officer,
            )
            for account, instrument, side, qty, placed in clearances
        ],
        batch_size=5000,
    )
    started = time.perf_counter()
    # The orders' lines above name their columns (the trade and execution lines follow their
    # models' field order).
    order_columns = [
        *("id", "tenant_id", "created_at", "updated_at", "kind", "reference", "client_order_id"),
        *("status", "status_reason", "note", "expires_at", "submission", "created_by_id"),
    ]
    for model, buffer, columns in (
        (Order, orders, order_columns),
        (TradeOrder, trades, [f.column for f in TradeOrder._meta.concrete_fields]),
        (Execution, execs, [f.column for f in Execution._meta.concrete_fields]),
    ):
        _copy(model._meta.db_table, columns, buffer)
    with connection.cursor() as cursor:
        for model in (Order, Execution):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    connection.cursor().execute("ANALYZE")
    print(
        f"loaded {total:,} orders, {exec_id:,} executions in {time.perf_counter() - started:.1f} s"
    )
    return tenant


def _full_scan(tenant: Any) -> tuple[float, int]:
    from compliance.models import ScanCursor
    from compliance.services.surveillance import surveillance_scan

    ScanCursor.objects.for_tenant(tenant).delete()
    started = time.perf_counter()
    result = surveillance_scan(tenant=tenant, settle_seconds=0)
    seconds = time.perf_counter() - started
    print("  per detector (ms):", {name: run.milliseconds for name, run in result.runs.items()})
    return seconds, len(result.raised)


def _baseline(tenant: Any) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.account_id, count(*), sum(e.last_qty * e.last_px) "
            "FROM trading_execution e JOIN trading_tradeorder t ON t.order_id = e.order_id "
            "WHERE e.tenant_id = %s GROUP BY t.account_id",
            [tenant.pk],
        )
        cursor.fetchall()
    return time.perf_counter() - started


def main() -> int:
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    tenant = _load()
    from compliance.models import Alert
    from compliance.services.surveillance import surveillance_scan

    scans, bases, raised = [], [], []
    for _ in range(ROUNDS):
        bases.append(_baseline(tenant))
        seconds, count = _full_scan(tenant)
        scans.append(seconds)
        raised.append(count)
    started = time.perf_counter()
    empty = surveillance_scan(tenant=tenant, settle_seconds=0)
    empty_ms = (time.perf_counter() - started) * 1000
    assert empty.raised == []
    scan, base = statistics.median(scans), statistics.median(bases)
    by_rule: dict[str, int] = {}
    for rule in Alert.objects.for_tenant(tenant).values_list("rule", flat=True):
        by_rule[rule] = by_rule.get(rule, 0) + 1
    print(f"executions: {EXECUTIONS:,}  rounds: {ROUNDS}")
    print(f"full scan (8 detectors): median {scan:.2f} s  rounds {[round(s, 2) for s in scans]}")
    print(f"baseline (one aggregate): median {base:.2f} s  -> scan/baseline {scan / base:.1f}x")
    print(f"incremental scan, nothing new: {empty_ms:.1f} ms")
    print(f"alerts raised per round {raised}; by rule {by_rule}")
    record(
        scenario=f"surveillance full scan, {EXECUTIONS:,} executions",
        value=scan,
        unit="s",
        baseline=base,
        baseline_label="count/sum GROUP BY account over the same executions",
        goal=f"<= {GOAL_SECONDS:.0f} s for 1,000,000 executions",
        met=scan <= GOAL_SECONDS if not QUICK else None,
        higher_is_better=False,
        detail={"rounds": scans, "baseline_rounds": bases, "empty_scan_ms": empty_ms},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
