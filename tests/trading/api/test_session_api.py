"""POST /api/v1/trading/venues/{code}/session/: the opening auction fills at-the-open orders
within their limit and cancels the rest; the close runs the closing auction, expires DAY
orders and reports GTC ones done for the day, which the next open restates."""

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
    order_url,
    post,
    report_rows,
    session_url,
    state,
    trade_by_client_id,
    trade_json,
    trading_snapshot,
)
from trading.models import Execution, Venue

pytestmark = pytest.mark.django_db

D = Decimal
VENUE_NOT_FOUND = {"code": "not_found", "detail": "Venue not found."}


@pytest.fixture
def mkt(tenant):
    return market(tenant)


@pytest.fixture
def ops(tenant):
    return client_for(member(tenant, "operations", username="alpha.ops"))


@pytest.fixture
def api(trader):
    return client_for(trader)


def enter(capture, client, tenant, **fields):
    body = order_body(**fields)
    response = post(capture, client, ORDERS, body)
    assert response.status_code == 201, response.json()
    return trade_by_client_id(tenant, body["client_order_id"])


def session(capture, client, code, event, price):
    return post(capture, client, session_url(code), {"event": event, "price": price})


def is_open(venue):
    return Venue.objects.for_tenant(venue.tenant_id).get(pk=venue.pk).session_is_open


