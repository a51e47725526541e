"""Routing's last tie-break before the code: the *remaining* daily capacity (daily capacity minus
the orders allocated to the warehouse since midnight UTC, released allocations not counted),
not the raw daily capacity; the journal shows the capacities compared."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commerce.models import AllocationStatus
from commerce.services.allocation import sales_order_route
from orders.models import EventKind, OrderEvent
from orders.services import order_transition
from tests.commerce.core.helpers import allocations_of, order_enter, stock_of, warehouse_in
from tests.commerce.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _two_equal_warehouses(tenant: Any) -> tuple[Any, Any]:
    """BIG (10 orders a day) and SML (5) in the same place with the same priority: nothing but
    capacity (then the code, which favours BIG) tells them apart. Product A is in both;
    product X only in BIG."""
    big = warehouse_in(tenant, "Berlin", code="BIG", priority=10, daily_capacity=10)
    small = warehouse_in(tenant, "Berlin", code="SML", priority=10, daily_capacity=5)
    a, x = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="X")
    stock_of(tenant, big, a, 5)
    stock_of(tenant, small, a, 5)
    stock_of(tenant, big, x, 20)
    return a, x


def _use_big_today(tenant: Any, seller: Any, x: Any, orders: int) -> list[Any]:
    """``orders`` orders of X routed (by the routing service) to BIG, the only holder of X."""
    used = [order_enter(tenant, seller, lines=[(x, 2)]) for _ in range(orders)]
    for sales in used:
        sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
        assert allocations_of(sales) == [(1, "BIG", Decimal("2.000"), AllocationStatus.ACTIVE)]
    return used


def _compared(sales: Any) -> list[dict[str, Any]]:
    (event,) = OrderEvent.objects.for_tenant(sales.tenant_id).filter(
        order_id=sales.pk, kind=EventKind.ALLOCATED
    )
    return list(event.data["compared"])


def _entry(code: str, capacity_left: int) -> dict[str, Any]:
    return {
        "warehouse": code,
        "distance_km": 0.0,
        "priority": 10,
        "capacity_left": capacity_left,
        "ships_all": True,
    }


@pytest.mark.parametrize(
    ("used", "winner", "compared"),
    [
        (9, "SML", [_entry("SML", 5), _entry("BIG", 1)]),  # 10 - 9 = 1 left < 5 left
        (5, "BIG", [_entry("BIG", 5), _entry("SML", 5)]),  # 5 = 5: the code decides
        (4, "BIG", [_entry("BIG", 6), _entry("SML", 5)]),  # 6 left > 5 left
    ],
)
def test_equal_distance_and_priority_go_to_the_most_remaining_daily_capacity(
    tenant: Any, seller: Any, used: int, winner: str, compared: list[dict[str, Any]]
) -> None:
    # given BIG (10 a day) and SML (5 a day), equally near with equal priority, and BIG
    # already allocated `used` orders today
    a, x = _two_equal_warehouses(tenant)
    _use_big_today(tenant, seller, x, used)
    sales = order_enter(tenant, seller, lines=[(a, 1)])

    # when the order is routed
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)

    # then the warehouse with more capacity left today wins, and the journal shows both
    # warehouses' remaining capacity in the order compared
    assert allocations_of(sales) == [(1, winner, Decimal("1.000"), AllocationStatus.ACTIVE)]
    assert _compared(sales) == compared


def test_released_allocations_give_their_capacity_back(tenant: Any, seller: Any) -> None:
    # given BIG allocated 9 orders today, 5 of which were canceled since (allocations released)
    a, x = _two_equal_warehouses(tenant)
    used = _use_big_today(tenant, seller, x, 9)
    for sales in used[:5]:
        order_transition(tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller)
    sales = order_enter(tenant, seller, lines=[(a, 1)])

    # when a new order is routed
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)

    # then BIG counts only its 4 live orders (6 left, more than SML's 5) and wins
    assert allocations_of(sales) == [(1, "BIG", Decimal("1.000"), AllocationStatus.ACTIVE)]
    assert _compared(sales) == [_entry("BIG", 6), _entry("SML", 5)]


def test_a_nearer_warehouse_wins_whatever_its_remaining_capacity(tenant: Any, seller: Any) -> None:
    # given BIG in Berlin used up today (0 left) and SML in Hamburg with all 5 left
    big = warehouse_in(tenant, "Berlin", code="BIG", priority=10, daily_capacity=2)
    small = warehouse_in(tenant, "Hamburg", code="SML", priority=10, daily_capacity=5)
    a, x = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="X")
    stock_of(tenant, big, a, 5)
    stock_of(tenant, small, a, 5)
    stock_of(tenant, big, x, 20)
    _use_big_today(tenant, seller, x, 2)
    sales = order_enter(tenant, seller, lines=[(a, 1)])

    # when an order shipping to Berlin is routed
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)

    # then the nearest warehouse wins: capacity breaks ties only, it never blocks
    assert allocations_of(sales) == [(1, "BIG", Decimal("1.000"), AllocationStatus.ACTIVE)]
    assert [c["warehouse"] for c in _compared(sales)] == ["BIG", "SML"]
    assert all("capacity_left" not in c for c in _compared(sales))
