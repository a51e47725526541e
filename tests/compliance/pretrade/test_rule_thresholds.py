"""Each pre-trade kind at, just under and just over its threshold (at the limit passes)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from compliance.models import ScreeningResult
from orders.models import OrderEvent
from tests.compliance.factories import rule_make, trade_submit
from tests.conftest import member
from tests.trading.factories import (
    AccountFactory,
    CashBalanceFactory,
    InstrumentFactory,
    PositionFactory,
    QuoteFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant: Any) -> dict[str, Any]:
    trader = member(tenant, "trader", username="alpha.t")
    instrument = InstrumentFactory(
        tenant=tenant,
        symbol="ACME",
        issuer="Acme Corp",
        sector="Tech",
        average_daily_volume=D("10000"),
    )
    account = AccountFactory(tenant=tenant, code="A1", beneficial_owner="Owner One")
    QuoteFactory(tenant=tenant, instrument=instrument, bid=D("99"), ask=D("101"), last=D("100"))
    return {"tenant": tenant, "trader": trader, "instrument": instrument, "account": account}


def _submit(w: dict[str, Any], **kw: Any) -> Any:
    kw.setdefault("account", w["account"])
    kw.setdefault("instrument", w["instrument"])
    return trade_submit(tenant=w["tenant"], actor=w["trader"], **kw)


def _lines(order: Any) -> list[tuple[str, str, str]]:
    return list(
        ScreeningResult.objects.for_tenant(order.tenant)
        .filter(order=order)
        .order_by("id")
        .values_list("kind", "outcome", "severity")
    )


CASES = [
    # kind, params, order kwargs, expected status ("pending" = accepted, awaiting the venue)
    ("max_quantity", {"max": "100"}, {"quantity": "99"}, "pending"),
    ("max_quantity", {"max": "100"}, {"quantity": "100"}, "pending"),
    ("max_quantity", {"max": "100"}, {"quantity": "101"}, "rejected"),
    ("max_notional", {"max": "10000"}, {"quantity": "99", "limit_price": "100"}, "pending"),
    ("max_notional", {"max": "10000"}, {"quantity": "100", "limit_price": "100"}, "pending"),
    ("max_notional", {"max": "10000"}, {"quantity": "100", "limit_price": "100.01"}, "rejected"),
    ("max_notional", {"max": "10000"}, {"quantity": "101", "limit_price": None}, "rejected"),
    ("max_notional", {"max": "10000"}, {"quantity": "100", "limit_price": None}, "pending"),
    ("price_collar", {"percent": "5"}, {"limit_price": "104.99"}, "pending"),
    ("price_collar", {"percent": "5"}, {"limit_price": "105"}, "pending"),
    ("price_collar", {"percent": "5"}, {"limit_price": "105.01"}, "rejected"),
    ("price_collar", {"percent": "5"}, {"limit_price": "94.99"}, "rejected"),
    ("price_collar", {"percent": "1", "reference": "mid"}, {"limit_price": "101"}, "pending"),
    ("price_collar", {"percent": "1", "reference": "mid"}, {"limit_price": "101.01"}, "rejected"),
    ("adv_percent", {"percent": "10"}, {"quantity": "999"}, "pending"),
    ("adv_percent", {"percent": "10"}, {"quantity": "1000"}, "pending"),
    ("adv_percent", {"percent": "10"}, {"quantity": "1001"}, "rejected"),
    ("credit_account", {"limit": "10000"}, {"quantity": "99"}, "pending"),
    ("credit_account", {"limit": "10000"}, {"quantity": "100"}, "pending"),
    ("credit_account", {"limit": "10000"}, {"quantity": "101"}, "rejected"),
    ("credit_tenant", {"limit": "10000"}, {"quantity": "100"}, "pending"),
    ("credit_tenant", {"limit": "10000"}, {"quantity": "101"}, "rejected"),
]


@pytest.mark.parametrize(("kind", "params", "order", "expected"), CASES)
def test_threshold(
    world: dict[str, Any], kind: str, params: dict[str, Any], order: dict[str, Any], expected: str
) -> None:
    # given one rule of the kind
    rule_make(world["tenant"], kind, params=params)
    # when an order is entered
    placed = _submit(world, **order)
    # then its status and the stored line
    assert placed.status == expected
    outcome = "pass" if expected == "pending" else "breach"
    assert _lines(placed) == [(kind, outcome, "" if outcome == "pass" else "hard")]


def test_credit_counts_open_exposure_of_live_orders(world: dict[str, Any]) -> None:
    rule_make(world["tenant"], "credit_account", params={"limit": "10000"})
    first = _submit(world, quantity="60")
    at_limit = _submit(world, quantity="40")
    over = _submit(world, quantity="1")
    assert (first.status, at_limit.status, over.status) == ("pending", "pending", "rejected")
    values = ScreeningResult.objects.for_tenant(world["tenant"]).get(order=over).values
    assert values == {
        "open_exposure": "10000.00000000000000",
        "order_notional": "100.00000000",
        "total": "10100.00000000000000",
        "limit": "10000",
    } or (D(values["open_exposure"]) == D("10000") and D(values["total"]) == D("10100"))


def test_soft_holds_and_warn_accepts_with_alert(world: dict[str, Any]) -> None:
    from compliance.models import Alert

    rule_make(world["tenant"], "max_quantity", severity="soft", params={"max": "10"})
    held = _submit(world, quantity="11")
    assert held.status == "held"
    rule_make(world["tenant"], "max_notional", severity="warn", params={"max": "1"})
    warned = _submit(world, quantity="5")
    assert warned.status == "pending"
    assert list(Alert.objects.for_tenant(world["tenant"]).values_list("rule", "order_id")) == [
        ("max_notional", warned.pk),
    ] or ("max_notional", warned.pk) in list(
        Alert.objects.for_tenant(world["tenant"]).values_list("rule", "order_id")
    )


def test_no_reference_price_rejects(world: dict[str, Any], tenant: Any) -> None:
    bare = InstrumentFactory(tenant=tenant, symbol="BARE")
    rule_make(tenant, "price_collar", severity="warn", params={"percent": "5"})
    placed = _submit(world, instrument=bare)
    assert placed.status == "rejected"
    assert _lines(placed) == [("price_collar", "breach", "hard")]


def test_rejected_order_keeps_its_audit_record(world: dict[str, Any]) -> None:
    rule_make(world["tenant"], "max_quantity", params={"max": "1"})
    placed = _submit(world, quantity="2")
    kinds = list(
        OrderEvent.objects.for_tenant(world["tenant"])
        .filter(order=placed)
        .values_list("kind", flat=True)
    )
    assert kinds == ["created", "submitted", "screened", "rejected"]


COUNTER_STORES = pytest.mark.parametrize("counters_mode", ["memory", "cache"])


@COUNTER_STORES
def test_throttle_at_and_over(
    world: dict[str, Any], monkeypatch: Any, settings: Any, counters_mode: str
) -> None:
    from datetime import datetime

    from compliance.services import screening

    fixed = datetime(2025, 1, 6, 14, 0, 0, 500000, tzinfo=UTC)
    monkeypatch.setattr(screening, "_now", lambda: fixed)
    settings.COMPLIANCE_COUNTERS = counters_mode
    rule_make(world["tenant"], "throttle", params={"max_orders": 2, "per_seconds": 1})
    statuses = [_submit(world, quantity=str(q)).status for q in (1, 2, 3)]
    assert statuses == ["pending", "pending", "rejected"]


@COUNTER_STORES
def test_duplicate_within_window(
    world: dict[str, Any], monkeypatch: Any, settings: Any, counters_mode: str
) -> None:
    from datetime import datetime, timedelta

    from compliance.services import screening

    t0 = datetime(2025, 1, 6, 14, 0, 0, tzinfo=UTC)
    clock = {"now": t0}
    monkeypatch.setattr(screening, "_now", lambda: clock["now"])
    settings.COMPLIANCE_COUNTERS = counters_mode
    rule_make(world["tenant"], "duplicate", params={"window_seconds": 5})
    first = _submit(world)
    clock["now"] = t0 + timedelta(seconds=4, microseconds=999999)
    dup = _submit(world)
    clock["now"] = t0 + timedelta(seconds=9, microseconds=999999)
    at_window = _submit(world)
    other = _submit(world, quantity="101")
    assert [o.status for o in (first, dup, at_window, other)] == [
        "pending",
        "rejected",
        "pending",
        "pending",
    ]


def test_restricted_issuer_covers_other_instruments(world: dict[str, Any], tenant: Any) -> None:
    from compliance.services.rules import restricted_entry_add, watch_entry_add
    from tests.compliance.factories import reviewer

    officer = reviewer(tenant)
    sister = InstrumentFactory(tenant=tenant, symbol="ACME.B", issuer="Acme Corp")
    other = InstrumentFactory(tenant=tenant, symbol="OTHR", issuer="Other")
    QuoteFactory(tenant=tenant, instrument=other, bid=D("99"), ask=D("101"), last=D("100"))
    rule_make(tenant, "restricted_list", severity="warn")
    rule_make(tenant, "watch_list")
    restricted_entry_add(tenant=tenant, actor=officer, issuer="Acme Corp", reason="Deal team")
    watch_entry_add(tenant=tenant, actor=officer, instrument=other, reason="Rumours")
    assert _submit(world, instrument=sister).status == "rejected"
    watched = _submit(world, instrument=other)
    assert watched.status == "pending"
    assert _lines(watched) == [("restricted_list", "pass", ""), ("watch_list", "breach", "warn")]


def test_short_locate(world: dict[str, Any], tenant: Any) -> None:
    from django.utils import timezone

    from compliance.services.rules import locate_set
    from tests.compliance.factories import reviewer

    rule_make(tenant, "short_locate")
    locate_set(
        tenant=tenant,
        actor=reviewer(tenant),
        account=world["account"],
        instrument=world["instrument"],
        quantity=D("100"),
        day=timezone.now().date(),
    )
    assert _submit(world, side="sell_short", quantity="99").status == "pending"
    assert _submit(world, side="sell_short", quantity="100").status == "pending"
    assert _submit(world, side="sell_short", quantity="101").status == "rejected"


def test_short_sale_price_test(world: dict[str, Any], tenant: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from compliance.models import ShortSaleTrigger
    from compliance.services.rules import instrument_close_record

    today = timezone.now().date()
    instrument_close_record(
        tenant=tenant,
        actor=None,
        instrument=world["instrument"],
        trade_date=today - timedelta(days=1),
        close_price=D("111.12"),
    )
    rule_make(tenant, "short_price_test")
    # last 100 is above 111.12 * 0.9 = 100.008? no: 100 <= 100.008 -> triggered
    at_bid = _submit(world, side="sell_short", limit_price="99")
    above_bid = _submit(world, side="sell_short", limit_price="99.01")
    buy = _submit(world, side="buy", limit_price="99")
    assert (at_bid.status, above_bid.status, buy.status) == ("rejected", "pending", "pending")
    assert ShortSaleTrigger.objects.for_tenant(tenant).filter(triggered_on=today).count() == 1


def test_short_sale_price_test_not_triggered_just_above(world: dict[str, Any], tenant: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from compliance.services.rules import instrument_close_record

    today = timezone.now().date()
    instrument_close_record(
        tenant=tenant,
        actor=None,
        instrument=world["instrument"],
        trade_date=today - timedelta(days=1),
        close_price=D("111.11"),
    )
    rule_make(tenant, "short_price_test")
    # 111.11 * 0.9 = 99.999 < 100: no 10% fall yet
    assert _submit(world, side="sell_short", limit_price="99").status == "pending"


def test_self_match(world: dict[str, Any], tenant: Any) -> None:
    sibling = AccountFactory(tenant=tenant, code="A2", beneficial_owner="Owner One")
    stranger = AccountFactory(tenant=tenant, code="A3", beneficial_owner="Someone Else")
    rule_make(tenant, "self_match")
    resting = _submit(world, side="sell", limit_price="100")
    assert resting.status == "pending"
    assert _submit(world, account=sibling, side="buy", limit_price="99.99").status == "pending"
    assert _submit(world, account=sibling, side="buy", limit_price="100").status == "rejected"
    assert _submit(world, account=stranger, side="buy", limit_price="100").status == "pending"


def test_issuer_concentration_bands(world: dict[str, Any], tenant: Any) -> None:
    # account value 10,000 cash; issuer Acme: buy 5% / 10% / 20% / 20.01%
    CashBalanceFactory(tenant=tenant, account=world["account"], currency="USD", amount=D("10000"))
    rule_make(tenant, "issuer_concentration", params={"warn": "5", "soft": "10", "hard": "20"})
    statuses = [_submit(world, quantity=q).status for q in ("5", "6", "11", "20")]
    assert statuses == ["pending", "pending", "held", "held"]
    assert _submit(world, quantity="21").status == "rejected"


def test_available_cash(world: dict[str, Any], tenant: Any) -> None:
    CashBalanceFactory(tenant=tenant, account=world["account"], currency="USD", amount=D("1000"))
    rule_make(tenant, "available_cash")
    assert _submit(world, quantity="10").status == "pending"
    assert _submit(world, quantity="10", limit_price="100.01").status == "rejected"
    assert _submit(world, side="sell", quantity="50").status == "pending"


def test_sector_and_diversification(world: dict[str, Any], tenant: Any) -> None:
    other = InstrumentFactory(tenant=tenant, symbol="BETA", issuer="Beta Inc", sector="Tech")
    QuoteFactory(tenant=tenant, instrument=other, bid=D("99"), ask=D("101"), last=D("100"))
    CashBalanceFactory(tenant=tenant, account=world["account"], currency="USD", amount=D("9000"))
    PositionFactory(
        tenant=tenant,
        account=world["account"],
        instrument=other,
        quantity=D("10"),
        avg_cost=D("100"),
    )
    rule_make(tenant, "sector_limit", params={"percent": "30"})
    # value 10,000; Tech holds 1,000: buying 2,000 -> 30% passes, 2,000.01 fails
    assert _submit(world, quantity="20").status == "pending"
    assert _submit(world, quantity="20", limit_price="100.01").status == "rejected"


def test_diversification_single_issuer(world: dict[str, Any], tenant: Any) -> None:
    CashBalanceFactory(tenant=tenant, account=world["account"], currency="USD", amount=D("10000"))
    rule_make(tenant, "diversification")
    assert _submit(world, quantity="10").status == "pending"
    assert _submit(world, quantity="10", limit_price="100.01").status == "rejected"


def test_rule_scope_account_only(world: dict[str, Any], tenant: Any) -> None:
    other = AccountFactory(tenant=tenant, code="B1")
    rule_make(
        tenant, "max_quantity", params={"max": "1"}, scope="account", account=world["account"]
    )
    assert _submit(world, quantity="2").status == "rejected"
    assert _submit(world, account=other, quantity="2").status == "pending"