def test_the_open_runs_the_opening_auction_at_the_given_price(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Venue.objects.for_tenant(tenant).filter(code="XA").update(session_is_open=False)
    # given at-the-open orders waiting at XA, and a day order resting there
    within = enter(
        capture, api, tenant, client_order_id="opg-in", time_in_force="opg", limit_price="100.00"
    )
    outside = enter(
        capture,
        api,
        tenant,
        client_order_id="opg-out",
        time_in_force="opg",
        limit_price="99.00",
        quantity="40",
    )
    market_sell = enter(
        capture,
        api,
        tenant,
        client_order_id="opg-mkt",
        time_in_force="opg",
        side="sell",
        order_type="market",
        limit_price=None,
        quantity="30",
        venue="XA",
    )
    day = enter(capture, api, tenant, client_order_id="day")
    waiting = [state(o)[:2] for o in (within, outside, market_sell, day)]
    assert waiting == [("open", "New")] * 4
    assert [r[0] for r in report_rows(within)] == ["New"]
    # when XA opens at 99.90
    response = session(capture, ops, "XA", "open", "99.90")
    # then orders within their limit fill at 99.90 in the auction, the others are canceled
    assert (response.status_code, response.json()) == (200, {"venue": "XA", "event": "open"})
    assert state(within) == ("completed", "Filled", D(60), D(60), D(0), D("99.90"))
    assert state(market_sell) == ("completed", "Filled", D(30), D(30), D(0), D("99.90"))
    assert state(outside) == ("canceled", "Canceled", D(40), D(0), D(0), D(0))
    assert report_rows(outside) == [
        ("New", "New", "40", "0", "0", "0", "40"),
        ("Canceled", "Canceled", "40", "0", "0", "0", "0"),
    ]
    assert list(
        Execution.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("order__order__client_order_id", "last_qty", "last_px", "liquidity")
    ) == [
        ("opg-in", D(60), D("99.90"), "auction"),
        ("opg-mkt", D(30), D("99.90"), "auction"),
    ]
    # the day order is untouched, and the venue is open
    assert state(day) == ("open", "New", D(60), D(0), D(60), D(0))
    assert is_open(mkt.xa) is True


def test_the_close_expires_day_orders_and_keeps_gtc_ones(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    session(capture, ops, "XA", "open", "100.00")
    # given a day order partly filled, a day order unfilled, a GTC order, an at-the-close
    # order (all at XA) and a day order directed to XB
    partly = enter(
        capture, api, tenant, client_order_id="day-part", quantity="130", limit_price="100.01"
    )
    day = enter(capture, api, tenant, client_order_id="day")
    gtc = enter(capture, api, tenant, client_order_id="gtc", time_in_force="gtc")
    atc = enter(
        capture, api, tenant, client_order_id="atc", time_in_force="atc", limit_price="100.10"
    )
    at_xb = enter(capture, api, tenant, client_order_id="xb-day", venue="XB")
    assert state(partly) == ("partial", "PartiallyFilled", D(130), D(100), D(30), D("100.01"))
    before_xb = state(at_xb)
    # when XA closes at 100.05
    response = session(capture, ops, "XA", "close", "100.05")
    assert (response.status_code, response.json()) == (200, {"venue": "XA", "event": "close"})
    # then the day orders expire (ExecType Expired), keeping what they filled
    assert state(day) == ("expired", "Expired", D(60), D(0), D(0), D(0))
    assert report_rows(day)[-1] == ("Expired", "Expired", "60", "0", "0", "0", "0")
    assert state(partly) == ("expired", "Expired", D(130), D(100), D(0), D("100.01"))
    assert report_rows(partly) == [
        ("New", "New", "130", "0", "0", "0", "130"),
        ("Trade", "PartiallyFilled", "130", "100", "100.01", "100", "30"),
        ("Expired", "Expired", "130", "0", "0", "100", "0"),
    ]
    # the GTC order survives the close, done for the day; the at-the-close order fills in the
    # closing auction
    assert state(gtc) == ("open", "DoneForDay", D(60), D(0), D(60), D(0))
    assert report_rows(gtc) == [
        ("New", "New", "60", "0", "0", "0", "60"),
        ("DoneForDay", "DoneForDay", "60", "0", "0", "0", "60"),
    ]
    assert state(atc) == ("completed", "Filled", D(60), D(60), D(0), D("100.05"))
    # another venue's close is another event: the XB day order is untouched
    assert state(at_xb) == before_xb == ("open", "New", D(60), D(0), D(60), D(0))
    assert is_open(mkt.xa) is False


@pytest.mark.parametrize("role", ROLES)
def test_only_admin_and_operations_drive_sessions(
    tenant, mkt, api, role, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Venue.objects.for_tenant(tenant).filter(code="XA").update(session_is_open=True)
    order = enter(capture, api, tenant, time_in_force="opg", limit_price="100.00")
    before = trading_snapshot(tenant)
    user = client_for(member(tenant, role, username=f"role.{role}"))
    response = session(capture, user, "XA", "open", "99.90")
    if role in MARKET_DATA_ROLES:
        assert response.status_code == 200
        assert state(order)[:2] == ("completed", "Filled")
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert trading_snapshot(tenant) == before
        assert is_open(mkt.xa) is True  # as it was: no event ran


@pytest.mark.parametrize("code", ["NOPE", "BV", "xa"])
def test_an_unknown_or_another_tenants_venue_answers_404(
    tenant, other_tenant, mkt, ops, api, django_capture_on_commit_callbacks, code
):
    # given an at-the-open order at XA here, and venue BV in another tenant with one there
    capture = django_capture_on_commit_callbacks
    enter(capture, api, tenant, time_in_force="opg", limit_price="100.00")
    other = market(other_tenant)
    Venue.objects.for_tenant(other_tenant).filter(pk=other.xb.pk).update(code="BV")
    theirs = client_for(member(other_tenant, "trader", username="beta.trader"))
    enter(capture, theirs, other_tenant, time_in_force="opg", limit_price="100.00", venue="BV")
    before = (trading_snapshot(tenant), trading_snapshot(other_tenant))
    venues = list(Venue.objects.all_tenants(reason="test").order_by("pk").values())
    # when a session event names a venue that is not this tenant's
    response = session(capture, ops, code, "open", "99.90")
    # then 404, and no venue or order anywhere changes
    assert (response.status_code, response.json()) == (404, VENUE_NOT_FOUND)
    assert (trading_snapshot(tenant), trading_snapshot(other_tenant)) == before
    assert list(Venue.objects.all_tenants(reason="test").order_by("pk").values()) == venues


def test_a_closed_venue_trades_nothing_until_it_opens(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Venue.objects.for_tenant(tenant).filter(code="XA").update(session_is_open=False)
    # given a marketable limit buy and a market buy sent to XA while it is closed
    limit = enter(capture, api, tenant, client_order_id="lim", limit_price="100.01", venue="XA")
    market_buy = post(
        capture,
        api,
        ORDERS,
        order_body(client_order_id="mkt", order_type="market", limit_price=None, venue="XA"),
    )
    # then the limit order rests unfilled and the market order is rejected
    assert state(limit) == ("open", "New", D(60), D(0), D(60), D(0))
    assert market_buy.status_code == 201
    rejected = trade_by_client_id(tenant, "mkt")
    assert state(rejected)[:2] == ("rejected", "Rejected")
    assert rejected.order.status_reason == "Session closed."
    # and market data while closed fills nothing
    post(
        capture,
        ops,
        "/api/v1/trading/market-data/",
        {
            "quotes": [
                {
                    "venue": "XA",
                    "symbol": "ACME",
                    "bid": "99.98",
                    "bid_size": "100",
                    "ask": "100.00",
                    "ask_size": "100",
                    "last": "100.00",
                }
            ]
        },
    )
    assert state(limit) == ("open", "New", D(60), D(0), D(60), D(0))
    # when XA opens, the resting order meets the quote (at its limit: it was resting)
    session(capture, ops, "XA", "open", "100.00")
    assert state(limit) == ("completed", "Filled", D(60), D(60), D(0), D("100.01"))


def test_the_auction_takes_each_symbols_own_price(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Venue.objects.for_tenant(tenant).filter(code="XA").update(session_is_open=False)
    opg = enter(
        capture, api, tenant, client_order_id="opg", time_in_force="opg", limit_price="100.00"
    )
    body = {"event": "open", "price": "99.00", "prices": {"ACME": "99.50"}}
    response = post(capture, ops, session_url("XA"), body)
    assert response.status_code == 200
    assert state(opg) == ("completed", "Filled", D(60), D(60), D(0), D("99.50"))


def test_an_unknown_symbol_in_prices_is_named_and_nothing_changes(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Venue.objects.for_tenant(tenant).filter(code="XA").update(session_is_open=False)
    enter(capture, api, tenant, client_order_id="opg", time_in_force="opg", limit_price="100.00")
    before = trading_snapshot(tenant)
    body = {"event": "open", "price": "99.00", "prices": {"NOPE": "1.00", "ACME": "99.50"}}
    response = post(capture, ops, session_url("XA"), body)
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {"prices": {"NOPE": ["No such instrument."]}},
        },
    )
    assert trading_snapshot(tenant) == before


def test_a_gtc_order_is_done_for_day_at_the_close_and_restated_at_the_next_open(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given a GTC buy of 130 at XA that took the 100 offered at 100.01
    gtc = enter(
        capture,
        api,
        tenant,
        client_order_id="gtc",
        quantity="130",
        limit_price="100.01",
        time_in_force="gtc",
        venue="XA",
    )
    assert state(gtc) == ("partial", "PartiallyFilled", D(130), D(100), D(30), D("100.01"))
    # when XA closes
    response = session(capture, ops, "XA", "close", "100.05")
    # then the order is done for the day (OrderQty, CumQty, LeavesQty, AvgPx unchanged), and
    # the API shows it so
    assert response.status_code == 200
    assert state(gtc) == ("partial", "DoneForDay", D(130), D(100), D(30), D("100.01"))
    detail = api.get(order_url(gtc)).json()
    assert detail == trade_json(gtc)
    assert (detail["status"], detail["ord_status"], detail["pending"]) == (
        "partial",
        "DoneForDay",
        "day",
    )
    # when XA opens the next morning and the offer comes back
    session(capture, ops, "XA", "open", "100.02")
    assert state(gtc) == ("partial", "PartiallyFilled", D(130), D(100), D(30), D("100.01"))
    post(
        capture,
        ops,
        MARKET_DATA,
        {
            "quotes": [
                {
                    "venue": "XA",
                    "symbol": "ACME",
                    "bid": "99.98",
                    "bid_size": "100",
                    "ask": "100.00",
                    "ask_size": "100",
                    "last": "100.00",
                }
            ]
        },
    )
    # then the client saw: done for day, restated (working again), then the rest filled
    assert report_rows(gtc) == [
        ("New", "New", "130", "0", "0", "0", "130"),
        ("Trade", "PartiallyFilled", "130", "100", "100.01", "100", "30"),
        ("DoneForDay", "DoneForDay", "130", "0", "0", "100", "30"),
        ("Restated", "PartiallyFilled", "130", "0", "0", "100", "30"),
        ("Trade", "Filled", "130", "30", "100.01", "130", "0"),
    ]
    assert state(gtc) == ("completed", "Filled", D(130), D(130), D(0), D("100.01"))


def test_a_done_for_day_order_can_be_canceled_over_the_api(
    tenant, mkt, ops, api, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    gtc = enter(capture, api, tenant, client_order_id="gtc", time_in_force="gtc")
    session(capture, ops, "XA", "close", "100.05")
    assert state(gtc)[:2] == ("open", "DoneForDay")
    response = post(capture, api, order_url(gtc, "cancel"), {"reason": "overnight"})
    assert response.status_code == 200
    assert state(gtc) == ("canceled", "Canceled", D(60), D(0), D(0), D(0))
    assert report_rows(gtc) == [
        ("New", "New", "60", "0", "0", "0", "60"),
        ("DoneForDay", "DoneForDay", "60", "0", "0", "0", "60"),
        ("PendingCancel", "PendingCancel", "60", "0", "0", "0", "60"),
        ("Canceled", "Canceled", "60", "0", "0", "0", "0"),
    ]
    # the next open has nothing left to restate
    session(capture, ops, "XA", "open", "100.00")
    assert len(report_rows(gtc)) == 4
