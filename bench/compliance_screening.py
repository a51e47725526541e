"""Pre-trade screening speed: 25 active rules vs no rules, the same orders, in one run.

``python -m bench.compliance_screening`` (scratch database as the other benches:
``BENCH_DATABASE_URL``, SQLite file by default; ``QUICK=1`` for a small run).

What is measured, per order (``time.perf_counter_ns``):

- ``evaluate``: ``compliance.services.screening.trade_evaluate`` — the configuration version
  check (one Django-cache read), the in-memory book (reloaded every
  ``COMPLIANCE_BOOK_TTL`` = 0.5 s; a reload falls inside the timed loop when it is due, so it
  is in the figures), and every applicable rule with its throttle and duplicate-window cache
  counters. No database query in steady state. Candidate: a tenant with 25 active rules
  (every trade kind at least once); baseline: an identical tenant with no rule.
- ``screen``: ``trade_screen`` = evaluate + the one INSERT of the 25 ``ScreeningResult`` rows
  (the write that happens inside the submission's transaction), on stored orders, inside a
  transaction rolled back after the round. Reported separately: it is a database write, not
  in-process screening.

Rounds alternate baseline and candidate; the figures are over all rounds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from bench.orders_core import _fresh_database
from bench.report import quick, record

QUICK = quick()
ORDERS = 500 if QUICK else 2_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if QUICK else "5"))
INSTRUMENTS = 50
ACCOUNTS = 20
D = Decimal

RULES: list[tuple[str, dict[str, Any], str]] = [
    ("credit_account", {"limit": "1e12"}, "hard"),
    ("credit_tenant", {"limit": "1e13"}, "hard"),
    ("price_collar", {"percent": "10"}, "hard"),
    ("price_collar", {"percent": "8", "reference": "mid"}, "soft"),
    ("max_quantity", {"max": "1e9"}, "hard"),
    ("max_notional", {"max": "1e12"}, "hard"),
    ("adv_percent", {"percent": "50"}, "hard"),
    ("throttle", {"max_orders": 1_000_000_000, "per_seconds": 1}, "hard"),
    ("duplicate", {"window_seconds": 1}, "hard"),
    ("restricted_list", {}, "hard"),
    ("watch_list", {}, "warn"),
    ("short_locate", {}, "hard"),
    ("short_price_test", {}, "hard"),
    ("self_match", {}, "hard"),
    ("issuer_concentration", {"warn": "50", "soft": "80", "hard": "95"}, "hard"),
    (
        "diversification",
        {"single_max": "100", "large_threshold": "5", "large_total_max": "100"},
        "hard",
    ),
    ("sector_limit", {"percent": "100"}, "hard"),
    ("available_cash", {}, "hard"),
    ("max_quantity", {"max": "1e8"}, "soft"),
    ("max_notional", {"max": "1e11"}, "soft"),
    ("adv_percent", {"percent": "60"}, "soft"),
    ("credit_account", {"limit": "2e12"}, "soft"),
    ("price_collar", {"percent": "20"}, "warn"),
    ("sector_limit", {"percent": "100"}, "soft"),
    ("max_quantity", {"max": "1e10"}, "warn"),
]


def _tenant(slug: str, with_rules: bool) -> tuple[Any, list[Any], list[Any], Any]:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from compliance.models import InstrumentClose, RestrictedListEntry, Rule, WatchListEntry
    from tenancy.models import Membership, Tenant
    from trading.models import Account, CashBalance, Instrument, Position, Quote, Venue

    tenant = Tenant.objects.create(slug=slug, name=slug)
    user = get_user_model().objects.create(username=f"{slug}.trader")
    Membership.objects.create(tenant=tenant, user=user, role="trader")
    venue = Venue.objects.create(
        tenant=tenant, code="XBEN", name="Bench", kind="exchange", asset_classes=["equity"]
    )
    instruments = Instrument.objects.bulk_create(
        [
            Instrument(
                tenant=tenant,
                symbol=f"S{i:03d}",
                name=f"S{i}",
                asset_class="equity",
                currency="USD",
                issuer=f"Issuer {i % 30}",
                sector=f"Sector {i % 8}",
                average_daily_volume=D("1000000"),
            )
            for i in range(INSTRUMENTS)
        ]
    )
    Quote.objects.bulk_create(
        [
            Quote(
                tenant=tenant,
                venue=venue,
                instrument=i,
                bid=D("99.9"),
                ask=D("100.1"),
                last=D("100"),
            )
            for i in instruments
        ]
    )
    yesterday = timezone.now().date() - timedelta(days=1)
    InstrumentClose.objects.bulk_create(
        [
            InstrumentClose(tenant=tenant, instrument=i, trade_date=yesterday, close_price=D("101"))
            for i in instruments
        ]
    )
    accounts = Account.objects.bulk_create(
        [
            Account(
                tenant=tenant,
                code=f"A{a}",
                name=f"A{a}",
                kind="client",
                beneficial_owner=f"Owner {a}",
                base_currency="USD",
            )
            for a in range(ACCOUNTS)
        ]
    )
    CashBalance.objects.bulk_create(
        [CashBalance(tenant=tenant, account=a, currency="USD", amount=D("1e9")) for a in accounts]
    )
    Position.objects.bulk_create(
        [
            Position(
                tenant=tenant,
                account=a,
                instrument=instruments[(n * 7 + k) % INSTRUMENTS],
                quantity=D("1000"),
                avg_cost=D("95"),
            )
            for n, a in enumerate(accounts)
            for k in range(10)
        ]
    )
    if with_rules:
        Rule.objects.bulk_create(
            [
                Rule(tenant=tenant, name=f"{kind}-{n}", kind=kind, params=params, severity=severity)
                for n, (kind, params, severity) in enumerate(RULES)
            ]
        )
        RestrictedListEntry.objects.create(tenant=tenant, issuer="Nobody Ltd", reason="bench")
        WatchListEntry.objects.create(tenant=tenant, issuer="Watched Ltd", reason="bench")
    return tenant, instruments, accounts, user


def _orders(
    tenant: Any,
    instruments: list[Any],
    accounts: list[Any],
    user: Any,
    start: int,
    stored: bool = False,
) -> list[Any]:
    from orders.models import Order
    from trading.models import TradeOrder

    orders = []
    for n in range(ORDERS):
        order = Order(
            tenant=tenant,
            kind="trade",
            reference=f"B-{start + n}",
            client_order_id=f"b-{start + n}",
            created_by=user,
            status="draft",
        )
        if not stored:
            order.pk = 10**9 + start + n
        orders.append(order)
    if stored:
        Order.objects.bulk_create(orders)
    trades = []
    for n, order in enumerate(orders):
        trade = TradeOrder(
            tenant=tenant,
            order=order,
            account=accounts[n % ACCOUNTS],
            instrument=instruments[n % INSTRUMENTS],
            side="buy" if n % 2 else "sell",
            quantity=D(1 + (start + n) % 997),
            order_type="limit",
            limit_price=D("100.05") if n % 2 else D("99.95"),
            time_in_force="day",
            leaves_qty=D(1),
        )
        trades.append(trade)
        order.submit()
    if stored:
        TradeOrder.objects.bulk_create(trades)
    return orders


def _time(fn: Any, orders: list[Any]) -> list[float]:
    out = []
    for order in orders:
        t0 = time.perf_counter_ns()
        fn(order)
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.test.utils import override_settings

    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        # LocMemCache's default MAX_ENTRIES (300) culls a third of the keys, under its lock,
        # every ~100 counter writes; production runs Redis (REDIS_URL). A bigger local cache.
        big = {"default": {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 10**6}}}
        override_settings(CACHES=big).enable()
    print(f"cache backend: {settings.CACHES['default']['BACKEND']}")
    from compliance.services.screening import states_reset, trade_evaluate, trade_screen

    ruled = _tenant("bench-rules", True)
    bare = _tenant("bench-bare", False)
    series: dict[str, list[float]] = {
        "base_eval": [],
        "rules_eval": [],
        "base_screen": [],
        "rules_screen": [],
    }
    start = 0
    breaches = 0
    import gc

    def evaluate_round(suffix: str) -> list[Any]:
        """One round of evaluations, no rules then 25 rules, on new orders; the timed orders
        of the ruled tenant."""
        nonlocal start
        timed: list[Any] = []
        for label, world in (("base", bare), ("rules", ruled)):
            orders = _orders(*world, start=start)
            start += ORDERS
            for order in orders[:50]:  # warm the state (config, book) outside the timing
                trade_evaluate(order)
            series.setdefault(f"{label}_eval{suffix}", []).extend(
                _time(trade_evaluate, orders[50:])
            )
            timed = orders[50:]
        return timed

    gc.freeze()  # the setup's objects out of the collector's generations
    for round_no in range(ROUNDS):
        ruled_orders = evaluate_round("")
        if round_no == 0:
            breaches = sum(1 for o in ruled_orders if trade_evaluate(o).decision.findings)
        for label, world in (("base", bare), ("rules", ruled)):
            with transaction.atomic():
                orders = _orders(*world, start=start, stored=True)
                start += ORDERS
                series[f"{label}_screen"].extend(_time(trade_screen, orders[: ORDERS // 4]))
                transaction.set_rollback(True)
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    if _redis_up(redis_url):
        # The same evaluation with the configuration token and the running counters in Redis
        # (shared by every process: a deployment with several screening processes).
        shared = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "bench-screen",
            }
        }
        with override_settings(CACHES=shared, COMPLIANCE_COUNTERS="cache"):
            from django.core.cache import caches

            caches["default"].clear()
            states_reset()
            for _ in range(ROUNDS):
                evaluate_round("_redis")
    med = {k: statistics.median(v) for k, v in series.items()}
    p99 = {k: _p(v, 0.99) for k, v in series.items()}
    print(
        f"orders per round {ORDERS}, rounds {ROUNDS}, rules {len(RULES)}",
        f"(first round re-evaluated, findings incl. duplicates: {breaches})",
    )
    for key in series:
        p95 = _p(series[key], 0.95)
        print(f"  {key:13s} median {med[key]:8.1f} us   p95 {p95:8.1f} us   p99 {p99[key]:8.1f} us")
    ratio = p99["rules_eval"] / p99["base_eval"]
    print(
        f"  evaluate p99 with 25 rules / without: {ratio:.2f}x;",
        f"added p99 {p99['rules_eval'] - p99['base_eval']:.1f} us",
    )
    record(
        scenario="screening p99 per order, 25 rules",
        value=p99["rules_eval"],
        unit="us",
        baseline=p99["base_eval"],
        baseline_label="same orders, no rules",
        goal="p99 <= 100 us per order with 25 active rules (in process)",
        met=p99["rules_eval"] <= 100,
        higher_is_better=False,
        detail={"median": med, "p99": p99},
    )
    if "rules_eval_redis" in series:
        record(
            scenario="screening p99 per order, 25 rules, token + counters in Redis",
            value=p99["rules_eval_redis"],
            unit="us",
            baseline=p99["base_eval_redis"],
            baseline_label="same orders, no rules, token in Redis",
            higher_is_better=False,
            detail={"median": med, "p99": p99},
        )
    return 0


def _redis_up(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
