"""Trade order entry (trading.services.entry): every validation rule answers ValidationFailed
with the exact field errors and stores nothing; the client order id makes entry idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from oms_site.errors import IdempotencyConflict, ValidationFailed
from orders.models import Order
from tests.factories import TenantFactory
from tests.orders.helpers import counts, event_kinds
from tests.trading.factories import AccountFactory, InstrumentFactory, VenueFactory
from tests.trading.helpers import D, after_commit, child_rows, trade_of
from trading.models import Account, Instrument, TradeOrder, Venue, VenueOrder
from trading.services.entry import TradeOrderInput, trade_order_submit

pytestmark = pytest.mark.django_db

LOT = "Must be a multiple of the lot size 10.000000."
TICK = "Must be on the tick size 0.05000000."
POSITIVE = "Must be greater than zero."
ONE_TRAIL = "Give exactly one of trail_amount and trail_percent."
NO_REST = "A market order cannot rest: use day, ioc, fok, opg or atc."


@pytest.fixture
def ref(tenant) -> dict[str, Any]:
    """Reference data read back from the database (as the API resolves it by code)."""
    InstrumentFactory(tenant=tenant, symbol="ACME", lot_size=D("10"), tick_size=D("0.05"))
    AccountFactory(tenant=tenant, code="ACC-1")
    VenueFactory(tenant=tenant, code="XA", asset_classes=["equity"])
    VenueFactory(tenant=tenant, code="XB", asset_classes=["bond"])
    return {
        "instrument": Instrument.objects.for_tenant(tenant).get(symbol="ACME"),
        "account": Account.objects.for_tenant(tenant).get(code="ACC-1"),
        "XA": Venue.objects.for_tenant(tenant).get(code="XA"),
        "XB": Venue.objects.for_tenant(tenant).get(code="XB"),
    }


def _input(ref: dict[str, Any], **overrides: Any) -> TradeOrderInput:
    values: dict[str, Any] = {
        "client_order_id": "c-1",
        "account": ref["account"],
        "instrument": ref["instrument"],
        "side": "buy",
        "quantity": D("100"),
        "order_type": "limit",
        "time_in_force": "day",
        "limit_price": D("10.00"),
    }
    values.update(overrides)
    return TradeOrderInput(**values)


def _stored(tenant) -> tuple[Any, ...]:
    return (
        counts(tenant),
        TradeOrder.objects.for_tenant(tenant).count(),
        VenueOrder.objects.for_tenant(tenant).count(),
    )


def _in(hours: float) -> Any:
    return timezone.now() + timedelta(hours=hours)


# Each case: the changes to a valid limit order -> the exact field errors.
CASES: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {
    "quantity-zero": ({"quantity": D("0")}, {"quantity": [POSITIVE]}),
    "quantity-negative": ({"quantity": D("-10")}, {"quantity": [POSITIVE]}),
    "quantity-off-lot": ({"quantity": D("15")}, {"quantity": [LOT]}),
    "quantity-fraction-of-lot": ({"quantity": D("100.5")}, {"quantity": [LOT]}),
    "limit-off-tick": ({"limit_price": D("10.03")}, {"limit_price": [TICK]}),
    "limit-zero": ({"limit_price": D("0")}, {"limit_price": [POSITIVE]}),
    "limit-negative": ({"limit_price": D("-10")}, {"limit_price": [POSITIVE]}),
    "limit-missing": ({"limit_price": None}, {"limit_price": ["Required for limit orders."]}),
    "market-with-limit": (
        {"order_type": "market"},
        {"limit_price": ["Not allowed for market orders."]},
    ),
    "stop-missing": (
        {"order_type": "stop", "limit_price": None},
        {"stop_price": ["Required for stop orders."]},
    ),
    "stop-limit-missing-both": (
        {"order_type": "stop_limit", "limit_price": None},
        {
            "limit_price": ["Required for stop_limit orders."],
            "stop_price": ["Required for stop_limit orders."],
        },
    ),
    "stop-on-a-limit-order": (
        {"stop_price": D("9.50")},
        {"stop_price": ["Not allowed for limit orders."]},
    ),
    "stop-off-tick": (
        {"order_type": "stop", "limit_price": None, "stop_price": D("9.99")},
        {"stop_price": [TICK]},
    ),
    "stop-negative": (
        {"order_type": "stop", "limit_price": None, "stop_price": D("-1")},
        {"stop_price": [POSITIVE]},
    ),
    "trailing-without-trail": (
        {"order_type": "trailing_stop", "limit_price": None},
        {"trail_amount": [ONE_TRAIL]},
    ),
    "trailing-with-both-trails": (
        {
            "order_type": "trailing_stop",
            "limit_price": None,
            "trail_amount": D("0.5"),
            "trail_percent": D("2"),
        },
        {"trail_amount": [ONE_TRAIL]},
    ),
    "trail-on-a-limit-order": (
        {"trail_amount": D("0.5")},
        {"trail_amount": ["Only trailing stops take a trail."]},
    ),
    "trail-amount-zero": (
        {"order_type": "trailing_stop", "limit_price": None, "trail_amount": D("0")},
        {"trail_amount": [POSITIVE]},
    ),
    "trail-percent-zero": (
        {"order_type": "trailing_stop", "limit_price": None, "trail_percent": D("0")},
        {"trail_percent": ["Must be between 0 and 100."]},
    ),
    "trail-percent-100": (
        {"order_type": "trailing_stop", "limit_price": None, "trail_percent": D("100")},
        {"trail_percent": ["Must be between 0 and 100."]},
    ),
    "gtd-without-expiry": (
        {"time_in_force": "gtd"},
        {"expire_at": ["Required for good-till-date orders."]},
    ),
    "gtd-expiry-in-the-past": (
        {"time_in_force": "gtd", "expire_at": _in(-1)},
        {"expire_at": ["Must be in the future."]},
    ),
    "expiry-on-a-day-order": (
        {"expire_at": _in(1)},
        {"expire_at": ["Only good-till-date orders take an expiry."]},
    ),
    "market-gtc": (
        {"order_type": "market", "limit_price": None, "time_in_force": "gtc"},
        {"time_in_force": [NO_REST]},
    ),
    "market-gtd": (
        {
            "order_type": "market",
            "limit_price": None,
            "time_in_force": "gtd",
            "expire_at": _in(24),
        },
        {"time_in_force": [NO_REST]},
    ),
    "unknown-side": ({"side": "short"}, {"side": ["Unknown side."]}),
    "unknown-order-type": (
        {"order_type": "iceberg", "limit_price": None},
        {"order_type": ["Unknown order type."]},
    ),
    "unknown-time-in-force": (
        {"time_in_force": "gfa"},
        {"time_in_force": ["Unknown time in force."]},
    ),
    "unknown-handling": ({"handling": "algo"}, {"handling": ["Unknown handling."]}),
    "several-at-once": (
        {"quantity": D("15"), "limit_price": D("10.03"), "side": "hold"},
        {"side": ["Unknown side."], "quantity": [LOT], "limit_price": [TICK]},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_order_is_refused_with_field_errors_and_nothing_stored(tenant, trader, ref, case):
    # given a valid order with one rule broken
    changes, errors = CASES[case]
    before = _stored(tenant)
    # when it is entered
    with pytest.raises(ValidationFailed) as refused, after_commit():
        trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, **changes))
    # then every broken rule is named on its field, and nothing was stored or numbered
    assert refused.value.errors == errors
    assert _stored(tenant) == before


def _deactivate(model: Any, tenant: Any, **lookup: Any) -> None:
    model.objects.for_tenant(tenant).filter(**lookup).update(active=False)


@pytest.mark.parametrize(
    ("setup", "changes", "errors"),
    [
        (
            lambda t: _deactivate(Instrument, t, symbol="ACME"),
            {},
            {"instrument": ["Instrument is not active."]},
        ),
        (
            lambda t: _deactivate(Account, t, code="ACC-1"),
            {},
            {"account": ["Account is not active."]},
        ),
        (
            lambda t: _deactivate(Venue, t, code="XA"),
            {"venue": "XA"},
            {"venue": ["Venue is not active."]},
        ),
        (lambda t: None, {"venue": "XB"}, {"venue": ["Venue XB does not trade equity."]}),
    ],
    ids=["inactive-instrument", "inactive-account", "inactive-venue", "venue-asset-class"],
)
def test_inactive_or_unsuitable_reference_data_is_refused(
    tenant, trader, ref, setup, changes, errors
):
    setup(tenant)
    fresh = {
        "instrument": Instrument.objects.for_tenant(tenant).get(symbol="ACME"),
        "account": Account.objects.for_tenant(tenant).get(code="ACC-1"),
    }
    if "venue" in changes:
        fresh["venue"] = Venue.objects.for_tenant(tenant).get(code=changes["venue"])
    before = _stored(tenant)
    with pytest.raises(ValidationFailed) as refused:
        trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, **fresh))
    assert refused.value.errors == errors
    assert _stored(tenant) == before


def test_another_tenants_reference_data_is_refused_like_an_unknown_one(tenant, trader, ref):
    other = TenantFactory(slug="beta")
    foreign = {
        "account": AccountFactory(tenant=other, code="ACC-1"),
        "instrument": InstrumentFactory(tenant=other, symbol="ACME"),
        "venue": VenueFactory(tenant=other, code="XA"),
    }
    before = (_stored(tenant), _stored(other))
    with pytest.raises(ValidationFailed) as refused:
        trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, **foreign))
    assert refused.value.errors == {
        "account": ["Not found."],
        "instrument": ["Not found."],
        "venue": ["Not found."],
    }
    assert (_stored(tenant), _stored(other)) == before


# --- idempotency by client order id -------------------------------------------------------


def test_replay_of_the_same_order_returns_it_and_routes_nothing_again(tenant, trader, ref):
    # given an entered and routed order
    with after_commit():
        first = trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, venue=ref["XA"]))
    stored = _stored(tenant)
    routed = child_rows(trade_of(first.order))
    # when the client sends it again
    with after_commit():
        again = trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, venue=ref["XA"]))
    # then it gets the same order back, and nothing new was stored, numbered or routed
    assert (first.created, again.created, again.order.pk) == (True, False, first.order.pk)
    assert _stored(tenant) == stored
    assert child_rows(trade_of(first.order)) == routed
    assert event_kinds(first.order).count("created") == 1


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"quantity": D("200")}, ["quantity"]),
        ({"side": "sell", "limit_price": D("10.50")}, ["limit_price", "side"]),
        ({"time_in_force": "gtc"}, ["time_in_force"]),
    ],
)
def test_replay_with_a_different_payload_conflicts_naming_the_fields(
    tenant, trader, ref, changes, fields
):
    first = trade_order_submit(tenant=tenant, actor=trader, data=_input(ref))
    stored = _stored(tenant)
    with pytest.raises(IdempotencyConflict) as conflict:
        trade_order_submit(tenant=tenant, actor=trader, data=_input(ref, **changes))
    assert conflict.value.as_dict() == {
        "code": "idempotency_conflict",
        "detail": "This idempotency key was already used with a different payload.",
        "errors": {
            field: ["Differs from the original submission with this client_order_id."]
            for field in fields
        },
        "order_id": first.order.pk,
        "reference": "T-000001",
    }
    assert _stored(tenant) == stored


def test_replay_of_a_gtd_order_whose_expiry_has_passed_returns_it(tenant, trader, ref):
    # given a GTD order whose expiry passed after entry
    data = _input(ref, time_in_force="gtd", expire_at=_in(1))
    first = trade_order_submit(tenant=tenant, actor=trader, data=data)
    later = timezone.now() + timedelta(hours=2)
    # when the client replays it after the expiry
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        again = trade_order_submit(tenant=tenant, actor=trader, data=data)
    # then it is the stored order, not a validation error
    assert (again.created, again.order.pk) == (False, first.order.pk)


def test_a_new_gtd_order_with_an_expired_expiry_is_still_refused(tenant, trader, ref):
    trade_order_submit(tenant=tenant, actor=trader, data=_input(ref))
    before = _stored(tenant)
    with pytest.raises(ValidationFailed) as refused:
        trade_order_submit(
            tenant=tenant,
            actor=trader,
            data=_input(ref, client_order_id="c-2", time_in_force="gtd", expire_at=_in(-1)),
        )
    assert refused.value.errors == {"expire_at": ["Must be in the future."]}
    assert _stored(tenant) == before


def test_valid_order_is_stored_as_given(tenant, trader, ref):
    expire = _in(48)
    created = trade_order_submit(
        tenant=tenant,
        actor=trader,
        data=_input(
            ref,
            order_type="stop_limit",
            stop_price=D("10.50"),
            limit_price=D("10.55"),
            time_in_force="gtd",
            expire_at=expire,
            venue=ref["XA"],
            handling="care",
        ),
    )
    trade = trade_of(created.order)
    assert (
        trade.order.status,
        trade.order.expires_at,
        trade.quantity,
        trade.cum_qty,
        trade.leaves_qty,
        trade.limit_price,
        trade.stop_price,
        trade.venue_id,
        trade.handling,
    ) == (
        "pending",
        expire,
        D("100"),
        D("0"),
        D("100"),
        D("10.55"),
        D("10.50"),
        ref["XA"].pk,
        "care",
    )
    assert Order.objects.for_tenant(tenant).get().submission["instrument"] == "ACME"
