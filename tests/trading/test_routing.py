"""Smart order routing: the pure plan (trading.routing.plan_route) with exact children, and
the routing services (trading.services.routing): a sweep executed on three simulated venues,
and idempotence (routing or sending twice does nothing twice)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trading.factories import VenueFactory
from tests.trading.helpers import (
    D,
    after_commit,
    assert_invariants,
    child_rows,
    children,
    desk_create,
    fix_rows,
    manual_venue_install,
    trade_of,
)
from trading.models import Execution, Venue, VenueOrder
from trading.routing import PlannedChild, RoutePlan, VenueQuote, plan_route
from trading.services.entry import TradeOrderInput, trade_order_submit
from trading.services.routing import order_route, venue_order_send
from trading.tasks import route_order
from trading.tasks import venue_order_send as venue_order_send_task

# --- the pure plan -----------------------------------------------------------------------------

# Three venues: fees make the cheapest ask (XC) the second best after fees.
XA = Venue(id=1, code="XA", taker_fee_bps=D("30"))  # ask 10.02 -> 10.05006
XB = Venue(id=2, code="XB", taker_fee_bps=D("0"))  # ask 10.03 -> 10.03
XC = Venue(id=3, code="XC", taker_fee_bps=D("25"))  # ask 10.01 -> 10.035025
XD = Venue(id=4, code="XD", taker_fee_bps=D("0"))


def q(venue: Venue, price: str | None, size: str) -> VenueQuote:
    return VenueQuote(venue=venue, price=None if price is None else D(price), size=D(size))


ASKS = [q(XA, "10.02", "300"), q(XB, "10.03", "200"), q(XC, "10.01", "400")]


def plan(**kwargs: Any) -> RoutePlan:
    args: dict[str, Any] = {
        "side": "buy",
        "quantity": D("1000"),
        "order_type": "limit",
        "limit_price": D("10.05"),
        "time_in_force": "day",
        "lot_size": D("1"),
        "quotes": ASKS,
        "directed": None,
    }
    args.update(kwargs)
    return plan_route(**args)


def child(venue: Venue, qty: str, limit: str | None, tif: str, auction: bool = False):
    return PlannedChild(venue, D(qty), None if limit is None else D(limit), tif, auction)


def test_sweep_takes_venues_best_fee_adjusted_price_first_and_rests_the_residual():
    # given asks on three venues with different prices, sizes and taker fees
    # when a buy of 1000 limited at 10.05 is planned
    result = plan()
    # then each venue gets an IOC child sized to its displayed quantity at its quoted price,
    # best fee-adjusted first, and the residual rests at the best venue at the order's limit
    assert result.children == [
        child(XB, "200", "10.03", "ioc"),
        child(XC, "400", "10.01", "ioc"),
        child(XA, "300", "10.02", "ioc"),
        child(XB, "100", "10.05", "day"),
    ]
    assert (result.reject_reason, result.kill_reason) == ("", "")
    assert result.compared == [
        {"venue": "XB", "price": "10.03", "size": "200", "fee_adjusted": "10.03"},
        {"venue": "XC", "price": "10.01", "size": "400", "fee_adjusted": "10.035025"},
        {"venue": "XA", "price": "10.02", "size": "300", "fee_adjusted": "10.05006"},
    ]


def test_sell_sweep_ranks_bids_net_of_fees_highest_first():
    bids = [q(XA, "10.00", "100"), q(XB, "9.98", "100"), q(XC, "9.99", "100")]
    # XA 10.00 x (1 - 0.003) = 9.97; XB 9.98; XC 9.99 x (1 - 0.0025) = 9.965025
    result = plan(side="sell", quantity=D("250"), limit_price=D("9.95"), quotes=bids)
    assert result.children == [
        child(XB, "100", "9.98", "ioc"),
        child(XA, "100", "10.00", "ioc"),
        child(XC, "50", "9.99", "ioc"),
    ]


def test_only_offers_within_the_limit_are_swept():
    # XB's 10.03 is above the 10.02 limit: it is not swept
    result = plan(quantity=D("800"), limit_price=D("10.02"))
    assert result.children == [
        child(XC, "400", "10.01", "ioc"),
        child(XA, "300", "10.02", "ioc"),
        child(XB, "100", "10.02", "day"),  # rests at the best venue, at the limit
    ]


def test_limit_order_below_every_offer_rests_whole_at_the_best_venue():
    result = plan(quantity=D("500"), limit_price=D("9.90"))
    assert result.children == [child(XB, "500", "9.90", "day")]


def test_resting_venue_may_have_no_displayed_size_left():
    # every offer was taken (size 0): the limit order still rests at the best price
    quotes = [q(XA, "10.02", "0"), q(XB, "10.03", "0"), q(XD, None, "0")]
    result = plan(quantity=D("100"), limit_price=D("10.00"), quotes=quotes)
    assert result.children == [child(XB, "100", "10.00", "day")]


def test_limit_order_with_no_quote_anywhere_is_rejected():
    result = plan(quotes=[q(XA, None, "0")])
    assert (result.children, result.reject_reason) == ([], "No venue quotes this instrument.")


def test_market_order_sweeps_and_does_not_rest_its_residual():
    result = plan(order_type="market", limit_price=None, time_in_force="day")
    assert result.children == [
        child(XB, "200", "10.03", "ioc"),
        child(XC, "400", "10.01", "ioc"),
        child(XA, "300", "10.02", "ioc"),
    ]
    assert (result.reject_reason, result.kill_reason) == ("", "")


@pytest.mark.parametrize(
    "quotes",
    [
        [],
        [q(XA, None, "0"), q(XB, None, "0")],
        [q(XA, "10.02", "0")],
    ],
    ids=["no-quotes", "no-prices", "no-size"],
)
def test_market_order_with_no_liquidity_is_rejected(quotes):
    result = plan(order_type="market", limit_price=None, quotes=quotes)
    assert (result.children, result.reject_reason) == ([], "No liquidity on any venue.")


def test_fok_that_the_venues_cannot_cover_is_killed():
    result = plan(quantity=D("1000"), limit_price=D("10.02"), time_in_force="fok")
    # within 10.02 only XC 400 + XA 300 are available
    assert (result.children, result.kill_reason) == ([], "Fill or kill: 700 available of 1000.")


def test_fok_covered_by_the_venues_sweeps_with_ioc_children():
    result = plan(quantity=D("700"), limit_price=D("10.02"), time_in_force="fok")
    assert result.children == [
        child(XC, "400", "10.01", "ioc"),
        child(XA, "300", "10.02", "ioc"),
    ]


def test_ioc_with_nothing_within_the_limit_is_killed():
    result = plan(limit_price=D("9.99"), time_in_force="ioc")
    assert (result.children, result.kill_reason) == ([], "No liquidity within the limit.")


def test_ioc_takes_what_is_there_and_plans_no_rest():
    result = plan(quantity=D("1000"), limit_price=D("10.02"), time_in_force="ioc")
    assert result.children == [
        child(XC, "400", "10.01", "ioc"),
        child(XA, "300", "10.02", "ioc"),
    ]


def test_children_are_rounded_down_to_the_lot_and_the_rest_rests():
    quotes = [q(XA, "10.00", "250"), q(XB, "10.01", "180")]
    result = plan(quantity=D("500"), limit_price=D("10.01"), lot_size=D("100"), quotes=quotes)
    assert result.children == [
        child(XB, "100", "10.01", "ioc"),  # 180 displayed: one lot
        child(XA, "200", "10.00", "ioc"),  # 10.00 x 1.003 = 10.03 after fees; 250: two lots
        child(XB, "200", "10.01", "day"),  # the rest rests at the best venue
    ]


def test_fok_counts_only_whole_lots_as_available():
    # 250 + 180 displayed, but only 200 + 100 in whole lots of 100: 400 cannot be filled
    quotes = [q(XA, "10.00", "250"), q(XB, "10.01", "180")]
    result = plan(
        quantity=D("400"),
        limit_price=D("10.01"),
        lot_size=D("100"),
        time_in_force="fok",
        quotes=quotes,
    )
    assert (result.children, result.kill_reason) == ([], "Fill or kill: 300 available of 400.")


def test_market_order_with_less_than_a_lot_displayed_is_rejected():
    quotes = [q(XA, "10.00", "99")]
    result = plan(order_type="market", limit_price=None, lot_size=D("100"), quotes=quotes)
    assert (result.children, result.reject_reason) == ([], "No liquidity on any venue.")


def test_equal_fee_adjusted_prices_prefer_the_larger_size_then_the_code():
    quotes = [q(XD, "10.00", "100"), q(XB, "10.00", "300"), q(XA, "9.97", "100")]
    # XA 9.97 x 1.003 = 9.99991 is best; XB and XD tie at 10.00: XB shows more
    result = plan(quantity=D("450"), limit_price=D("10.00"), quotes=quotes)
    assert result.children == [
        child(XA, "100", "9.97", "ioc"),
        child(XB, "300", "10.00", "ioc"),
        child(XD, "50", "10.00", "ioc"),
    ]


def test_directed_routing_ignores_a_better_price_elsewhere():
    # XB has the best price, but the trader named XA
    result = plan(directed=XA, quantity=D("1000"), limit_price=D("10.05"))
    assert result.children == [child(XA, "1000", "10.05", "day")]


def test_directed_market_order_without_liquidity_there_is_rejected():
    result = plan(directed=XD, order_type="market", limit_price=None)
    assert (result.children, result.reject_reason) == ([], "No liquidity on XD.")


@pytest.mark.parametrize("tif", ["opg", "atc"])
def test_auction_orders_wait_whole_at_the_best_venue(tif):
    result = plan(time_in_force=tif)
    assert result.children == [child(XB, "1000", "10.05", tif, auction=True)]


# --- routing services ---------------------------------------------------------------------------


@pytest.fixture
def desk(tenant, trader):
    return desk_create(tenant, trader)


def _three_venues(desk):
    xb = VenueFactory(tenant=desk.tenant, code="XB", taker_fee_bps=D("0"))
    xc = VenueFactory(tenant=desk.tenant, code="XC", taker_fee_bps=D("25"))
    Venue.objects.for_tenant(desk.tenant).filter(pk=desk.venue.pk).update(taker_fee_bps=D("30"))
    desk.venue.refresh_from_db()
    desk.quote(venue=desk.venue, bid="10.00", bid_size="100", ask="10.02", ask_size="300")
    desk.quote(venue=xb, bid="10.00", bid_size="100", ask="10.03", ask_size="200")
    desk.quote(venue=xc, bid="10.00", bid_size="100", ask="10.01", ask_size="400")
    return xb, xc


@pytest.mark.django_db
def test_sweep_executes_on_three_simulated_venues_at_their_prices_and_fees(desk):
    # given asks on XA (30 bps), XB (0 bps) and XC (25 bps)
    _three_venues(desk)
    # when a buy of 1000 at 10.05 is entered for smart routing
    trade = desk.order(quantity="1000", order_type="limit", limit_price="10.05")
    # then the children are exactly the plan, three filled and the residual resting
    assert child_rows(trade) == [
        ("XB", D("200"), D("10.03"), "ioc", "filled", D("200")),
        ("XC", D("400"), D("10.01"), "ioc", "filled", D("400")),
        ("XA", D("300"), D("10.02"), "ioc", "filled", D("300")),
        ("XB", D("100"), D("10.05"), "day", "new", D("0")),
    ]
    executions = (
        Execution.objects.for_tenant(desk.tenant)
        .filter(order=trade)
        .order_by("pk")
        .values_list("venue__code", "last_qty", "last_px", "fee", "liquidity")
    )
    assert list(executions) == [
        ("XB", D("200"), D("10.03"), D("0"), "removed"),
        ("XC", D("400"), D("10.01"), D("10.01"), "removed"),  # 4004 x 25 bps
        ("XA", D("300"), D("10.02"), D("9.018"), "removed"),  # 3006 x 30 bps
    ]
    fresh = trade_of(trade)
    assert (fresh.order.status, fresh.cum_qty, fresh.leaves_qty, fresh.avg_px) == (
        "partial",
        D("900"),
        D("100"),
        D("10.01777778"),  # (2006 + 4004 + 3006) / 900
    )
    assert [r[:2] for r in fix_rows(trade)] == [
        ("New", "New"),
        ("Trade", "PartiallyFilled"),
        ("Trade", "PartiallyFilled"),
        ("Trade", "PartiallyFilled"),
    ]
    assert_invariants(trade)


@pytest.mark.django_db
def test_directed_order_goes_only_to_its_venue(desk):
    _three_venues(desk)
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.05", venue=desk.venue)
    assert child_rows(trade) == [("XA", D("100"), D("10.05"), "day", "filled", D("100"))]
    assert Execution.objects.for_tenant(desk.tenant).get().last_px == D("10.02")


def _entered_not_routed(desk) -> int:
    """An order entered whose after-commit routing has not run yet."""
    created = trade_order_submit(
        tenant=desk.tenant,
        actor=desk.trader,
        data=TradeOrderInput(
            client_order_id="r-1",
            account=desk.account,
            instrument=desk.instrument,
            side="buy",
            quantity=D("100"),
            order_type="limit",
            time_in_force="day",
            limit_price=D("10.00"),
        ),
    )
    return created.order.pk


@pytest.mark.django_db
def test_routing_twice_creates_and_sends_nothing_twice(desk, monkeypatch):
    # given an order not yet routed, and a venue that records what it is sent
    venue = manual_venue_install(monkeypatch)
    desk.quote(bid="9.95", bid_size="100", ask="10.05", ask_size="100")
    order_id = _entered_not_routed(desk)
    # when the routing service runs twice (each run's sends executed)
    with after_commit():
        first = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    with after_commit():
        second = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    # then one child exists and was sent once
    rows = VenueOrder.objects.for_tenant(desk.tenant).filter(order_id=order_id)
    assert (first, second) == ([rows.get().pk], [])
    assert venue.sent == ["T-000001-1"]


@pytest.mark.django_db
def test_the_route_task_run_twice_routes_once(desk, monkeypatch):
    venue = manual_venue_install(monkeypatch)
    desk.quote(bid="9.95", bid_size="100", ask="10.05", ask_size="100")
    order_id = _entered_not_routed(desk)
    with after_commit():
        assert route_order.delay(tenant_id=desk.tenant.pk, order_id=order_id).get() == 1
        assert route_order.delay(tenant_id=desk.tenant.pk, order_id=order_id).get() == 0
    assert venue.sent == ["T-000001-1"]


@pytest.mark.django_db
def test_sending_a_child_twice_sends_it_once(desk, monkeypatch):
    # given a routed order whose child was sent
    venue = manual_venue_install(monkeypatch)
    desk.quote(bid="9.95", bid_size="100", ask="10.05", ask_size="100")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00")
    (sent,) = children(trade)
    assert venue.sent == [sent.cl_ord_id]
    # when the send runs again (a redelivered task), through the service and the task
    again = venue_order_send(tenant_id=desk.tenant.pk, venue_order_id=sent.pk)
    task_again = venue_order_send_task.delay(tenant_id=desk.tenant.pk, venue_order_id=sent.pk).get()
    # then nothing more left for the venue
    assert (again, task_again, venue.sent) == (False, False, [sent.cl_ord_id])


@pytest.mark.django_db
def test_a_routed_order_rerouted_after_fills_gets_no_new_children(desk):
    desk.quote(bid="9.95", bid_size="100", ask="10.00", ask_size="40")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00")
    before = child_rows(trade)
    with after_commit():
        assert order_route(tenant_id=desk.tenant.pk, order_id=trade.pk) == []
    assert child_rows(trade) == before
