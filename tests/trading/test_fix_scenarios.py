"""FIX 4.4 Appendix D order-state scenarios: every execution report a client receives, with
ExecType, OrdStatus, OrderQty, CumQty, LeavesQty, LastQty and AvgPx written out by hand.

Scenarios run on the real simulated venue where timing does not matter, and on a scripted
venue (``ManualVenue``: the test plays the exchange) where it does, e.g. a fill that arrives
while a cancel or a replace is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from oms_site.errors import TransitionNotAllowed
from orders import screening
from orders.models import OrderEvent
from orders.screening import Decision, Finding, Severity
from orders.services import order_transition
from tests.conftest import client_for, member
from tests.orders.helpers import event_kinds
from tests.trading.helpers import (
    D,
    Desk,
    ManualVenue,
    Row,
    after_commit,
    assert_invariants,
    cancel,
    child_rows,
    children,
    desk_create,
    fill,
    fix_rows,
    manual_venue_install,
    replace,
    report,
    rows,
    session,
    trade_of,
    trade_snapshot,
)
from trading.models import Execution, Quote, TradeOrder
from trading.services.marketdata import venue_sessions_tick
from trading.venues.base import ReportKind

pytestmark = pytest.mark.django_db

ACK = ReportKind.ACK
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def desk(tenant, trader) -> Desk:
    return desk_create(tenant, trader)


@dataclass(frozen=True)
class Scenario:
    drive: Callable[[Desk, ManualVenue | None], TradeOrder]
    reports: list[Row]
    status: str  # the common order status at the end
    ord_status: str  # the FIX OrdStatus at the end
    manual: bool = False  # the test plays the venue


def _resting_buy(desk: Desk, **kwargs) -> TradeOrder:
    """Buy 100 @ 10.00 DAY, smart routed, resting (the offer is above the limit)."""
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    kwargs.setdefault("time_in_force", "day")
    return desk.order(quantity="100", order_type="limit", limit_price="10.00", **kwargs)


def _directed_buy(desk: Desk, **kwargs) -> TradeOrder:
    """Buy 100 @ 10.00 DAY directed to XA, acknowledged by the (scripted) venue."""
    kwargs.setdefault("time_in_force", "day")
    kwargs.setdefault("quantity", "100")
    trade = desk.order(order_type="limit", limit_price="10.00", venue=desk.venue, **kwargs)
    report(children(trade)[0], ACK)
    return trade


# --- D.1 vanilla ------------------------------------------------------------------------------


def filled_in_two_partials_scripted(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "40", "10.00")
    fill(child, "60", "9.99")
    return trade


def filled_in_two_partials_simulated(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_buy(desk)
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="40", last="10.00")
    desk.quote(bid="9.95", bid_size="500", ask="9.98", ask_size="200", last="9.98")
    return trade


def day_order_expires_at_close(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_buy(desk)
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="30", last="10.00")
    session(desk.venue, "close", "10.02")
    return trade


def day_order_expired_by_venue(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "30", "10.00")
    report(child, ReportKind.EXPIRED, text="Day order expired.")
    return trade


def gtc_survives_the_close(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_buy(desk, time_in_force="gtc")
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="30", last="10.00")
    session(desk.venue, "close", "10.02")
    session(desk.venue, "open", "10.03")
    desk.quote(bid="9.95", bid_size="500", ask="9.99", ask_size="500", last="9.99")
    return trade


# --- H.1 GT orders: done for day at the close, restated (renewed) at the next open ---------------


def _resting_gtc(desk: Desk, quantity: str = "100") -> TradeOrder:
    """Buy ``quantity`` @ 10.00 GTC, smart routed, resting at XA."""
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    return desk.order(
        quantity=quantity, order_type="limit", limit_price="10.00", time_in_force="gtc"
    )


def gtc_partially_filled_restated_and_partially_filled_next_day(
    desk: Desk, venue: ManualVenue | None
) -> TradeOrder:
    """The FIX Appendix D GTC renewal scenario on the simulated venue, the spec's quantities."""
    trade = _resting_gtc(desk, "10000")
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="2000", last="10.00")  # day 1,3
    session(desk.venue, "close", "10.02")  # day 1,4: done for day
    assert child_rows(trade) == [("XA", D("10000"), D("10"), "gtc", "done_for_day", D("2000"))]
    session(desk.venue, "open", "10.03")  # day 2,1: restated
    assert child_rows(trade) == [("XA", D("10000"), D("10"), "gtc", "partially_filled", D("2000"))]
    desk.quote(bid="9.95", bid_size="500", ask="9.97", ask_size="1000", last="9.97")  # day 2,2
    return trade


