"""Fault suite, trading side (PostgreSQL + Redis; run by .ci/run). Each test states the fault
and what must hold.

- 50 concurrent submissions of one client order id: exactly one order.
- A worker killed (SIGKILL) in the middle of routing: after a restart every order is routed
  exactly once (no child twice, none missing) and filled once.
- Redis restarted while orders are entered: every order a client was told about (201) exists
  and gets routed; every other answer is a clear error (503), never a silent drop.
- Fills and cancels racing on 100 orders: for every order cum + leaves holds and the
  position equals the sum of its executions.
- The journal refuses UPDATE and DELETE at the database.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from oms_site.errors import TransitionNotAllowed
from orders.models import Order, OrderEvent
from tests.conftest import client_for
from tests.orders.helpers import run_in_threads
from tests.reliability.workers import (
    real_broker,
    redis_restart,
    wait_for,
    worker_kill,
    worker_start,
    worker_stop,
)
from tests.trading.helpers import (
    assert_invariants,
    cancel,
    children,
    desk_create,
    fill,
    manual_venue_install,
    position_of,
    report,
    trade_of,
)
from tests.trading.order_helpers import BATCH, ORDERS, market, order_body
from trading.models import Execution, Quote, TradeOrder, VenueOrder
from trading.models.orders import VENUE_ORDER_LIVE
from trading.services.sweeper import routing_sweep
from trading.venues.base import ReportKind

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

D = Decimal
User = get_user_model()
QUEUES = ("routing", "venues")
PURGED = (*QUEUES, "surveillance", "default")


def _deep_market(tenant: Any) -> Any:
    """ACME quoted a billion deep at XA: every order fills whole, in one child."""
    mkt = market(tenant)
    Quote.objects.for_tenant(tenant).update(ask_size=D("1000000000"), bid_size=D("1000000000"))
    return mkt


def _fresh(user: Any) -> Any:
    return User.objects.get(pk=user.pk)


def test_fifty_concurrent_submissions_of_one_client_order_id_make_one_order(tenant, trader):
    # fault: 50 clients retry the same order at the same moment
    market(tenant)
    body = order_body(client_order_id="same-one")
    responses = run_in_threads(
        50, lambda i: client_for(_fresh(trader)).post(ORDERS, body, format="json")
    )
    # holds: one order; one answer 201, the others 200 with that same order
    assert sorted(r.status_code for r in responses) == [200] * 49 + [201]
    assert {r.json()["id"] for r in responses} == {
        Order.objects.for_tenant(tenant).get(client_order_id="same-one").pk
    }
    assert TradeOrder.objects.for_tenant(tenant).count() == 1


def _all_filled(tenant: Any, count: int) -> bool:
    done = TradeOrder.objects.for_tenant(tenant).filter(order__status="completed").count()
    return done == count


def _assert_routed_once(tenant: Any, count: int) -> None:
    trades = list(TradeOrder.objects.for_tenant(tenant).select_related("order"))
    assert len(trades) == count
    per_order = {t.pk: 0 for t in trades}
    for order_id in VenueOrder.objects.for_tenant(tenant).values_list("order_id", flat=True):
        per_order[order_id] += 1
    assert set(per_order.values()) == {1}, "an order was routed twice or not at all"
    assert Execution.objects.for_tenant(tenant).count() == count
    for trade in trades:
        assert (trade.order.status, trade.cum_qty, trade.leaves_qty) == (
            "completed",
            trade.quantity,
            D(0),
        )


def test_a_worker_killed_mid_routing_routes_every_order_exactly_once(tenant, trader):
    # fault: the routing worker is SIGKILLed while it works through 150 orders
    mkt = _deep_market(tenant)
    api = client_for(trader)
    with real_broker(*PURGED):
        for b in range(3):
            batch = [
                order_body(client_order_id=f"k{b}-{n}", limit_price="100.01") for n in range(50)
            ]
            assert api.post(BATCH, batch, format="json").status_code == 200
        first = worker_start("routing-a", ",".join(QUEUES))
        try:
            wait_for(
                lambda: VenueOrder.objects.for_tenant(tenant).count() >= 20,
                timeout=120,
                what="the first worker to route some orders",
            )
        finally:
            worker_kill(first)
        routed_at_kill = VenueOrder.objects.for_tenant(tenant).count()
        assert routed_at_kill < 150, "the worker finished before it was killed"
        # a new worker takes over: redelivered messages (after the visibility timeout) and the
        # routing sweep (for anything whose message is gone) finish the work
        second = worker_start("routing-b", ",".join(QUEUES))
        try:
            time.sleep(8)
            routing_sweep(tenant_id=tenant.pk, now=timezone.now() + timedelta(seconds=31))
            wait_for(lambda: _all_filled(tenant, 150), timeout=180, what="every order filled")
            time.sleep(6)  # any late redelivery runs now and must change nothing
        finally:
            worker_stop(second)
    # holds: every order routed exactly once and filled once
    _assert_routed_once(tenant, 150)
    assert position_of(mkt.acc1, mkt.acme).quantity == D(150 * 60)


def test_redis_restarted_while_orders_are_entered_loses_no_accepted_order(tenant, trader):
    # fault: Redis (broker and cache) goes down for 2 s while 4 clients enter orders
    _deep_market(tenant)
    answers: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        api = client_for(_fresh(trader))
        n = 0
        try:
            while not stop.is_set():
                cid = f"r{i}-{n}"
                n += 1
                body = order_body(client_order_id=cid, limit_price="100.01")
                status = api.post(ORDERS, body, format="json")
                with lock:
                    answers.append((cid, status.status_code))
        finally:
            connections.close_all()

    with real_broker(*PURGED):
        worker = worker_start("redis-restart", ",".join(QUEUES))
        try:
            threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            time.sleep(2)
            redis_restart(down_for=2)
            time.sleep(2)
            stop.set()
            for t in threads:
                t.join(timeout=60)
            accepted = [cid for cid, code in answers if code == 201]
            # what was not published while Redis was down is swept up once it is back
            routing_sweep(tenant_id=tenant.pk, now=timezone.now() + timedelta(seconds=31))
            wait_for(
                lambda: _all_filled(tenant, len(accepted)),
                timeout=180,
                what="every accepted order filled",
            )
        finally:
            worker_stop(worker)
    # holds: every answer was a success or a clear 503; every 201 is an order, routed once;
    # a refused submission stored nothing (the client can resubmit it)
    assert {code for _, code in answers} <= {201, 503}
    assert len(accepted) > 0
    stored = set(Order.objects.for_tenant(tenant).values_list("client_order_id", flat=True))
    assert stored == set(accepted)
    _assert_routed_once(tenant, len(accepted))


def test_fills_and_cancels_racing_on_100_orders_keep_every_invariant(tenant, trader, monkeypatch):
    # fault: the venue's fills and the trader's cancels race on 100 orders at once
    manual_venue_install(monkeypatch)
    desk = desk_create(tenant, trader)
    trades = []
    for n in range(100):
        trades.append(
            desk.order(
                quantity="100",
                order_type="limit",
                limit_price="10.00",
                venue=desk.venue,
                client_order_id=f"f-{n}",
            )
        )
        report(children(trades[-1])[0], ReportKind.ACK)
    kids = [children(t)[0] for t in trades]
    engine = [threading.Lock() for _ in trades]  # the venue works one order at a time

    def venue_fills(n: int) -> None:
        for k in range(5):  # 5 x 25: the fifth never fits
            with engine[n]:
                fill(kids[n], "25", "10.00", exec_id=f"f{n}-{k}")

    def trader_cancels(n: int) -> None:
        try:
            cancel(trades[n], _fresh(trader))
        except TransitionNotAllowed:
            return
        with engine[n]:
            live = VenueOrder.objects.for_tenant(tenant).get(pk=kids[n].pk).state in (
                VENUE_ORDER_LIVE
            )
            report(kids[n], ReportKind.CANCELED if live else ReportKind.CANCEL_REJECTED)

    work = [(venue_fills, n) for n in range(100)] + [(trader_cancels, n) for n in range(100)]
    random.Random(7).shuffle(work)

    def run(item: tuple[Any, int]) -> None:
        try:
            item[0](item[1])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(run, work))
    # holds: every order consistent, the position equals the executions
    total = D(0)
    for trade in trades:
        fresh = trade_of(trade)
        assert_invariants(fresh)
        assert fresh.order.status in ("completed", "canceled")
        total += fresh.cum_qty
    executions = Execution.objects.for_tenant(tenant)
    assert sum((e.last_qty for e in executions), D(0)) == total
    assert position_of(desk.account, desk.instrument).quantity == total


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE orders_orderevent SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM orders_orderevent WHERE id = %s",
    ],
)
def test_the_journal_refuses_update_and_delete_at_the_database(tenant, trader, statement):
    # fault: someone with SQL access tries to rewrite history
    market(tenant)
    client_for(trader).post(ORDERS, order_body(), format="json")
    event = OrderEvent.objects.for_tenant(tenant).order_by("id").first()
    assert event is not None
    before = list(OrderEvent.objects.for_tenant(tenant).order_by("id").values())
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    # holds: the journal is exactly as it was
    assert list(OrderEvent.objects.for_tenant(tenant).order_by("id").values()) == before
