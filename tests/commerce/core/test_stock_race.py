"""Orders racing for scarce stock on PostgreSQL, with real threads (each on its own connection,
released together by a barrier).

Entering an order publishes its routing task once the entry commits. These tests hold that
publish back (the task's ``apply_async`` records the message instead of running it inline), so
the orders are all entered and still unrouted when the threads start; the threads then run the
recorded routing tasks at the same moment, as parallel workers would."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from commerce import tasks
from commerce.models import (
    Allocation,
    AllocationState,
    AllocationStatus,
    SalesOrder,
    SalesOrderLine,
    Stock,
)
from commerce.services.allocation import sales_orders_route
from commerce.services.stock import stock_receive
from orders.models import EventKind, OrderEvent, OrderStatus
from orders.services import order_transition
from tests.commerce.core.helpers import order_enter, stock_of, warehouse_in
from tests.commerce.factories import ProductFactory
from tests.orders.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ZERO = Decimal("0")


@pytest.fixture
def held_routing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The routing tasks published after commit, recorded (task name, kwargs) and not run."""
    published: list[tuple[str, dict[str, Any]]] = []
    proxies: tuple[Any, ...] = (tasks.route_sales_order, tasks.route_sales_orders)
    for proxy in proxies:
        task = proxy._get_current_object()

        def record(*args: Any, _name: str = task.name, **options: Any) -> None:
            published.append((_name, dict(options.get("kwargs") or {})))

        monkeypatch.setattr(task, "apply_async", record)
    return published


def _books(tenant: Any) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    """(warehouse, on hand, allocated, reserved, sum of active allocations) per stock row."""
    rows = []
    for stock in Stock.objects.for_tenant(tenant).select_related("warehouse").order_by("pk"):
        active = Allocation.objects.for_tenant(tenant).filter(
            warehouse_id=stock.warehouse_id,
            line__product_id=stock.product_id,
            status=AllocationStatus.ACTIVE,
        ).aggregate(q=Sum("quantity"))["q"] or Decimal("0.000")
        rows.append((stock.warehouse.code, stock.on_hand, stock.allocated, stock.reserved, active))
    return rows


def _watch_available(
    tenant: Any, finished: threading.Semaphore, *, workers: int, seen: list[Decimal]
) -> int:
    """Read every stock row's available quantity until ``workers`` threads have finished;
    returns how many reads were made (each read is one committed snapshot of the rows)."""
    done = reads = 0
    while done < workers:
        rows = Stock.objects.for_tenant(tenant).values_list("on_hand", "allocated", "reserved")
        seen.extend(on_hand - allocated - reserved for on_hand, allocated, reserved in rows)
        reads += 1
        while finished.acquire(blocking=False):
            done += 1
    return reads


def _states(tenant: Any) -> Counter[str]:
    return Counter(SalesOrder.objects.for_tenant(tenant).values_list("allocation_state", flat=True))