def gtc_partially_filled_restated_and_partially_filled_next_day_scripted(
    desk: Desk, venue: ManualVenue | None
) -> TradeOrder:
    """The FIX Appendix D GTC renewal scenario, the venue's reports played by the test."""
    trade = _directed_buy(desk, quantity="10000", time_in_force="gtc")
    child = children(trade)[0]
    fill(child, "2000", "10.00")
    report(child, ReportKind.DONE_FOR_DAY)
    report(child, ReportKind.RESTATED)
    fill(child, "1000", "9.97")
    return trade


def gtc_unfilled_restated_as_new(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_gtc(desk)
    session(desk.venue, "close", "10.02")
    session(desk.venue, "open", "10.03")
    return trade


def gtc_done_for_day_overnight(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_gtc(desk)
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="30", last="10.00")
    session(desk.venue, "close", "10.02")
    session(desk.venue, "close", "10.02")  # a repeated close reports nothing more
    return trade


def cancel_while_done_for_day(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = gtc_done_for_day_overnight(desk, venue)
    cancel(trade, desk.trader)
    return trade


def replace_while_done_for_day(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = gtc_done_for_day_overnight(desk, venue)
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.05")
    replace(trade, desk.trader, quantity="150", limit_price="10.10")  # marketable, but closed
    assert child_rows(trade) == [("XA", D("150"), D("10.10"), "gtc", "done_for_day", D("30"))]
    session(desk.venue, "open", "10.03")  # restated, then it meets the offer at 10.05
    return trade


def replace_rejected_while_done_for_day(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk, time_in_force="gtc")
    child = children(trade)[0]
    fill(child, "20", "10.00")
    report(child, ReportKind.DONE_FOR_DAY)
    replace(trade, desk.trader, quantity="150")
    report(child, ReportKind.REPLACE_REJECTED, text="Closed.")  # back to DoneForDay
    return trade


# --- D.2 cancel -------------------------------------------------------------------------------


def cancel_new_order_simulated(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_buy(desk)
    cancel(trade, desk.trader, "changed my mind")
    return trade


def cancel_new_order_scripted(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    cancel(trade, desk.trader)
    assert venue is not None
    assert venue.canceled == [children(trade)[0].cl_ord_id]
    report(children(trade)[0], ReportKind.CANCELED)
    return trade


def cancel_before_acknowledgement(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", venue=desk.venue)
    cancel(trade, desk.trader)  # PendingCancel outranks PendingNew
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    report(child, ReportKind.CANCELED)
    return trade


def held_then_released(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    screening.screen_register(
        "size", lambda order: Decision(findings=(Finding("size", Severity.SOFT, "Large."),))
    )
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="40", last="10.00")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00")
    assert (trade_of(trade).order.status, fix_rows(trade)) == ("held", [])
    officer = member(desk.tenant, "compliance_officer", username="alpha.compliance")
    with after_commit():
        order_transition(tenant=desk.tenant, order_id=trade.pk, transition="approve", actor=officer)
    return trade


def rejected_by_the_venue(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", venue=desk.venue)
    report(children(trade)[0], ReportKind.REJECTED, text="Unknown symbol.")
    return trade


def weekday_in_new_york(at: time, days_ahead: int = 7) -> datetime:
    """A weekday at least ``days_ahead`` days from now, at ``at`` New York time (XA's clock:
    09:30-16:00 there), so that a session tick's outcome never depends on when tests run."""
    day = (timezone.now().astimezone(NEW_YORK) + timedelta(days=days_ahead)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=NEW_YORK)


def gtd_expires_at_its_time(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    expire_at = weekday_in_new_york(time(12, 0))  # XA is open either side of it
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        time_in_force="gtd",
        expire_at=expire_at,
    )
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="10", last="10.00")
    with after_commit():
        venue_sessions_tick(tenant_id=desk.tenant.pk, now=expire_at - timedelta(seconds=1))
    assert trade_of(trade).order.status == "partial"
    with after_commit():
        venue_sessions_tick(tenant_id=desk.tenant.pk, now=expire_at)
    return trade


def fill_while_cancel_pending(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    cancel(trade, desk.trader)
    fill(child, "30", "10.02")
    report(child, ReportKind.CANCELED)
    return trade


def fill_completes_while_cancel_pending(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    cancel(trade, desk.trader)
    fill(child, "80", "10.00")
    report(child, ReportKind.CANCEL_REJECTED, text="Too late to cancel.")
    return trade


# --- D.3 cancel/replace -----------------------------------------------------------------------


def increase_while_partially_filled(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    replace(trade, desk.trader, quantity="150")
    fill(child, "30", "10.00")  # reported against the original OrderQty (100)
    report(child, ReportKind.REPLACED)
    fill(child, "100", "9.97")
    assert venue is not None
    assert venue.replaced == [(child.cl_ord_id, D("150"), None)]
    return trade


def decrease_above_cum(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    replace(trade, desk.trader, quantity="60")
    report(child, ReportKind.REPLACED)
    assert venue is not None
    assert venue.replaced == [(child.cl_ord_id, D("60"), None)]
    assert child_rows(trade) == [("XA", D("60"), D("10"), "day", "partially_filled", D("20"))]
    return trade


def decrease_to_cum(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    replace(trade, desk.trader, quantity="20")  # done at once: the balance is canceled
    assert venue is not None
    assert (venue.replaced, venue.canceled) == ([], [child.cl_ord_id])
    report(child, ReportKind.CANCELED)
    return trade


def decrease_below_cum(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    replace(trade, desk.trader, quantity="10")  # OrderQty amended to the filled 20
    report(child, ReportKind.CANCELED)
    return trade


def decrease_overtaken_by_fill(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")
    replace(trade, desk.trader, quantity="40")
    fill(child, "30", "10.00")  # CumQty 50 passes the requested 40 before the venue confirms
    report(child, ReportKind.REPLACED)
    return trade


def two_replaces_in_a_row(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _directed_buy(desk)
    child = children(trade)[0]
    replace(trade, desk.trader, quantity="120")
    report(child, ReportKind.REPLACED)
    replace(trade, desk.trader, limit_price="10.05")
    report(child, ReportKind.REPLACED)
    assert venue is not None
    assert venue.replaced == [
        (child.cl_ord_id, D("120"), None),
        (child.cl_ord_id, D("120"), D("10.05")),
    ]
    assert child_rows(trade) == [("XA", D("120"), D("10.05"), "day", "new", D("0"))]
    return trade


def two_replaces_in_a_row_simulated(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    trade = _resting_buy(desk)
    replace(trade, desk.trader, quantity="120")
    replace(trade, desk.trader, limit_price="10.05")  # now marketable: fills at the offer
    return trade


# --- time in force ----------------------------------------------------------------------------


def ioc_partial_fill(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="60", last="10.00")
    return desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="ioc")


def ioc_partial_fill_directed(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="60", last="10.00")
    return desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        time_in_force="ioc",
        venue=desk.venue,
    )


def fok_cannot_fill(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="60", last="10.00")
    return desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="fok")


def fok_cannot_fill_directed(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="60", last="10.00")
    return desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        time_in_force="fok",
        venue=desk.venue,
    )


def fok_fills_completely(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="100", last="10.00")
    return desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="fok")


def market_order_without_liquidity(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask=None, ask_size="0", last="10.00")
    return desk.order(quantity="100", order_type="market")


def market_order_partly_filled(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="70", last="10.00")
    return desk.order(quantity="100", order_type="market")


def opg_fills_in_the_opening_auction(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="opg")
    desk.quote(bid="9.95", bid_size="500", ask="9.90", ask_size="500", last="9.90")
    assert child_rows(trade) == [("XA", D("100"), D("10"), "opg", "new", D("0"))]
    session(desk.venue, "open", "9.98")
    return trade


def atc_outside_its_limit_is_canceled(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="atc")
    session(desk.venue, "close", "10.10")
    return trade


# --- stops ------------------------------------------------------------------------------------


def _tick(desk: Desk, last: str) -> None:
    """A quote around ``last`` with size on both sides (the stop then has liquidity)."""
    px = D(last)
    desk.quote(
        bid=str(px - D("0.01")),
        bid_size="1000",
        ask=str(px + D("0.01")),
        ask_size="1000",
        last=last,
    )


def buy_stop_triggers(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    _tick(desk, "10.00")
    trade = desk.order(quantity="100", order_type="stop", stop_price="10.50")
    _tick(desk, "10.49")
    assert child_rows(trade) == []
    _tick(desk, "10.50")  # at the stop: becomes a market order, buys at the offer
    return trade


def sell_stop_triggers(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    _tick(desk, "10.00")
    trade = desk.order(side="sell", quantity="100", order_type="stop", stop_price="9.50")
    _tick(desk, "9.51")
    assert child_rows(trade) == []
    _tick(desk, "9.40")  # through the stop: sells at the bid
    return trade


def stop_limit_triggers_and_rests(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    _tick(desk, "10.00")
    trade = desk.order(
        quantity="100", order_type="stop_limit", stop_price="10.50", limit_price="10.55"
    )
    desk.quote(bid="10.60", bid_size="1000", ask="10.70", ask_size="1000", last="10.65")
    assert child_rows(trade) == [("XA", D("100"), D("10.55"), "day", "new", D("0"))]
    desk.quote(bid="10.50", bid_size="1000", ask="10.55", ask_size="40", last="10.55")
    return trade


def sell_trailing_stop_triggers(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    _tick(desk, "10.00")
    trade = desk.order(side="sell", quantity="100", order_type="trailing_stop", trail_amount="0.50")
    _tick(desk, "10.40")  # favourable: the stop follows to 9.90
    _tick(desk, "10.20")  # unfavourable: the stop stays at 9.90
    _tick(desk, "9.91")
    assert (trade_of(trade).trail_watermark, child_rows(trade)) == (D("10.40"), [])
    _tick(desk, "9.90")
    return trade


def buy_trailing_percent_triggers(desk: Desk, venue: ManualVenue | None) -> TradeOrder:
    _tick(desk, "10.00")
    trade = desk.order(quantity="100", order_type="trailing_stop", trail_percent="5")
    _tick(desk, "9.00")  # favourable for a buy: the stop follows down to 9.45
    _tick(desk, "9.20")
    _tick(desk, "9.44")
    assert (trade_of(trade).trail_watermark, child_rows(trade)) == (D("9.00"), [])
    _tick(desk, "9.45")
    return trade


NEW = ("New", "New", "100", "0", "100", "0", "0")

SCENARIOS = {
    "filled_in_two_partials_scripted": Scenario(
        filled_in_two_partials_scripted,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10"),
            ("Trade", "Filled", "100", "100", "0", "60", "9.994"),
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "filled_in_two_partials_simulated": Scenario(
        filled_in_two_partials_simulated,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10"),
            ("Trade", "Filled", "100", "100", "0", "60", "10"),
        ),
        "completed",
        "Filled",
    ),
    "day_order_expires_at_close": Scenario(
        day_order_expires_at_close,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("Expired", "Expired", "100", "30", "0", "0", "10"),
        ),
        "expired",
        "Expired",
    ),
    "day_order_expired_by_venue": Scenario(
        day_order_expired_by_venue,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("Expired", "Expired", "100", "30", "0", "0", "10"),
        ),
        "expired",
        "Expired",
        manual=True,
    ),
    "gtc_survives_the_close": Scenario(
        gtc_survives_the_close,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("DoneForDay", "DoneForDay", "100", "30", "70", "0", "10"),
            ("Restated", "PartiallyFilled", "100", "30", "70", "0", "10"),
            ("Trade", "Filled", "100", "100", "0", "70", "10"),
        ),
        "completed",
        "Filled",
    ),
    "gtc_partially_filled_restated_and_partially_filled_next_day": Scenario(
        gtc_partially_filled_restated_and_partially_filled_next_day,
        rows(
            ("New", "New", "10000", "0", "10000", "0", "0"),
            ("Trade", "PartiallyFilled", "10000", "2000", "8000", "2000", "10"),
            ("DoneForDay", "DoneForDay", "10000", "2000", "8000", "0", "10"),
            ("Restated", "PartiallyFilled", "10000", "2000", "8000", "0", "10"),
            ("Trade", "PartiallyFilled", "10000", "3000", "7000", "1000", "10"),
        ),
        "partial",
        "PartiallyFilled",
    ),
    "gtc_partially_filled_restated_and_partially_filled_next_day_scripted": Scenario(
        gtc_partially_filled_restated_and_partially_filled_next_day_scripted,
        rows(
            ("New", "New", "10000", "0", "10000", "0", "0"),
            ("Trade", "PartiallyFilled", "10000", "2000", "8000", "2000", "10"),
            ("DoneForDay", "DoneForDay", "10000", "2000", "8000", "0", "10"),
            ("Restated", "PartiallyFilled", "10000", "2000", "8000", "0", "10"),
            ("Trade", "PartiallyFilled", "10000", "3000", "7000", "1000", "9.99"),
        ),
        "partial",
        "PartiallyFilled",
        manual=True,
    ),
    "gtc_unfilled_restated_as_new": Scenario(
        gtc_unfilled_restated_as_new,
        rows(
            NEW,
            ("DoneForDay", "DoneForDay", "100", "0", "100", "0", "0"),
            ("Restated", "New", "100", "0", "100", "0", "0"),
        ),
        "open",
        "New",
    ),
    "gtc_done_for_day_overnight": Scenario(
        gtc_done_for_day_overnight,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("DoneForDay", "DoneForDay", "100", "30", "70", "0", "10"),
        ),
        "partial",
        "DoneForDay",
    ),
    "cancel_while_done_for_day": Scenario(
        cancel_while_done_for_day,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("DoneForDay", "DoneForDay", "100", "30", "70", "0", "10"),
            ("PendingCancel", "PendingCancel", "100", "30", "70", "0", "10"),
            ("Canceled", "Canceled", "100", "30", "0", "0", "10"),
        ),
        "canceled",
        "Canceled",
    ),
    "replace_while_done_for_day": Scenario(
        replace_while_done_for_day,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"),
            ("DoneForDay", "DoneForDay", "100", "30", "70", "0", "10"),
            ("PendingReplace", "PendingReplace", "100", "30", "70", "0", "10"),
            ("Replaced", "DoneForDay", "150", "30", "120", "0", "10"),
            ("Restated", "PartiallyFilled", "150", "30", "120", "0", "10"),
            ("Trade", "Filled", "150", "150", "0", "120", "10.08"),
        ),
        "completed",
        "Filled",
    ),
    "replace_rejected_while_done_for_day": Scenario(
        replace_rejected_while_done_for_day,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("DoneForDay", "DoneForDay", "100", "20", "80", "0", "10"),
            ("PendingReplace", "PendingReplace", "100", "20", "80", "0", "10"),
        ),
        "partial",
        "DoneForDay",
        manual=True,
    ),
    "cancel_new_order_simulated": Scenario(
        cancel_new_order_simulated,
        rows(
            NEW,
            ("PendingCancel", "PendingCancel", "100", "0", "100", "0", "0"),
            ("Canceled", "Canceled", "100", "0", "0", "0", "0"),
        ),
        "canceled",
        "Canceled",
    ),
    "cancel_new_order_scripted": Scenario(
        cancel_new_order_scripted,
        rows(
            NEW,
            ("PendingCancel", "PendingCancel", "100", "0", "100", "0", "0"),
            ("Canceled", "Canceled", "100", "0", "0", "0", "0"),
        ),
        "canceled",
        "Canceled",
        manual=True,
    ),
    "cancel_before_acknowledgement": Scenario(
        cancel_before_acknowledgement,
        rows(
            ("PendingCancel", "PendingCancel", "100", "0", "100", "0", "0"),
            ("New", "PendingCancel", "100", "0", "100", "0", "0"),
            ("Canceled", "Canceled", "100", "0", "0", "0", "0"),
        ),
        "canceled",
        "Canceled",
        manual=True,
    ),
    "held_then_released": Scenario(
        held_then_released,
        rows(NEW, ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10")),
        "partial",
        "PartiallyFilled",
    ),
    "rejected_by_the_venue": Scenario(
        rejected_by_the_venue,
        rows(("Rejected", "Rejected", "100", "0", "0", "0", "0")),
        "rejected",
        "Rejected",
        manual=True,
    ),
    "gtd_expires_at_its_time": Scenario(
        gtd_expires_at_its_time,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "10", "90", "10", "10"),
            ("Expired", "Expired", "100", "10", "0", "0", "10"),
        ),
        "expired",
        "Expired",
    ),
    "fill_while_cancel_pending": Scenario(
        fill_while_cancel_pending,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("PendingCancel", "PendingCancel", "100", "20", "80", "0", "10"),
            ("Trade", "PendingCancel", "100", "50", "50", "30", "10.012"),
            ("Canceled", "Canceled", "100", "50", "0", "0", "10.012"),
        ),
        "canceled",
        "Canceled",
        manual=True,
    ),
    "fill_completes_while_cancel_pending": Scenario(
        fill_completes_while_cancel_pending,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("PendingCancel", "PendingCancel", "100", "20", "80", "0", "10"),
            ("Trade", "PendingCancel", "100", "100", "0", "80", "10"),
            # the venue's cancel reject is a Cancel Reject (35=9), not an execution report
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "increase_while_partially_filled": Scenario(
        increase_while_partially_filled,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("PendingReplace", "PendingReplace", "100", "20", "80", "0", "10"),
            ("Trade", "PendingReplace", "100", "50", "50", "30", "10"),
            ("Replaced", "PartiallyFilled", "150", "50", "100", "0", "10"),
            ("Trade", "Filled", "150", "150", "0", "100", "9.98"),
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "decrease_above_cum": Scenario(
        decrease_above_cum,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("PendingReplace", "PendingReplace", "100", "20", "80", "0", "10"),
            ("Replaced", "PartiallyFilled", "60", "20", "40", "0", "10"),
        ),
        "partial",
        "PartiallyFilled",
        manual=True,
    ),
    "decrease_to_cum": Scenario(
        decrease_to_cum,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("Replaced", "Filled", "20", "20", "0", "0", "10"),
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "decrease_below_cum": Scenario(
        decrease_below_cum,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("Replaced", "Filled", "20", "20", "0", "0", "10"),
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "decrease_overtaken_by_fill": Scenario(
        decrease_overtaken_by_fill,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10"),
            ("PendingReplace", "PendingReplace", "100", "20", "80", "0", "10"),
            ("Trade", "PendingReplace", "100", "50", "50", "30", "10"),
            ("Replaced", "Filled", "50", "50", "0", "0", "10"),
        ),
        "completed",
        "Filled",
        manual=True,
    ),
    "two_replaces_in_a_row": Scenario(
        two_replaces_in_a_row,
        rows(
            NEW,
            ("PendingReplace", "PendingReplace", "100", "0", "100", "0", "0"),
            ("Replaced", "New", "120", "0", "120", "0", "0"),
            ("PendingReplace", "PendingReplace", "120", "0", "120", "0", "0"),
            ("Replaced", "New", "120", "0", "120", "0", "0"),
        ),
        "open",
        "New",
        manual=True,
    ),
    "two_replaces_in_a_row_simulated": Scenario(
        two_replaces_in_a_row_simulated,
        rows(
            NEW,
            ("PendingReplace", "PendingReplace", "100", "0", "100", "0", "0"),
            ("Replaced", "New", "120", "0", "120", "0", "0"),
            ("PendingReplace", "PendingReplace", "120", "0", "120", "0", "0"),
            ("Replaced", "New", "120", "0", "120", "0", "0"),
            ("Trade", "Filled", "120", "120", "0", "120", "10.05"),
        ),
        "completed",
        "Filled",
    ),
    "ioc_partial_fill": Scenario(
        ioc_partial_fill,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "60", "40", "60", "10"),
            ("Canceled", "Canceled", "100", "60", "0", "0", "10"),
        ),
        "canceled",
        "Canceled",
    ),
    "ioc_partial_fill_directed": Scenario(
        ioc_partial_fill_directed,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "60", "40", "60", "10"),
            ("Canceled", "Canceled", "100", "60", "0", "0", "10"),
        ),
        "canceled",
        "Canceled",
    ),
    "fok_cannot_fill": Scenario(
        fok_cannot_fill,
        rows(("Canceled", "Canceled", "100", "0", "0", "0", "0")),
        "canceled",
        "Canceled",
    ),
    "fok_cannot_fill_directed": Scenario(
        fok_cannot_fill_directed,
        rows(NEW, ("Canceled", "Canceled", "100", "0", "0", "0", "0")),
        "canceled",
        "Canceled",
    ),
    "fok_fills_completely": Scenario(
        fok_fills_completely,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "10")),
        "completed",
        "Filled",
    ),
    "market_order_without_liquidity": Scenario(
        market_order_without_liquidity,
        rows(("Rejected", "Rejected", "100", "0", "0", "0", "0")),
        "rejected",
        "Rejected",
    ),
    "market_order_partly_filled": Scenario(
        market_order_partly_filled,
        rows(
            NEW,
            ("Trade", "PartiallyFilled", "100", "70", "30", "70", "10"),
            ("Canceled", "Canceled", "100", "70", "0", "0", "10"),
        ),
        "canceled",
        "Canceled",
    ),
    "opg_fills_in_the_opening_auction": Scenario(
        opg_fills_in_the_opening_auction,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "9.98")),
        "completed",
        "Filled",
    ),
    "atc_outside_its_limit_is_canceled": Scenario(
        atc_outside_its_limit_is_canceled,
        rows(NEW, ("Canceled", "Canceled", "100", "0", "0", "0", "0")),
        "canceled",
        "Canceled",
    ),
    "buy_stop_triggers": Scenario(
        buy_stop_triggers,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "10.51")),
        "completed",
        "Filled",
    ),
    "sell_stop_triggers": Scenario(
        sell_stop_triggers,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "9.39")),
        "completed",
        "Filled",
    ),
    "stop_limit_triggers_and_rests": Scenario(
        stop_limit_triggers_and_rests,
        rows(NEW, ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10.55")),
        "partial",
        "PartiallyFilled",
    ),
    "sell_trailing_stop_triggers": Scenario(
        sell_trailing_stop_triggers,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "9.89")),
        "completed",
        "Filled",
    ),
    "buy_trailing_percent_triggers": Scenario(
        buy_trailing_percent_triggers,
        rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "9.46")),
        "completed",
        "Filled",
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fix_scenario_reports(desk, monkeypatch, name):
    # given a desk, with the venue scripted by the test where timing matters
    scenario = SCENARIOS[name]
    venue = manual_venue_install(monkeypatch) if scenario.manual else None
    # when the scenario plays out
    trade = scenario.drive(desk, venue)
    # then the client received exactly these execution reports, and the order agrees
    assert fix_rows(trade) == scenario.reports
    fresh = trade_of(trade)
    assert (fresh.order.status, fresh.ord_status.label) == (scenario.status, scenario.ord_status)
    last = scenario.reports[-1]
    assert (fresh.quantity, fresh.cum_qty, fresh.leaves_qty, fresh.avg_px) == (
        last[2],
        last[3],
        last[4],
        last[6],
    )
    assert_invariants(trade)


