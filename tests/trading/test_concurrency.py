"""Races on PostgreSQL with real threads (each on its own connection, released together by a
barrier): fills racing fills, a fill racing a cancel, one exec id delivered twice, and many
orders filled and canceled at once. The venue is scripted: the threads play it."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from oms_site.errors import TransitionNotAllowed
from tests.orders.helpers import run_in_threads
from tests.trading.factories import VenueFactory
from tests.trading.helpers import (
    D,
    Desk,
    assert_invariants,
    cancel,
    children,
    desk_create,
    fill,
    fix_rows,
    manual_venue_install,
    position_of,
    quotes,
    report,
    rows,
    trade_of,
)
from trading.models import (
    CashBalance,
    Execution,
    ExecutionReport,
    Quote,
    Trade,
    TradeOrder,
    VenueOrder,
)
from trading.models.orders import VENUE_ORDER_LIVE
from trading.venues.base import ReportKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()
NEW = ("New", "New", "100", "0", "100", "0", "0")


@pytest.fixture
def desk(tenant, trader, monkeypatch) -> Desk:
    manual_venue_install(monkeypatch)
    return desk_create(tenant, trader)


def _acked(desk: Desk, client_order_id: str | None = None) -> TradeOrder:
    """Buy 100 @ 10.00 directed to the scripted venue, acknowledged."""
    trade = desk.order(
        quantity="100",
        order_type="limit",
        limit_price="10.00",
        venue=desk.venue,
        client_order_id=client_order_id,
    )
    report(children(trade)[0], ReportKind.ACK)
    return trade


def _fresh_user(pk: int):
    return User.objects.get(pk=pk)  # one user object per thread


def test_two_fills_racing_never_overfill(desk):
    # given an order of 100 at the venue
    trade = _acked(desk)
    child = children(trade)[0]
    # when two fills of 70 arrive at the same moment
    results = run_in_threads(2, lambda i: fill(child, "70", "10.00", exec_id=f"race-{i}"))
    # then one applied and the other, beyond the leaves quantity, was refused
    assert results == [None, None]
    assert fix_rows(trade) == rows(NEW, ("Trade", "PartiallyFilled", "100", "70", "30", "70", "10"))
    assert Execution.objects.for_tenant(desk.tenant).count() == 1
    assert_invariants(trade)


def test_ten_fills_racing_fill_the_order_exactly(desk):
    # given an order of 100 and ten fills of 20 racing: only five fit
    trade = _acked(desk)
    child = children(trade)[0]
    run_in_threads(10, lambda i: fill(child, "20", f"10.0{i}", exec_id=f"race-{i}"))
    fresh = trade_of(trade)
    assert (fresh.order.status, fresh.cum_qty, fresh.leaves_qty) == (
        "completed",
        D("100"),
        D("0"),
    )
    assert Execution.objects.for_tenant(desk.tenant).count() == 5
    cums = list(
        ExecutionReport.objects.for_tenant(desk.tenant)
        .filter(order=trade, exec_type="F")
        .order_by("pk")
        .values_list("cum_qty", flat=True)
    )
    assert cums == [D("20"), D("40"), D("60"), D("80"), D("100")]
    assert_invariants(trade)
    assert position_of(desk.account, desk.instrument).quantity == D("100")


def test_the_same_exec_id_delivered_twice_at_once_is_applied_once(desk):
    trade = _acked(desk)
    child = children(trade)[0]
    results = run_in_threads(4, lambda i: fill(child, "30", "10.00", exec_id="dup-1"))
    assert results == [None] * 4
    assert fix_rows(trade) == rows(NEW, ("Trade", "PartiallyFilled", "100", "30", "70", "30", "10"))
    assert list(Execution.objects.for_tenant(desk.tenant).values_list("exec_id", flat=True)) == [
        "dup-1"
    ]
    assert Trade.objects.for_tenant(desk.tenant).count() == 1
    assert position_of(desk.account, desk.instrument).quantity == D("30")
    assert_invariants(trade)


def test_a_fill_racing_a_cancel_follows_fix_either_way(desk):
    # given an order of 100, 20 filled
    trade = _acked(desk)
    child = children(trade)[0]
    fill(child, "20", "10.00")

    def work(i: int):
        if i == 0:
            return cancel(trade, _fresh_user(desk.trader.pk))
        return fill(child, "30", "10.02", exec_id="race-fill")

    # when a fill and the trader's cancel race, then the venue confirms the cancel
    assert run_in_threads(2, work) == [None, None]
    report(child, ReportKind.CANCELED)
    # then the fill applied, reported PendingCancel if it came after the request
    head = [NEW, ("Trade", "PartiallyFilled", "100", "20", "80", "20", "10")]
    end = ("Canceled", "Canceled", "100", "50", "0", "0", "10.012")
    cancel_first = rows(
        *head,
        ("PendingCancel", "PendingCancel", "100", "20", "80", "0", "10"),
        ("Trade", "PendingCancel", "100", "50", "50", "30", "10.012"),
        end,
    )
    fill_first = rows(
        *head,
        ("Trade", "PartiallyFilled", "100", "50", "50", "30", "10.012"),
        ("PendingCancel", "PendingCancel", "100", "50", "50", "0", "10.012"),
        end,
    )
    assert fix_rows(trade) in (cancel_first, fill_first)
    assert_invariants(trade)


def test_a_completing_fill_racing_a_cancel_ends_filled_either_way(desk):
    trade = _acked(desk)
    child = children(trade)[0]

    def work(i: int):
        if i == 0:
            return cancel(trade, _fresh_user(desk.trader.pk))
        return fill(child, "100", "10.00", exec_id="race-fill")

    results = run_in_threads(2, work)
    cancel_result = results[0]
    if isinstance(cancel_result, TransitionNotAllowed):  # the fill came first: too late
        assert cancel_result.message == "Too late to cancel: the order is filled."
        assert fix_rows(trade) == rows(NEW, ("Trade", "Filled", "100", "100", "0", "100", "10"))
    else:  # the cancel came first: the fill reports PendingCancel until the venue rejects
        assert cancel_result is None
        assert fix_rows(trade) == rows(
            NEW,
            ("PendingCancel", "PendingCancel", "100", "0", "100", "0", "0"),
            ("Trade", "PendingCancel", "100", "100", "0", "100", "10"),
        )
        report(child, ReportKind.CANCEL_REJECTED, text="Too late to cancel.")
    fresh = trade_of(trade)
    assert (fresh.order.status, fresh.ord_status.label, fresh.pending) == (
        "completed",
        "Filled",
        "",
    )
    assert_invariants(trade)


def test_twenty_orders_filled_and_canceled_at_once_stay_consistent(desk):
    # given twenty acknowledged orders of 100 on one account and instrument, and a venue that
    # works each order in sequence (one matching lock per order), as an exchange does
    trades = [_acked(desk, client_order_id=f"o-{n}") for n in range(20)]
    kids = [children(t)[0] for t in trades]
    engine = [threading.Lock() for _ in trades]
    trader_pk = desk.trader.pk

    def venue_fills(n: int) -> None:
        for k in range(5):  # 5 x 25: the fifth never fits
            with engine[n]:
                fill(kids[n], "25", f"10.{n:02d}", exec_id=f"o{n}-f{k}", fee="0.03")

    def trader_cancels(n: int) -> str:
        try:
            cancel(trades[n], _fresh_user(trader_pk))
        except TransitionNotAllowed:
            return "too late"
        with engine[n]:  # the venue confirms, or rejects when it already filled the order
            live = VenueOrder.objects.for_tenant(desk.tenant).get(pk=kids[n].pk).state in (
                VENUE_ORDER_LIVE
            )
            report(kids[n], ReportKind.CANCELED if live else ReportKind.CANCEL_REJECTED)
        return "canceled" if live else "rejected"

    # when the venue's fills and the trader's cancels race on all of them
    results = run_in_threads(40, lambda i: (trader_cancels if i % 2 else venue_fills)(i // 2))
    # then nothing failed, and every order ended consistent: canceled with what filled before,
    # or filled (the cancel too late, or rejected by the venue after a PendingCancel)
    assert [r for r in results if r not in (None, "too late", "canceled", "rejected")] == []
    total = notional = Decimal(0)
    for n, trade in enumerate(trades):
        fresh = trade_of(trade)
        assert_invariants(fresh)
        outcome = results[2 * n + 1]
        expected = "canceled" if outcome == "canceled" else "completed"
        assert (fresh.order.status, fresh.pending) == (expected, "")
        if expected == "completed":
            assert fresh.cum_qty == D("100")
        total += fresh.cum_qty
        notional += fresh.cum_qty * D(f"10.{n:02d}")
    executions = Execution.objects.for_tenant(desk.tenant)
    assert sum((e.last_qty for e in executions), Decimal(0)) == total
    assert position_of(desk.account, desk.instrument).quantity == total
    fees = D("0.03") * executions.count()
    assert CashBalance.objects.for_tenant(desk.tenant).get().amount == -notional - fees
    assert Trade.objects.for_tenant(desk.tenant).count() == executions.count()


def test_quote_batches_in_opposite_orders_do_not_deadlock(desk):
    # given two venues quoting one instrument
    xb = VenueFactory(tenant=desk.tenant, code="XB")
    venues = [desk.venue, xb]

    def feed(i: int) -> None:
        ordered = venues if i % 2 == 0 else venues[::-1]  # the same rows, opposite order
        for k in range(100):
            quotes(
                desk.tenant,
                *(
                    {"venue": v, "instrument": desk.instrument, "bid": f"9.{k:02d}"}
                    for v in ordered
                ),
            )

    # when feeds race with their batches in opposite orders
    results = run_in_threads(4, feed)
    # then every batch went through
    assert results == [None] * 4
    assert Quote.objects.for_tenant(desk.tenant).count() == 2


def test_overlapping_batches_entered_at_once_make_one_order_per_client_id(tenant, trader):
    # given two batches sharing half of their client order ids
    from tests.conftest import client_for
    from tests.trading.order_helpers import BATCH, market, order_body

    market(tenant)
    batches = [
        [order_body(client_order_id=f"ov-{n}") for n in range(40)],
        [order_body(client_order_id=f"ov-{n}") for n in range(20, 60)],
    ]

    def send(i: int):
        return client_for(_fresh_user(trader.pk)).post(BATCH, batches[i], format="json")

    # when both arrive at the same moment
    responses = run_in_threads(2, send)
    # then every id is one order, each answer is 201 (entered) or 200 (the other's order)
    results = [r["status"] for resp in responses for r in resp.json()["results"]]
    assert (len(results), results.count(201), results.count(200)) == (80, 60, 20)
    orders = TradeOrder.objects.for_tenant(tenant).select_related("order")
    assert sorted(t.order.client_order_id for t in orders) == sorted(f"ov-{n}" for n in range(60))
    references = sorted(t.order.reference for t in orders)
    assert references == [f"T-{n:06d}" for n in range(1, 61)]
