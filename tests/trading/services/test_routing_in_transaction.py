"""A lone child bound for a venue that answers in process (the simulator) is sent in the
routing transaction, its reports applied to the rows in hand; a sweep's children, and any
child of an outside venue, are sent by their own tasks. Reports applied in hand write each
row once, yet what a fill listener or a later query reads is up to date."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.trading.factories import VenueFactory
from tests.trading.helpers import (
    D,
    after_commit,
    assert_invariants,
    child_rows,
    desk_create,
    fix_rows,
    rows,
    trade_of,
)
from trading import fill_listeners, tasks
from trading.models import Execution, TradeOrder, VenueOrder
from trading.services.entry import TradeOrderInput, trade_order_submit
from trading.services.routing import order_route
from trading.venues.simulated import SimulatedVenue

pytestmark = pytest.mark.django_db

FILLED = rows(
    ("New", "New", "100", "0", "100", "0", "0"),
    ("Trade", "Filled", "100", "100", "0", "100", "10.05"),
)


@pytest.fixture
def desk(tenant, trader):
    return desk_create(tenant, trader)


@pytest.fixture
def sends(monkeypatch) -> list[dict[str, Any]]:
    """The venue_order_send tasks published after commit (recorded, not run)."""
    published: list[dict[str, Any]] = []

    def publish(task: Any, kwargs: dict[str, Any], **options: Any) -> None:
        assert task.name == "trading.tasks.venue_order_send"
        published.append(kwargs)

    monkeypatch.setattr("oms_site.celery.publish", publish)
    return published


def _entered(desk, **extra: Any) -> int:
    """A buy of 100 limited at 10.05, entered and screened, its routing not yet run."""
    data = TradeOrderInput(
        client_order_id=f"c-{extra.pop('n', 1)}",
        account=desk.account,
        instrument=desk.instrument,
        side="buy",
        quantity=D("100"),
        order_type="limit",
        time_in_force="day",
        limit_price=D("10.05"),
        **extra,
    )
    created = trade_order_submit(tenant=desk.tenant, actor=desk.trader, data=data)
    return int(created.order.pk)


def test_a_lone_child_on_a_simulated_venue_is_routed_sent_and_filled_in_one_transaction(
    desk, sends
):
    # given an order the venue's displayed ask can fill at once
    desk.quote(bid="10.00", bid_size="500", ask="10.05", ask_size="500")
    order_id = _entered(desk)
    # when the routing task runs
    with after_commit():
        routed = tasks.route_order.delay(tenant_id=desk.tenant.pk, order_id=order_id).get()
    # then its one child was sent and filled right there: no send task was published
    trade = trade_of(TradeOrder.objects.for_tenant(desk.tenant).get(pk=order_id))
    assert (routed, sends) == (1, [])
    assert child_rows(trade) == [("XA", D("100"), D("10.05"), "ioc", "filled", D("100"))]
    assert VenueOrder.objects.for_tenant(desk.tenant).get().sent_at is not None
    assert fix_rows(trade) == FILLED
    assert_invariants(trade)


def test_routing_a_routed_order_again_sends_nothing_again(desk, sends):
    desk.quote(bid="10.00", bid_size="500", ask="10.05", ask_size="500")
    order_id = _entered(desk)
    with after_commit():
        first = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    with after_commit():
        second = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    trade = trade_of(TradeOrder.objects.for_tenant(desk.tenant).get(pk=order_id))
    assert (len(first), second, sends) == (1, [], [])
    assert Execution.objects.for_tenant(desk.tenant).count() == 1
    assert fix_rows(trade) == FILLED


def test_a_sweep_sends_each_child_from_its_own_task(desk, sends):
    # given two venues each showing part of the quantity
    other = VenueFactory(tenant=desk.tenant, code="XB", taker_fee_bps=D("3"))
    desk.quote(bid="10.00", bid_size="60", ask="10.05", ask_size="60")
    desk.quote(venue=other, bid="10.00", bid_size="40", ask="10.05", ask_size="40")
    order_id = _entered(desk)
    # when it is routed
    with after_commit():
        ids = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    # then two children wait, unsent, for their send tasks (one transaction each)
    assert sends == [{"tenant_id": desk.tenant.pk, "venue_order_id": pk} for pk in ids]
    states = VenueOrder.objects.for_tenant(desk.tenant).order_by("pk")
    assert list(states.values_list("state", "sent_at")) == [("pending_new", None)] * 2


def test_an_adapter_that_does_not_answer_in_process_gets_its_child_from_the_send_task(
    desk, sends, monkeypatch
):
    monkeypatch.setattr(SimulatedVenue, "sends_in_transaction", False)
    desk.quote(bid="10.00", bid_size="500", ask="10.05", ask_size="500")
    order_id = _entered(desk)
    with after_commit():
        ids = order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    assert sends == [{"tenant_id": desk.tenant.pk, "venue_order_id": ids[0]}]
    assert VenueOrder.objects.for_tenant(desk.tenant).get().state == "pending_new"


def test_a_fill_listener_reads_the_order_its_child_and_reports_as_they_now_stand(desk, monkeypatch):
    # given a listener that reads the database inside the fill's transaction
    seen: list[tuple[Any, ...]] = []

    def listener(execution: Execution) -> None:
        trade = TradeOrder.objects.for_tenant(execution.tenant_id).get(pk=execution.order_id)
        assert execution.venue_order_id is not None
        child = VenueOrder.objects.for_tenant(execution.tenant_id).get(pk=execution.venue_order_id)
        acked = child.venue_order_id == f"XA-{child.pk}"
        seen.append((trade.cum_qty, trade.exec_seq, child.state, acked))
        seen.append(tuple(r[0] for r in fix_rows(trade)))

    monkeypatch.setattr(fill_listeners, "_listeners", [listener])
    desk.quote(bid="10.00", bid_size="500", ask="10.05", ask_size="500")
    # when an order is acknowledged and filled in one go
    desk.order(quantity="100", order_type="limit", limit_price="10.05")
    # then the listener saw the acknowledgement and the fill written
    assert seen == [(D("100"), 2, "filled", True), ("New", "Trade")]


def test_acknowledged_and_filled_in_hand_each_row_is_written_once(desk):
    # given an entered order the venue fills at once
    desk.quote(bid="10.00", bid_size="500", ask="10.05", ask_size="500")
    order_id = _entered(desk)
    # when it is routed
    with CaptureQueriesContext(connection) as captured, after_commit():
        order_route(tenant_id=desk.tenant.pk, order_id=order_id)
    # then the child and the trade order are updated once each, the reports inserted at once
    sql = [q["sql"] for q in captured.captured_queries]
    assert sum(s.startswith('UPDATE "trading_venueorder"') for s in sql) == 1
    assert sum(s.startswith('UPDATE "trading_tradeorder"') for s in sql) == 1
    assert sum(s.startswith('INSERT INTO "trading_executionreport"') for s in sql) == 1
    assert (
        sum(s.startswith('SELECT COUNT(*) AS "__count" FROM "trading_execution"') for s in sql) == 0
    )
    assert fix_rows(trade_of(TradeOrder.objects.for_tenant(desk.tenant).get(pk=order_id))) == (
        FILLED
    )