# --- what the scenarios leave behind beyond the reports ----------------------------------------


def test_fill_completing_while_cancel_pending_is_cleared_by_the_cancel_reject(desk, monkeypatch):
    venue = manual_venue_install(monkeypatch)
    trade = fill_completes_while_cancel_pending(desk, venue)
    fresh = trade_of(trade)
    assert (fresh.pending, fresh.ord_status.label) == ("", "Filled")
    assert event_kinds(trade.order)[-3:] == ["cancel_requested", "completed", "cancel_rejected"]
    assert OrderEvent.objects.for_tenant(desk.tenant).get(
        order=trade.order, kind="cancel_rejected"
    ).reason == ("Too late to cancel.")


def test_fok_that_cannot_fill_leaves_no_fill_and_the_liquidity_untouched(desk):
    trade = fok_cannot_fill_directed(desk, None)
    assert Execution.objects.for_tenant(desk.tenant).filter(order=trade).count() == 0
    assert Quote.objects.for_tenant(desk.tenant).get().ask_size == D("60")
    assert child_rows(trade) == [("XA", D("100"), D("10"), "fok", "canceled", D("0"))]


def test_smart_fok_is_killed_before_reaching_a_venue(desk):
    trade = fok_cannot_fill(desk, None)
    assert child_rows(trade) == []
    assert trade_of(trade).order.status_reason == "Fill or kill: 60.000000 available of 100.000000."