def test_twenty_orders_routed_at_once_for_five_units_never_oversell(
    tenant: Any, seller: Any, held_routing: list[tuple[str, dict[str, Any]]]
) -> None:
    # given 5 units in two warehouses and 20 one-unit orders entered, their routing held back
    a = ProductFactory(tenant=tenant, sku="A", lead_time_days=4)
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 3)
    stock_of(tenant, warehouse_in(tenant, "Munich"), a, 2)
    orders = [order_enter(tenant, seller, lines=[(a, 1)]) for _ in range(20)]
    assert held_routing == [
        ("commerce.tasks.route_sales_order", {"tenant_id": tenant.pk, "order_id": sales.pk})
        for sales in orders
    ]
    assert _states(tenant) == {AllocationState.PENDING: 20}
    assert Allocation.objects.for_tenant(tenant).count() == 0
    before = _books(tenant)

    # when 20 workers run the 20 routing tasks at the same moment, while a 21st thread reads
    # the stock rows over and over until they are done
    finished = threading.Semaphore(0)
    seen: list[Decimal] = []

    def work(i: int) -> Any:
        if i == 20:
            return _watch_available(tenant, finished, workers=20, seen=seen)
        try:
            return tasks.route_sales_order(**held_routing[i][1])
        finally:
            finished.release()

    results = run_in_threads(21, work)

    # then exactly the five units are allocated, to five orders; fifteen are backordered with
    # the lead-time promise; each stock row's allocated equals its active allocations
    assert before == [
        ("BER", Decimal("3.000"), ZERO, ZERO, ZERO),
        ("MUN", Decimal("2.000"), ZERO, ZERO, ZERO),
    ]
    assert Counter(results[:20]) == {"allocated": 5, "backordered": 15}
    assert results[20] > 0  # the watcher read the stock while routing ran
    assert min(seen) >= 0  # available never went below zero, at any moment read
    assert _states(tenant) == {AllocationState.ALLOCATED: 5, AllocationState.BACKORDERED: 15}
    assert _books(tenant) == [
        ("BER", Decimal("3.000"), Decimal("3.000"), ZERO, Decimal("3.000")),
        ("MUN", Decimal("2.000"), Decimal("2.000"), ZERO, Decimal("2.000")),
    ]
    per_order = Counter(
        Allocation.objects.for_tenant(tenant)
        .filter(status=AllocationStatus.ACTIVE)
        .values_list("sales_order_id", flat=True)
    )
    assert sorted(per_order.values()) == [1] * 5
    promise = timezone.now().date() + timedelta(days=4)
    assert set(
        SalesOrder.objects.for_tenant(tenant)
        .filter(allocation_state=AllocationState.BACKORDERED)
        .values_list("promised_date", flat=True)
    ) == {promise}
    kinds = Counter(
        OrderEvent.objects.for_tenant(tenant)
        .filter(kind__in=(EventKind.ALLOCATED, EventKind.BACKORDERED))
        .values_list("kind", flat=True)
    )
    assert kinds == {EventKind.ALLOCATED: 5, EventKind.BACKORDERED: 15}


def test_batches_racing_batches_receipts_and_cancels_keep_the_books(
    tenant: Any, seller: Any, held_routing: list[tuple[str, dict[str, Any]]]
) -> None:
    # given 12 A and 9 B over three warehouses and 40 unrouted two-line orders (A + B)
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    hamburg = warehouse_in(tenant, "Hamburg")
    for warehouse in (berlin, munich, hamburg):
        stock_of(tenant, warehouse, a, 4)
        stock_of(tenant, warehouse, b, 3)
    orders = [order_enter(tenant, seller, lines=[(a, 1), (b, 1)]) for _ in range(40)]
    ids = [o.pk for o in orders]
    assert len(held_routing) == 40
    assert _states(tenant) == {AllocationState.PENDING: 40}

    # when 8 threads route overlapping batches of 12, 2 receive 2 B each in Munich (retrying
    # the backorders) and 2 cancel orders, all at once
    def work(i: int) -> Any:
        if i < 8:
            return sales_orders_route(tenant_id=tenant.pk, order_ids=ids[i * 4 : i * 4 + 12])
        if i < 10:
            return stock_receive(
                tenant=tenant, actor=seller, warehouse_id=munich.pk, product_id=b.pk, quantity=2
            )
        return order_transition(tenant=tenant, order_id=ids[i], transition="cancel", actor=seller)

    results = run_in_threads(12, work)

    # then nothing failed, every live order was routed, no line holds more than it ordered,
    # and every stock row's allocated equals its active allocations, within what is on hand
    assert [r for r in results if isinstance(r, Exception)] == []
    live = SalesOrder.objects.for_tenant(tenant).exclude(order__status=OrderStatus.CANCELED)
    assert live.count() == 38
    assert not live.filter(allocation_state=AllocationState.PENDING).exists()
    for line in SalesOrderLine.objects.for_tenant(tenant):
        held = (
            Allocation.objects.for_tenant(tenant)
            .filter(line=line, status=AllocationStatus.ACTIVE)
            .aggregate(q=Sum("quantity"))["q"]
            or ZERO
        )
        assert held <= line.quantity
    books = _books(tenant)
    for _code, on_hand, allocated, reserved, active in books:
        assert allocated == active
        assert on_hand - allocated - reserved >= 0
    on_hand_total = sum((row[1] for row in books), ZERO)
    assert on_hand_total == Decimal("25.000")  # 12 A + 9 B + 4 B received
