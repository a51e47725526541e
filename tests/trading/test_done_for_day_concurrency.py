"""Done for day racing on PostgreSQL (real threads, each on its own connection): the children
of one order reported done for the day, or restated, at the same moment, and a trader's
cancel racing the close. The parent's lock serializes them: the order reports DoneForDay once
and Restated once, never zero or two times."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.orders.helpers import run_in_threads
from tests.trading.helpers import (
    D,
    Desk,
    assert_invariants,
    cancel,
    children,
    desk_create,
    fix_rows,
    manual_venue_install,
    report,
    rows,
    trade_of,
)
from trading.models import TradeOrder
from trading.venues.base import ReportKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()
NEW = ("New", "New", "100", "0", "100", "0", "0")
DONE = ("DoneForDay", "DoneForDay", "100", "0", "100", "0", "0")


@pytest.fixture
def desk(tenant, trader, monkeypatch) -> Desk:
    manual_venue_install(monkeypatch)
    return desk_create(tenant, trader)


def _swept(desk: Desk) -> TradeOrder:
    """A smart GTC buy 100 @ 10.00 split into a 40 sweep and a 60 residual, both acknowledged
    by the (scripted) venue."""
    desk.quote(bid="9.90", bid_size="100", ask="9.99", ask_size="40", last="9.99")
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", time_in_force="gtc")
    for child in children(trade):
        report(child, ReportKind.ACK)
    assert [(c.quantity, c.state) for c in children(trade)] == [
        (D("40"), "new"),
        (D("60"), "new"),
    ]
    return trade


def test_two_children_done_for_day_at_once_make_the_order_done_once(desk):
    trade = _swept(desk)
    kids = children(trade)
    results = run_in_threads(2, lambda i: report(kids[i], ReportKind.DONE_FOR_DAY))
    assert results == [None, None]
    assert fix_rows(trade) == rows(NEW, DONE)
    fresh = trade_of(trade)
    assert (fresh.ord_status.label, fresh.pending) == ("DoneForDay", "day")
    assert [c.state for c in children(trade)] == ["done_for_day", "done_for_day"]


def test_two_children_restated_at_once_restate_the_order_once(desk):
    trade = _swept(desk)
    kids = children(trade)
    for child in kids:
        report(child, ReportKind.DONE_FOR_DAY)
    results = run_in_threads(2, lambda i: report(kids[i], ReportKind.RESTATED))
    assert results == [None, None]
    assert fix_rows(trade) == rows(NEW, DONE, ("Restated", "New", "100", "0", "100", "0", "0"))
    fresh = trade_of(trade)
    assert (fresh.ord_status.label, fresh.pending) == ("New", "")
    assert [c.state for c in children(trade)] == ["new", "new"]


def test_a_cancel_racing_the_close_ends_pending_cancel_whichever_runs_first(desk):
    # given a directed GTC order at the venue
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        time_in_force="gtc",
    )
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    trader_pk = desk.trader.pk

    def work(i: int) -> None:
        if i == 0:
            report(child, ReportKind.DONE_FOR_DAY)
        else:
            cancel(trade_of(trade), User.objects.get(pk=trader_pk))

    # when the venue's close and the trader's cancel arrive at once
    assert run_in_threads(2, work) == [None, None]
    # then both applied, in one order or the other; the cancel outranks DoneForDay
    reports = fix_rows(trade)
    pending_cancel = ("PendingCancel", "PendingCancel", "100", "0", "100", "0", "0")
    assert reports in (
        rows(NEW, DONE, pending_cancel),
        rows(NEW, pending_cancel, ("DoneForDay", "PendingCancel", "100", "0", "100", "0", "0")),
    )
    fresh = trade_of(trade)
    assert (fresh.ord_status.label, fresh.pending) == ("PendingCancel", "cancel")
    # and when the venue confirms the cancel, the order is canceled
    report(child, ReportKind.CANCELED)
    assert fix_rows(trade)[-1] == rows(("Canceled", "Canceled", "100", "0", "0", "0", "0"))[0]
    assert_invariants(trade)