def test_ioc_sweep_residual_is_canceled_although_no_venue_had_it(desk):
    trade = ioc_partial_fill(desk, None)
    # the only child took the displayed 60 and filled; the 40 never went to a venue
    assert child_rows(trade) == [("XA", D("60"), D("10"), "ioc", "filled", D("60"))]
    assert trade_of(trade).order.status_reason == "Remainder not executed."


def test_day_order_expires_but_gtc_order_is_done_for_day_at_the_same_close(desk):
    day = _resting_buy(desk)
    gtc = desk.order(quantity="50", order_type="limit", limit_price="9.90", time_in_force="gtc")
    session(desk.venue, "close", "10.02")
    assert (trade_of(day).order.status, trade_of(gtc).order.status) == ("expired", "open")
    assert (trade_of(day).ord_status.label, trade_of(gtc).ord_status.label) == (
        "Expired",
        "DoneForDay",
    )
    assert fix_rows(gtc) == rows(
        ("New", "New", "50", "0", "50", "0", "0"),
        ("DoneForDay", "DoneForDay", "50", "0", "50", "0", "0"),
    )


# --- a cancel that arrives too late ------------------------------------------------------------


def _filled(desk: Desk) -> TradeOrder:
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="500", last="10.00")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00")
    assert trade_of(trade).order.status == "completed"
    return trade


