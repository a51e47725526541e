"""Order-path benchmarks (issue 2), each against a baseline measured in the same run.

``python -m bench.orders_core`` (``make bench`` runs it among the others).

Runs on a scratch database: ``var/bench.sqlite3`` by default, or ``BENCH_DATABASE_URL`` (e.g. a
PostgreSQL database you can drop). Rounds alternate baseline and candidate so machine noise hits
both alike; figures are medians over the rounds.

Baselines:
- ``create``: a plain DRF ModelSerializer create of the same Order row (no sequence, no journal,
  no screening, no idempotency) — the cost floor DESIGN.md quotes.
- ``list``: a plain DRF ListAPIView over the same rows with the same cursor paginator but no tenant
  resolution or scoping.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.db import database_recreate
from bench.report import record

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DEBUG"] = "0"
_db_file = ROOT / "var" / "bench.sqlite3"
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{_db_file}"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

QUICK = os.environ.get("QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if QUICK else "5"))
PER_ROUND = int(os.environ.get("BENCH_N", "50" if QUICK else "200"))


def _fresh_database() -> None:
    """Start from an empty scratch database (the bench database is dropped and re-created)."""
    database_recreate(os.environ["DATABASE_URL"])


def main() -> int:
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.scenarios import build_scenarios

    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}  rounds={ROUNDS} n={PER_ROUND}")
    print(f"{'scenario':<34}{'baseline/s':>12}{'candidate/s':>13}{'ratio':>8}")
    for name, baseline, candidate in build_scenarios(PER_ROUND):
        base_rates, cand_rates = [], []
        for _ in range(ROUNDS):
            base_rates.append(_rate(baseline, PER_ROUND))
            cand_rates.append(_rate(candidate, PER_ROUND))
        b, c = statistics.median(base_rates), statistics.median(cand_rates)
        print(f"{name:<34}{b:>12.0f}{c:>13.0f}{c / b:>8.2f}")
        record(
            scenario=name,
            value=c,
            unit="ops/s",
            baseline=b,
            baseline_label="plain DRF ModelSerializer / ListAPIView",
        )
    return 0


def _rate(fn: Callable[[int], Any], n: int) -> float:
    start = time.perf_counter()
    timed = fn(n)
    elapsed = timed if isinstance(timed, float) else time.perf_counter() - start
    return n / elapsed


if __name__ == "__main__":
    sys.exit(main())
