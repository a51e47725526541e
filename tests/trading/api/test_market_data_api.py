"""POST /api/v1/trading/market-data/: quotes upsert exactly; resting orders and stops react."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import client_for, member
from tests.trading.order_helpers import (
    FORBIDDEN,
    MARKET_DATA,
    MARKET_DATA_ROLES,
    ORDERS,
    ROLES,
    market,
    order_body,
    post,
    quote_rows,
    report_rows,
    state,
    trade,
    trade_by_client_id,
    trading_snapshot,
)
from trading.models import Execution

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def mkt(tenant):
    return market(tenant)


@pytest.fixture
def ops(tenant):
    return client_for(member(tenant, "operations", username="alpha.ops"))


@pytest.fixture
def api(trader):
    return client_for(trader)


def feed(capture, client, *quotes):
    response = post(capture, client, MARKET_DATA, {"quotes": list(quotes)})
    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": len(quotes)}
    return response


def enter(capture, client, tenant, **fields):
    body = order_body(**fields)
    response = post(capture, client, ORDERS, body)
    assert response.status_code == 201, response.json()
    return trade_by_client_id(tenant, body["client_order_id"])


def test_quotes_upsert_exactly(tenant, mkt, ops, django_capture_on_commit_callbacks):
    # given XA quoting ACME (99.99 x 100.01, 100 each, last 100)
    capture = django_capture_on_commit_callbacks
    # when a batch replaces that quote and adds two new ones
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "ask": "100.05", "ask_size": "300"},
        {
            "venue": "XB",
            "symbol": "ACME",
            "bid": "99.98",
            "bid_size": "50",
            "ask": "100.02",
            "ask_size": "75",
            "last": "100.01",
        },
        {"venue": "XA", "symbol": "BOND", "bid": "97.05", "bid_size": 10, "last": 97.10},
    )
    # then every field of each quote is what was sent (omitted ones: no price, no size)
    assert quote_rows(tenant) == [
        ("XA", "ACME", None, D(0), D("100.05"), D(300), None),
        ("XA", "BOND", D("97.05"), D(10), None, D(0), D("97.10")),
        ("XB", "ACME", D("99.98"), D(50), D("100.02"), D(75), D("100.01")),
    ]
    # and a second batch updates in place (one row per venue and symbol)
    feed(capture, ops, {"venue": "XB", "symbol": "ACME", "bid": "99.97", "bid_size": "5"})
    assert quote_rows(tenant) == [
        ("XA", "ACME", None, D(0), D("100.05"), D(300), None),
        ("XA", "BOND", D("97.05"), D(10), None, D(0), D("97.10")),
        ("XB", "ACME", D("99.97"), D(5), None, D(0), None),
    ]


def test_quotes_repeated_in_a_batch_are_ticks_in_order(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given a buy stop at 100.50
    order = enter(capture, api, tenant, order_type="stop", limit_price=None, stop_price="100.50")
    # when one batch carries two ticks of XA ACME: the last trades at 100.50, then 100.05
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "ask": "100.52", "ask_size": "100", "last": "100.50"},
        {"venue": "XA", "symbol": "ACME", "ask": "100.10", "ask_size": "100", "last": "100.05"},
    )
    # then the later quote stands, and the stop saw the 100.50 print and took the ask
    assert quote_rows(tenant) == [("XA", "ACME", None, D(0), D("100.10"), D(40), D("100.05"))]
    assert trade(order).triggered is True
    assert state(order) == ("completed", "Filled", D(60), D(60), D(0), D("100.10"))


def test_a_resting_buy_limit_fills_at_its_limit_when_the_ask_moves_through_it(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given a buy 60 at 99.50 resting at XA (the ask is 100.01)
    order = enter(capture, api, tenant)
    assert state(order) == ("open", "New", D(60), D(0), D(60), D(0))
    # when the ask moves to 99.60, above the limit: nothing happens
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "ask": "99.60", "ask_size": "500"})
    assert state(order) == ("open", "New", D(60), D(0), D(60), D(0))
    # when it moves through the limit to 99.40 with 40 offered: 40 fill at the limit, 99.50
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "ask": "99.40", "ask_size": "40"})
    assert state(order) == ("partial", "PartiallyFilled", D(60), D(40), D(20), D("99.50"))
    # when 100 are offered at the limit: the remaining 20 fill, and the size is consumed
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "ask": "99.50", "ask_size": "100"})
    assert state(order) == ("completed", "Filled", D(60), D(60), D(0), D("99.50"))
    assert report_rows(order) == [
        ("New", "New", "60", "0", "0", "0", "60"),
        ("Trade", "PartiallyFilled", "60", "40", "99.5", "40", "20"),
        ("Trade", "Filled", "60", "20", "99.5", "60", "0"),
    ]
    assert quote_rows(tenant) == [("XA", "ACME", None, D(0), D("99.50"), D(80), None)]
    # the resting order added liquidity: maker fee (-1 bps, a rebate)
    assert list(
        Execution.objects.for_tenant(tenant)
        .filter(order_id=order.pk)
        .order_by("pk")
        .values_list("venue__code", "last_qty", "last_px", "liquidity", "fee")
    ) == [
        ("XA", D(40), D("99.50"), "added", D("-0.398")),
        ("XA", D(20), D("99.50"), "added", D("-0.199")),
    ]


def test_a_resting_sell_limit_fills_when_the_bid_reaches_it(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order = enter(capture, api, tenant, side="sell", limit_price="100.20", quantity="30")
    assert state(order)[:2] == ("open", "New")
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "bid": "100.19", "bid_size": "100"})
    assert state(order)[:2] == ("open", "New")
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "bid": "100.20", "bid_size": "100"})
    assert state(order) == ("completed", "Filled", D(30), D(30), D(0), D("100.20"))


def test_a_buy_stop_triggers_on_the_last_price_and_fills_as_a_market_order(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given a buy stop at 100.50 (New at the OMS, not at any venue)
    order = enter(capture, api, tenant, order_type="stop", limit_price=None, stop_price="100.50")
    assert (state(order)[:2], trade(order).triggered) == (("open", "New"), False)
    # when the last trades below the stop: nothing
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "ask": "100.52", "ask_size": "100", "last": "100.49"},
    )
    assert (state(order)[:2], trade(order).triggered) == (("open", "New"), False)
    # when the last trades at the stop: it triggers and takes the ask
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "ask": "100.52", "ask_size": "100", "last": "100.50"},
    )
    assert trade(order).triggered is True
    assert state(order) == ("completed", "Filled", D(60), D(60), D(0), D("100.52"))
    assert [row[:2] for row in report_rows(order)] == [("New", "New"), ("Trade", "Filled")]


def test_a_sell_stop_limit_triggers_at_or_below_and_rests_at_its_limit(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order = enter(
        capture,
        api,
        tenant,
        side="sell",
        order_type="stop_limit",
        stop_price="99.00",
        limit_price="98.90",
    )
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "bid": "98.80", "bid_size": "100", "last": "99.01"},
    )
    assert trade(order).triggered is False
    feed(
        capture,
        ops,
        {"venue": "XA", "symbol": "ACME", "bid": "98.80", "bid_size": "100", "last": "98.95"},
    )
    # triggered: a limit order at 98.90, above the 98.80 bid, so it rests
    assert trade(order).triggered is True
    assert state(order) == ("open", "New", D(60), D(0), D(60), D(0))
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "bid": "98.90", "bid_size": "25"})
    assert state(order) == ("partial", "PartiallyFilled", D(60), D(25), D(35), D("98.90"))


def test_market_data_of_one_tenant_never_reaches_another(
    tenant, other_tenant, mkt, ops, django_capture_on_commit_callbacks
):
    # given another tenant with the same codes and a resting buy at 99.50
    capture = django_capture_on_commit_callbacks
    market(other_tenant)
    theirs = client_for(member(other_tenant, "trader", username="beta.trader"))
    enter(capture, theirs, other_tenant)
    before = trading_snapshot(other_tenant)
    # when this tenant's feed offers ACME through that price on XA
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "ask": "99.00", "ask_size": "500"})
    # then nothing of the other tenant changes
    assert trading_snapshot(other_tenant) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_admin_and_operations_push_market_data(
    tenant, mkt, role, django_capture_on_commit_callbacks
):
    user = client_for(member(tenant, role, username=f"role.{role}"))
    before = trading_snapshot(tenant)
    body = {"quotes": [{"venue": "XA", "symbol": "ACME", "bid": "99.00", "bid_size": "1"}]}
    response = post(django_capture_on_commit_callbacks, user, MARKET_DATA, body)
    if role in MARKET_DATA_ROLES:
        assert (response.status_code, response.json()) == (200, {"accepted": 1})
        assert quote_rows(tenant) == [("XA", "ACME", D("99.00"), D(1), None, D(0), None)]
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert trading_snapshot(tenant) == before


def test_a_quote_on_an_inactive_venue_is_stored_but_matches_nothing(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order = enter(capture, api, tenant)
    mkt.xa.active = False
    mkt.xa.save(update_fields=["active"])
    feed(capture, ops, {"venue": "XA", "symbol": "ACME", "ask": "99.00", "ask_size": "500"})
    assert quote_rows(tenant) == [("XA", "ACME", None, D(0), D("99.00"), D(500), None)]
    assert state(order) == ("open", "New", D(60), D(0), D(60), D(0))