def test_cancel_of_a_filled_order_is_refused_and_changes_nothing(desk):
    # given an order the venue filled
    trade = _filled(desk)
    before = trade_snapshot(trade)
    # when the trader cancels it
    with pytest.raises(TransitionNotAllowed) as refused:
        cancel(trade, desk.trader)
    # then the refusal says why, and the order is untouched
    assert refused.value.as_dict() == {
        "code": "transition_not_allowed",
        "detail": "Too late to cancel: the order is filled.",
        "ord_status": "Filled",
    }
    assert trade_snapshot(trade) == before


def test_cancel_of_a_filled_order_over_the_api_answers_409_with_the_reason(desk):
    trade = _filled(desk)
    before = trade_snapshot(trade)
    response = client_for(desk.trader).post(
        f"/api/v1/orders/{trade.pk}/cancel/", {"reason": "oops"}, format="json"
    )
    assert (response.status_code, response.json()) == (
        409,
        {
            "code": "transition_not_allowed",
            "detail": "Too late to cancel: the order is filled.",
            "ord_status": "Filled",
        },
    )
    assert trade_snapshot(trade) == before


def test_a_second_replace_while_one_is_pending_is_refused(desk, monkeypatch):
    manual_venue_install(monkeypatch)
    trade = _directed_buy(desk)
    replace(trade, desk.trader, quantity="120")
    before = trade_snapshot(trade)
    with pytest.raises(TransitionNotAllowed) as refused:
        replace(trade, desk.trader, quantity="130")
    assert refused.value.as_dict() == {
        "code": "transition_not_allowed",
        "detail": "A pending replace is already in progress.",
        "ord_status": "PendingReplace",
    }
    assert trade_snapshot(trade) == before


