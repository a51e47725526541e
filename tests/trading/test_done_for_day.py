"""Done for day and restatement (the FIX Appendix D GTC renewal scenario) beyond the scenario
table: the beat task driving sessions by the venue's clock, orders with several children, the
journal, the requests and venue reports that change nothing, and the admin blotter."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from oms_site.errors import TransitionNotAllowed
from orders.models import OrderEvent
from tests.conftest import admin_client_for, member
from tests.trading.helpers import (
    D,
    Desk,
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
from trading.models import TradeOrder, Venue
from trading.models.orders import fix_ord_status
from trading.services.marketdata import venue_session_event, venue_sessions_tick
from trading.venues.base import ReportKind

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
CHANGELIST = "/admin/trading/tradeorder/"


@pytest.fixture
def desk(tenant, trader) -> Desk:
    return desk_create(tenant, trader)


def tuesday_in_new_york(at: time) -> datetime:
    """A Tuesday at least a week ahead at ``at`` New York time (XA trades 09:30-16:00 there,
    Monday to Friday): ticks at fixed times, whenever the tests run."""
    day = (timezone.now().astimezone(NEW_YORK) + timedelta(days=7)).date()
    day += timedelta(days=(1 - day.weekday()) % 7)
    return datetime.combine(day, at, tzinfo=NEW_YORK)


def tick(desk: Desk, now: datetime) -> list[str]:
    with after_commit():
        return venue_sessions_tick(tenant_id=desk.tenant.pk, now=now)


def resting(desk: Desk, **kwargs) -> TradeOrder:
    """Buy 100 @ 10.00, smart routed, resting at XA (the offer is 10.05)."""
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    return desk.order(quantity="100", order_type="limit", limit_price="10.00", **kwargs)


NEW = ("New", "New", "100", "0", "100", "0", "0")
DONE = ("DoneForDay", "DoneForDay", "100", "0", "100", "0", "0")
RESTATED = ("Restated", "New", "100", "0", "100", "0", "0")
EXPIRED = ("Expired", "Expired", "100", "0", "0", "0", "0")


# --- the beat task: sessions by the venue's clock --------------------------------------------


def test_the_beat_close_expires_day_and_due_gtd_orders_and_the_rest_are_done_for_day(desk):
    # given, a week ahead, orders resting at XA: DAY, GTC, and GTD due at the close, overnight
    # and the next noon
    close = tuesday_in_new_york(time(16, 0))
    opening = close + timedelta(hours=17, minutes=30)  # Wednesday 09:30
    day = resting(desk, time_in_force="day")
    gtc = resting(desk, time_in_force="gtc")
    due_at_close = resting(desk, time_in_force="gtd", expire_at=close)
    due_overnight = resting(desk, time_in_force="gtd", expire_at=close + timedelta(hours=16))
    due_next_noon = resting(desk, time_in_force="gtd", expire_at=close + timedelta(hours=20))
    orders = (day, gtc, due_at_close, due_overnight, due_next_noon)
    # when the beat ticks a second before the close, then at the close
    assert tick(desk, close - timedelta(seconds=1)) == []
    assert [len(fix_rows(o)) for o in orders] == [1, 1, 1, 1, 1]
    assert tick(desk, close) == ["XA:close"]
    # then the DAY order and the GTD due at the close expire; the others are done for the day
    assert [fix_rows(o) for o in orders] == [
        rows(NEW, EXPIRED),
        rows(NEW, DONE),
        rows(NEW, EXPIRED),
        rows(NEW, DONE),
        rows(NEW, DONE),
    ]
    assert [trade_of(o).ord_status.label for o in orders] == [
        "Expired",
        "DoneForDay",
        "Expired",
        "DoneForDay",
        "DoneForDay",
    ]
    # when the beat ticks through the night and at the next open
    assert tick(desk, close + timedelta(hours=8)) == []
    assert tick(desk, opening) == ["XA:open"]
    # then the GTD due overnight expired (not restated); the others are restated, working again
    assert [fix_rows(o) for o in orders[1:]] == [
        rows(NEW, DONE, RESTATED),
        rows(NEW, EXPIRED),
        rows(NEW, DONE, EXPIRED),
        rows(NEW, DONE, RESTATED),
    ]
    assert [trade_of(o).ord_status.label for o in orders[1:]] == [
        "New",
        "Expired",
        "Expired",
        "New",
    ]
    # and a further tick changes nothing
    assert tick(desk, opening + timedelta(minutes=1)) == []
    assert [len(fix_rows(o)) for o in orders] == [2, 3, 2, 3, 3]
    for order in orders:
        assert_invariants(order)


def test_the_beat_restates_before_the_open_trades(desk):
    # given a GTC order done for the day, and overnight an offer at its limit
    close = tuesday_in_new_york(time(16, 0))
    gtc = resting(desk, time_in_force="gtc")
    tick(desk, close)
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="40", last="10.00")
    assert fix_rows(gtc) == rows(NEW, DONE)  # closed: nothing trades
    # when the venue opens
    tick(desk, close + timedelta(hours=17, minutes=30))
    # then the order is restated first, then trades against the offer
    assert fix_rows(gtc) == rows(
        NEW,
        DONE,
        RESTATED,
        ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10"),
    )


def test_a_close_event_expires_the_gtd_orders_due_by_its_time_instead(desk):
    # given GTD orders due a minute before and a minute after a close driven by hand
    close = tuesday_in_new_york(time(16, 0))
    due = resting(desk, time_in_force="gtd", expire_at=close - timedelta(minutes=1))
    later = resting(desk, time_in_force="gtd", expire_at=close + timedelta(minutes=1))
    # when the venue closes at that time
    with after_commit():
        venue_session_event(venue=desk.venue, event="close", price=D("10.02"), now=close)
    # then the one due expires, the other is done for the day
    assert [fix_rows(due), fix_rows(later)] == [rows(NEW, EXPIRED), rows(NEW, DONE)]


def test_a_child_done_for_day_never_trades_before_its_restatement(desk):
    # given a GTC order done for the day, and the venue flagged open (by another process) before
    # its opening restatements ran
    gtc = resting(desk, time_in_force="gtc")
    session(desk.venue, "close", "10.02")
    Venue.objects.for_tenant(desk.tenant).filter(pk=desk.venue.pk).update(session_is_open=True)
    # when an offer at its limit arrives, and a replace is confirmed, in that window
    desk.quote(bid="9.95", bid_size="500", ask="10.00", ask_size="40", last="10.00")
    replace(trade_of(gtc), desk.trader, limit_price="10.01")
    # then nothing trades
    assert fix_rows(gtc) == rows(
        NEW,
        DONE,
        ("PendingReplace", "PendingReplace", "100", "0", "100", "0", "0"),
        ("Replaced", "DoneForDay", "100", "0", "100", "0", "0"),
    )
    # and once the open restates it, it trades (at its new limit: it rested)
    session(desk.venue, "open", "10.03")
    assert fix_rows(gtc)[4:] == rows(
        RESTATED,
        ("Trade", "PartiallyFilled", "100", "40", "60", "40", "10.01"),
    )


# --- what is not at a venue, or not working there, is never done for the day ------------------


def test_orders_not_working_at_the_venue_are_not_done_for_day(desk):
    # given a GTC stop waiting at the OMS and an at-the-open order waiting for its auction
    desk.quote(bid="9.95", bid_size="500", ask="10.05", ask_size="500", last="10.00")
    stop = desk.order(quantity="100", order_type="stop", stop_price="10.50", time_in_force="gtc")
    opg = desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="opg")
    # when the venue closes
    session(desk.venue, "close", "10.02")
    # then both stay New, with no report
    assert [fix_rows(stop), fix_rows(opg)] == [rows(NEW), rows(NEW)]
    assert [trade_of(stop).ord_status.label, trade_of(opg).ord_status.label] == ["New", "New"]


# --- an order with several children ------------------------------------------------------------


def _swept(desk: Desk, monkeypatch) -> tuple[TradeOrder, list]:
    """A smart GTC buy 100 @ 10.00 split into a 40 sweep and a 60 residual at XA, both
    acknowledged by the (scripted) venue."""
    manual_venue_install(monkeypatch)
    desk.quote(bid="9.90", bid_size="100", ask="9.99", ask_size="40", last="9.99")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="gtc")
    kids = children(trade)
    assert [(c.quantity, c.state) for c in kids] == [
        (D("40"), "pending_new"),
        (D("60"), "pending_new"),
    ]
    for child in kids:
        report(child, ReportKind.ACK)
    return trade, kids


def test_an_order_is_done_for_day_only_when_every_child_is(desk, monkeypatch):
    trade, (sweep, residual) = _swept(desk, monkeypatch)
    # when one child is done for the day, the order still works
    report(residual, ReportKind.DONE_FOR_DAY)
    assert (fix_rows(trade), trade_of(trade).ord_status.label) == (rows(NEW), "New")
    # when the other is too, the order is done for the day, once
    report(sweep, ReportKind.DONE_FOR_DAY)
    report(sweep, ReportKind.DONE_FOR_DAY)
    assert (fix_rows(trade), trade_of(trade).ord_status.label) == (rows(NEW, DONE), "DoneForDay")
    # when the first child is restated, the order is restated, once; the second changes nothing
    report(residual, ReportKind.RESTATED)
    report(sweep, ReportKind.RESTATED)
    report(sweep, ReportKind.RESTATED)
    assert (fix_rows(trade), trade_of(trade).ord_status.label) == (
        rows(NEW, DONE, RESTATED),
        "New",
    )
    assert [c.state for c in children(trade)] == ["new", "new"]


def test_a_child_ending_while_the_others_are_done_for_day_makes_the_order_done(desk, monkeypatch):
    trade, (sweep, residual) = _swept(desk, monkeypatch)
    report(residual, ReportKind.DONE_FOR_DAY)
    report(sweep, ReportKind.CANCELED, text="Not executed.")
    assert fix_rows(trade) == rows(NEW, DONE)
    assert [c.state for c in children(trade)] == ["canceled", "done_for_day"]
    fresh = trade_of(trade)
    assert (fresh.order.status, fresh.ord_status.label, fresh.pending) == (
        "open",
        "DoneForDay",
        "day",
    )


def test_a_fill_on_a_child_done_for_day_makes_the_order_work_again(desk, monkeypatch):
    # given a directed GTC order done for the day
    manual_venue_install(monkeypatch)
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        time_in_force="gtc",
    )
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    report(child, ReportKind.DONE_FOR_DAY)
    # when the venue fills it without restating it first
    fill(child, "30", "10.00")
    # then the trade report carries the working status, and the flag is gone
    assert fix_rows(trade) == rows(
        NEW, DONE, ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10")
    )
    fresh = trade_of(trade)
    assert (fresh.ord_status.label, fresh.pending, child_rows(trade)[0][4]) == (
        "PartiallyFilled",
        "",
        "partially_filled",
    )
    # and a late restatement of a working child reports nothing
    report(child, ReportKind.RESTATED)
    assert len(fix_rows(trade)) == 3
    assert_invariants(trade)


# --- reports and requests that change nothing -----------------------------------------------------


@pytest.mark.parametrize("kind", [ReportKind.DONE_FOR_DAY, ReportKind.RESTATED])
def test_a_done_for_day_or_restated_report_on_an_ended_child_changes_nothing(
    desk, monkeypatch, kind
):
    manual_venue_install(monkeypatch)
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        time_in_force="gtc",
    )
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    fill(child, "100", "10.00")
    before = trade_snapshot(trade)
    report(child, kind)
    assert trade_snapshot(trade) == before


def test_a_restated_report_for_a_working_child_changes_nothing(desk, monkeypatch):
    manual_venue_install(monkeypatch)
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        time_in_force="gtc",
    )
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    before = trade_snapshot(trade)
    report(child, ReportKind.RESTATED)
    assert trade_snapshot(trade) == before


def test_a_second_request_while_a_cancel_of_a_done_for_day_order_is_pending_is_refused(
    desk, monkeypatch
):
    # given a directed GTC order done for the day, its cancel sent and not yet answered
    manual_venue_install(monkeypatch)
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        time_in_force="gtc",
    )
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    report(child, ReportKind.DONE_FOR_DAY)
    cancel(trade, desk.trader)
    before = trade_snapshot(trade)
    # when the trader asks to replace it
    with pytest.raises(TransitionNotAllowed) as refused:
        replace(trade, desk.trader, quantity="120")
    # then the refusal names the pending cancel, and nothing changed
    assert refused.value.as_dict() == {
        "code": "transition_not_allowed",
        "detail": "A pending cancel is already in progress.",
        "ord_status": "PendingCancel",
    }
    assert trade_snapshot(trade) == before


@pytest.mark.parametrize(
    ("status", "pending", "expected"),
    [
        ("open", "day", "DoneForDay"),
        ("partial", "day", "DoneForDay"),
        ("open", "cancel", "PendingCancel"),  # 12 outranks 10
        ("partial", "replace", "PendingReplace"),  # 11 outranks 10
        ("open", "", "New"),
        ("partial", "", "PartiallyFilled"),
        ("expired", "day", "Expired"),  # never left set on an ended order; ended wins anyway
    ],
)
def test_ord_status_precedence_with_done_for_day(status, pending, expected):
    assert fix_ord_status(status, pending).label == expected


# --- the journal ------------------------------------------------------------------------------


def test_done_for_day_and_restatement_are_journaled(desk):
    gtc = resting(desk, time_in_force="gtc")
    session(desk.venue, "close", "10.02")
    session(desk.venue, "open", "10.03")
    notes = list(
        OrderEvent.objects.for_tenant(desk.tenant)
        .filter(order_id=gtc.pk, kind="note")
        .order_by("pk")
        .values_list("reason", "data", "actor_id")
    )
    assert notes == [
        ("Done for day: the session closed.", {"exec_type": "DoneForDay"}, None),
        (
            "Restated at the open (GT renewal): working again.",
            {"exec_type": "Restated", "exec_restatement_reason": 1},
            None,
        ),
    ]


def test_the_restated_report_names_the_restatement_reason(desk):
    gtc = resting(desk, time_in_force="gtc")
    session(desk.venue, "close", "10.02")
    session(desk.venue, "open", "10.03")
    texts = [r.text for r in trade_of(gtc).reports.order_by("pk")]
    assert texts == [
        "",
        "Done for day: the session closed.",
        "ExecRestatementReason 1: GT renewal/restatement (no change).",
    ]


# --- the admin blotter ------------------------------------------------------------------------


def test_the_blotter_shows_done_for_day_and_still_offers_cancel_and_replace(desk):
    gtc = resting(desk, time_in_force="gtc")
    session(desk.venue, "close", "10.02")
    client = admin_client_for(member(desk.tenant, "trader", username="alpha.desk"))
    listing = client.get(CHANGELIST, {"blotter": "open"})
    assert listing.status_code == 200
    assert [(t.order.reference, t.ord_status.label) for t in listing.context["cl"].result_list] == [
        (gtc.order.reference, "DoneForDay")
    ]
    assert '<td class="field-ord_status_label">DoneForDay</td>' in listing.content.decode()
    page = client.get(f"{CHANGELIST}{gtc.pk}/change/")
    assert page.status_code == 200
    assert page.context["may_work"] is True
