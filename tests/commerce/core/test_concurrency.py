"""Races on PostgreSQL with real threads (each on its own connection, released together by a
barrier): orders competing for scarce stock never oversell; moves and cancels racing routing
keep the books straight."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from commerce.models import Allocation, AllocationState, AllocationStatus, SalesOrder, Stock
from commerce.services.allocation import sales_order_route, sales_orders_route
from commerce.services.stock import stock_receive
from orders.services import order_transition
from tests.commerce.core.helpers import order_enter, stock_of, warehouse_in
from tests.commerce.factories import ProductFactory
from tests.orders.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _books(tenant: Any) -> list[tuple[Any, ...]]:
    rows = []
    for stock in Stock.objects.for_tenant(tenant).order_by("pk"):
        active = Allocation.objects.for_tenant(tenant).filter(
            warehouse_id=stock.warehouse_id,
            line__product_id=stock.product_id,
            status=AllocationStatus.ACTIVE,
        ).aggregate(q=Sum("quantity"))["q"] or Decimal("0")
        rows.append((stock.on_hand, stock.allocated, active))
    return rows


def test_twenty_orders_competing_for_five_units_never_oversell(tenant: Any, seller: Any) -> None:
    # given 5 units in two warehouses and 20 orders of one unit each
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 3)
    stock_of(tenant, warehouse_in(tenant, "Munich"), a, 2)
    orders = [order_enter(tenant, seller, lines=[(a, 1)]) for _ in range(20)]

    # when all are routed at the same moment, each in its own transaction
    results = run_in_threads(
        20, lambda i: sales_order_route(tenant_id=tenant.pk, order_id=orders[i].pk)
    )

    # then exactly five were allocated, fifteen backordered, and the books agree
    assert [r for r in results if isinstance(r, Exception)] == []
    states = sorted(
        SalesOrder.objects.for_tenant(tenant).values_list("allocation_state", flat=True)
    )
    assert states.count(AllocationState.ALLOCATED) == 5
    assert states.count(AllocationState.BACKORDERED) == 15
    assert _books(tenant) == [
        (Decimal("3.000"), Decimal("3.000"), Decimal("3.000")),
        (Decimal("2.000"), Decimal("2.000"), Decimal("2.000")),
    ]


def test_batches_racing_batches_and_receipts_stay_consistent(tenant: Any, seller: Any) -> None:
    # given 10 units of two products over three warehouses and 40 two-line orders
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    hamburg = warehouse_in(tenant, "Hamburg")
    for warehouse in (berlin, munich, hamburg):
        stock_of(tenant, warehouse, a, 4)
        stock_of(tenant, warehouse, b, 3)
    orders = [order_enter(tenant, seller, lines=[(a, 1), (b, 1)]) for _ in range(40)]
    ids = [o.pk for o in orders]

    # when 8 threads route overlapping batches, 2 receive goods and 2 cancel orders
    def work(i: int) -> Any:
        if i < 8:
            return sales_orders_route(tenant_id=tenant.pk, order_ids=ids[i * 4 : i * 4 + 12])
        if i < 10:
            return stock_receive(
                tenant=tenant, actor=seller, warehouse_id=munich.pk, product_id=b.pk, quantity=2
            )
        return order_transition(tenant=tenant, order_id=ids[i], transition="cancel", actor=seller)

    results = run_in_threads(12, work)

    # then nothing failed and every stock row matches its active allocations, within on hand
    assert [r for r in results if isinstance(r, Exception)] == []
    for on_hand, allocated, active in _books(tenant):
        assert allocated == active
        assert allocated <= on_hand