def test_a_replace_the_venue_rejects_leaves_the_order_as_it_was(desk, monkeypatch):
    manual_venue_install(monkeypatch)
    trade = _directed_buy(desk)
    replace(trade, desk.trader, quantity="120")
    report(children(trade)[0], ReportKind.REPLACE_REJECTED, text="Unknown order.")
    fresh = trade_of(trade)
    assert (fresh.quantity, fresh.leaves_qty, fresh.pending, fresh.ord_status.label) == (
        D("100"),
        D("100"),
        "",
        "New",
    )
    assert event_kinds(trade.order)[-1] == "replace_rejected"


def test_a_fill_after_the_order_was_canceled_is_refused(desk, monkeypatch):
    manual_venue_install(monkeypatch)
    trade = _directed_buy(desk)
    child = children(trade)[0]
    cancel(trade, desk.trader)
    report(child, ReportKind.CANCELED)
    before = trade_snapshot(trade)
    fill(child, "10", "10.00")
    assert trade_snapshot(trade) == before
    assert Execution.objects.for_tenant(desk.tenant).count() == 0


def test_avg_px_is_rounded_half_even_to_eight_places(desk, monkeypatch):
    manual_venue_install(monkeypatch)
    trade = _directed_buy(desk)
    child = children(trade)[0]
    for px in ("10.00", "10.01", "10.01"):
        fill(child, "1", px)
    assert trade_of(trade).avg_px == Decimal("10.00666667")
    assert_invariants(trade)


# --- stops: where they trigger ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "stop", "last", "triggers"),
    [
        ("buy", "10.50", "10.49", False),
        ("buy", "10.50", "10.50", True),  # at the stop
        ("buy", "10.50", "10.60", True),  # above it
        ("sell", "9.50", "9.51", False),
        ("sell", "9.50", "9.50", True),  # at the stop
        ("sell", "9.50", "9.40", True),  # below it
    ],
)
def test_stop_triggers_on_the_last_price_at_or_through_the_stop(desk, side, stop, last, triggers):
    _tick(desk, "10.00")
    trade = desk.order(side=side, quantity="100", order_type="stop", stop_price=stop)
    _tick(desk, last)
    fresh = trade_of(trade)
    assert (fresh.triggered, fresh.order.status) == (
        triggers,
        "completed" if triggers else "open",
    )


def test_trailing_stop_starts_from_the_last_price_at_entry(desk):
    # given the market last traded at 10.00 when a sell trailing 0.50 is entered
    _tick(desk, "10.00")
    trade = desk.order(side="sell", quantity="100", order_type="trailing_stop", trail_amount="0.50")
    assert trade_of(trade).trail_watermark == D("10.00")
    # when the next trade is 0.50 lower, it triggers (it would not if the trail began there)
    _tick(desk, "9.50")
    assert trade_of(trade).order.status == "completed"


def test_a_stop_that_has_not_triggered_is_canceled_at_once(desk):
    _tick(desk, "10.00")
    trade = desk.order(quantity="100", order_type="stop", stop_price="10.50")
    cancel(trade, desk.trader)
    assert fix_rows(trade) == rows(NEW, ("Canceled", "Canceled", "100", "0", "0", "0", "0"))
    _tick(desk, "10.60")  # a canceled stop never triggers
    assert (trade_of(trade).triggered, child_rows(trade)) == (False, [])


def test_a_replace_of_a_swept_order_cancels_the_sweep_children_and_replaces_the_residual(
    desk, monkeypatch
):
    # given a smart buy 100 @ 10.00 that swept 40 at XA's 9.99 and rests 60 there (the venue
    # has not answered either child yet)
    manual = manual_venue_install(monkeypatch)
    desk.quote(bid="9.90", bid_size="100", ask="9.99", ask_size="40", last="9.99")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00")
    sweep, resting = children(trade)
    assert [(c.quantity, c.state) for c in (sweep, resting)] == [
        (D("40"), "pending_new"),
        (D("60"), "pending_new"),
    ]
    report(sweep, ACK)
    report(resting, ACK)
    # when the trader replaces it to 120 @ 10.01
    replace(trade, desk.trader, quantity="120", limit_price="10.01")
    # then the sweep child is canceled and the residual alone works the new leaves
    assert manual.canceled == [sweep.cl_ord_id]
    assert manual.replaced == [(resting.cl_ord_id, D("120"), D("10.01"))]
    # and when the venue confirms both, the order is replaced with one child working 120
    report(sweep, ReportKind.CANCELED)
    report(resting, ReportKind.REPLACED)
    fresh = trade_of(trade)
    assert (fresh.quantity, fresh.leaves_qty, fresh.limit_price, fresh.ord_status.label) == (
        D("120"),
        D("120"),
        D("10.01"),
        "New",
    )
    assert [(c.quantity, c.state) for c in children(fresh)] == [
        (D("40"), "canceled"),
        (D("120"), "new"),
    ]
    assert_invariants(fresh)
