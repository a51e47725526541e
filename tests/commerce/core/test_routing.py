from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import (
    Allocation,
    AllocationState,
    AllocationStatus,
    ChannelKind,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
)
from commerce.services.allocation import sales_order_route, sales_orders_route
from commerce.services.allocation_moves import allocation_move
from commerce.services.stock import stock_receive
from oms_site.errors import Conflict, ValidationFailed
from orders.models import EventKind, OrderEvent, OrderStatus
from orders.services import order_transition
from tests.commerce.core.helpers import (
    HAMBURG,
    MUNICH,
    allocations_of,
    order_enter,
    stock_of,
    stock_state,
    warehouse_in,
)
from tests.commerce.factories import ChannelFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _events(sales: Any, kind: str) -> list[Any]:
    return list(
        OrderEvent.objects.for_tenant(sales.tenant_id)
        .filter(order_id=sales.pk, kind=kind)
        .order_by("pk")
    )


def _route(sales: Any) -> Any:
    outcome = sales_order_route(tenant_id=sales.tenant_id, order_id=sales.pk)
    sales.refresh_from_db()
    return outcome


def test_one_warehouse_that_ships_all_wins_over_a_nearer_partial_one(
    tenant: Any, seller: Any
) -> None:
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, a, 5)
    stock_of(tenant, munich, a, 5)
    stock_of(tenant, munich, b, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1), (b, 1)])

    _route(sales)

    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocations_of(sales) == [
        (1, "MUN", Decimal("1.000"), AllocationStatus.ACTIVE),
        (2, "MUN", Decimal("1.000"), AllocationStatus.ACTIVE),
    ]
    (event,) = _events(sales, EventKind.ALLOCATED)
    assert event.data["decision"] == "single"
    assert [(c["warehouse"], c["distance_km"], c["ships_all"]) for c in event.data["compared"]] == [
        ("BER", 0.0, False),
        ("MUN", 504.852, True),
    ]


def test_nearest_full_warehouse_is_chosen(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    for city in ("Berlin", "Munich", "Hamburg"):
        stock_of(tenant, warehouse_in(tenant, city), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 2)], ship=MUNICH)

    _route(sales)

    assert allocations_of(sales) == [(1, "MUN", Decimal("2.000"), AllocationStatus.ACTIVE)]
    assert Allocation.objects.for_tenant(tenant).get().distance_km == Decimal("0.000")


def test_equal_distance_ties_go_to_priority_then_capacity(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(
        tenant, warehouse_in(tenant, "Berlin", code="B1", priority=50, daily_capacity=10), a, 5
    )
    stock_of(tenant, warehouse_in(tenant, "Berlin", code="B2", priority=10, daily_capacity=5), a, 5)
    stock_of(tenant, warehouse_in(tenant, "Berlin", code="B3", priority=10, daily_capacity=9), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1)])

    _route(sales)

    assert allocations_of(sales) == [(1, "B3", Decimal("1.000"), AllocationStatus.ACTIVE)]


def test_split_uses_the_fewest_warehouses(tenant: Any, seller: Any) -> None:
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, hamburg = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Hamburg")
    cologne, munich = warehouse_in(tenant, "Cologne"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, a, 2)  # nearest, but then three warehouses would be needed
    stock_of(tenant, hamburg, b, 5)
    stock_of(tenant, cologne, a, 5)
    stock_of(tenant, munich, b, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3), (b, 2)])

    _route(sales)

    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocations_of(sales) == [
        (1, "COL", Decimal("3.000"), AllocationStatus.ACTIVE),
        (2, "HAM", Decimal("2.000"), AllocationStatus.ACTIVE),
    ]
    (event,) = _events(sales, EventKind.ALLOCATED)
    assert event.data["decision"] == "split"


def test_no_split_channel_backorders_with_the_longest_lead_time(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A", lead_time_days=3)
    b = ProductFactory(tenant=tenant, sku="B", lead_time_days=9)
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    stock_of(tenant, warehouse_in(tenant, "Munich"), b, 5)
    channel = ChannelFactory(tenant=tenant, allow_split_shipments=False)
    sales = order_enter(tenant, seller, channel=channel, lines=[(a, 1), (b, 1)])
    before = stock_state(tenant)

    _route(sales)

    assert sales.allocation_state == AllocationState.BACKORDERED
    assert sales.promised_date == timezone.now().date() + timedelta(days=9)
    assert allocations_of(sales) == []
    assert stock_state(tenant) == before
    (event,) = _events(sales, EventKind.BACKORDERED)
    assert event.data["split_allowed"] is False
    assert event.data["promised_date"] == sales.promised_date.isoformat()
    assert [c["warehouse"] for c in event.data["compared"]] == ["BER", "MUN"]


def test_short_everywhere_allocates_what_exists_and_backorders_the_rest(
    tenant: Any, seller: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A", lead_time_days=4)
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 2)
    stock_of(tenant, warehouse_in(tenant, "Munich"), a, 1)
    sales = order_enter(tenant, seller, lines=[(a, 5)])

    _route(sales)

    assert sales.allocation_state == AllocationState.PARTIAL
    assert sales.promised_date == timezone.now().date() + timedelta(days=4)
    assert allocations_of(sales) == [
        (1, "BER", Decimal("2.000"), AllocationStatus.ACTIVE),
        (1, "MUN", Decimal("1.000"), AllocationStatus.ACTIVE),
    ]
    assert _events(sales, EventKind.BACKORDERED)[0].data["backordered"] == [
        {"line": 1, "sku": "A", "quantity": "2.000"}
    ]


def test_routing_twice_allocates_once(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 2)])

    _route(sales)
    second = _route(sales)

    assert second is None
    assert stock_state(tenant) == [("BER", "A", Decimal("5.000"), Decimal("2.000"), Decimal("0"))]
    assert len(_events(sales, EventKind.ALLOCATED)) == 1


def test_held_and_canceled_orders_are_not_routed(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 2)])
    order_transition(tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller)

    assert _route(sales) is None
    assert allocations_of(sales) == []


def test_backorders_are_retried_oldest_first_when_stock_arrives(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 0)
    first = order_enter(tenant, seller, lines=[(a, 2)])
    second = order_enter(tenant, seller, lines=[(a, 2)])
    sales_orders_route(tenant_id=tenant.pk, order_ids=[first.pk, second.pk])

    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, quantity="3"
        )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.allocation_state, second.allocation_state) == (
        AllocationState.ALLOCATED,
        AllocationState.PARTIAL,
    )
    assert second.promised_date is not None
    assert stock_state(tenant) == [("BER", "A", Decimal("3.000"), Decimal("3.000"), Decimal("0"))]
    assert len(_events(second, EventKind.BACKORDERED)) == 2  # still short after the retry
    assert first.promised_date is None


def test_a_retry_that_changes_nothing_journals_nothing(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 0)
    sales = order_enter(tenant, seller, lines=[(a, 2)])
    _route(sales)

    _route(sales)

    assert len(_events(sales, EventKind.BACKORDERED)) == 1


def test_pos_order_allocates_from_its_store_only(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    store = warehouse_in(tenant, "Hamburg", code="STORE", is_store=True)
    stock_of(tenant, store, a, 1)
    channel = ChannelFactory(tenant=tenant, kind=ChannelKind.POS, store=store)

    sales = order_enter(tenant, seller, channel=channel, lines=[(a, 1)], ship=None)

    # routed at once, in the entry transaction, and handed over there
    assert allocations_of(sales) == [(1, "STORE", Decimal("1.000"), AllocationStatus.SHIPPED)]


def test_web_orders_do_not_take_store_stock(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin", code="STORE", is_store=True), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1)])

    _route(sales)

    assert sales.allocation_state == AllocationState.BACKORDERED


def test_move_allocation_to_another_warehouse(tenant: Any, seller: Any, operations: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin, hamburg = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Hamburg")
    stock_of(tenant, berlin, a, 5)
    stock_of(tenant, hamburg, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    _route(sales)
    allocation = Allocation.objects.for_tenant(tenant).get()

    moved = allocation_move(
        tenant=tenant,
        actor=operations,
        allocation_id=allocation.pk,
        warehouse_id=hamburg.pk,
        quantity=Decimal("1"),
        reason="Berlin short of packers",
    )

    assert moved.pk != allocation.pk
    assert allocations_of(sales) == [
        (1, "BER", Decimal("2.000"), AllocationStatus.ACTIVE),
        (1, "HAM", Decimal("1.000"), AllocationStatus.ACTIVE),
    ]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("5.000"), Decimal("2.000"), Decimal("0")),
        ("HAM", "A", Decimal("5.000"), Decimal("1.000"), Decimal("0")),
    ]
    (event,) = _events(sales, EventKind.ALLOCATION_MOVED)
    assert (event.data["from"], event.data["to"], event.data["quantity"]) == ("BER", "HAM", "1")
    assert (event.data["from_km"], event.data["to_km"]) == ("0.0", "255.376")
    assert event.actor_id == operations.pk


def test_move_refusals_change_nothing(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin, hamburg = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Hamburg")
    stock_of(tenant, berlin, a, 5)
    stock_of(tenant, hamburg, a, 1)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    _route(sales)
    allocation = Allocation.objects.for_tenant(tenant).get()
    before = (stock_state(tenant), allocations_of(sales))

    with pytest.raises(Conflict):  # Hamburg has 1, 3 needed
        allocation_move(
            tenant=tenant, actor=seller, allocation_id=allocation.pk, warehouse_id=hamburg.pk
        )
    with pytest.raises(ValidationFailed):
        allocation_move(
            tenant=tenant, actor=seller, allocation_id=allocation.pk, warehouse_id=berlin.pk
        )
    with pytest.raises(ValidationFailed):
        allocation_move(
            tenant=tenant,
            actor=seller,
            allocation_id=allocation.pk,
            warehouse_id=hamburg.pk,
            quantity=Decimal("4"),
        )

    assert (stock_state(tenant), allocations_of(sales)) == before
    assert _events(sales, EventKind.ALLOCATION_MOVED) == []


def test_cancel_releases_allocations(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    _route(sales)

    order = order_transition(
        tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller, reason="customer"
    )

    assert order.status == OrderStatus.CANCELED
    assert stock_state(tenant) == [("BER", "A", Decimal("5.000"), Decimal("0.000"), Decimal("0"))]
    assert allocations_of(sales) == [(1, "BER", Decimal("3.000"), AllocationStatus.RELEASED)]
    (event,) = _events(sales, EventKind.CANCELED)
    assert [r["quantity"] for r in event.data["released"]] == ["3.000"]


def test_cancel_after_shipping_is_refused(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    _route(sales)
    fulfilment = Fulfilment.objects.create(
        tenant=tenant, sales_order=sales, warehouse=berlin, state=FulfilmentState.SHIPPED
    )
    FulfilmentLine.objects.create(
        tenant=tenant,
        fulfilment=fulfilment,
        line=sales.lines.get(),
        quantity=Decimal("3"),
        shipped_quantity=Decimal("3"),
    )
    before = stock_state(tenant)

    with pytest.raises(Conflict):
        order_transition(tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller)

    sales.order.refresh_from_db()
    assert sales.order.status == OrderStatus.OPEN
    assert stock_state(tenant) == before


def test_order_without_coordinates_is_routed_by_priority(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Munich", priority=5), a, 5)
    stock_of(tenant, warehouse_in(tenant, "Berlin", priority=9), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1)], ship=HAMBURG)
    type(sales).objects.for_tenant(tenant).filter(pk=sales.pk).update(
        ship_latitude=None, ship_longitude=None
    )

    _route(sales)

    assert allocations_of(sales) == [(1, "MUN", Decimal("1.000"), AllocationStatus.ACTIVE)]


def test_a_move_frees_the_source_for_a_waiting_backorder(
    tenant: Any, seller: Any, operations: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given A in Berlin (2, allocated to a first order) and Hamburg (2 free), B only in Berlin,
    # and a no-split order of 2 A + 1 B that no single warehouse can ship
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, hamburg = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Hamburg")
    stock_of(tenant, berlin, a, 2)
    stock_of(tenant, berlin, b, 1)
    stock_of(tenant, hamburg, a, 2)
    first = order_enter(tenant, seller, lines=[(a, 2)])
    _route(first)
    channel = ChannelFactory(tenant=tenant, allow_split_shipments=False)
    waiting = order_enter(tenant, seller, channel=channel, lines=[(a, 2), (b, 1)])
    _route(waiting)
    assert waiting.allocation_state == AllocationState.BACKORDERED
    # when staff move the first order's goods to Hamburg
    with django_capture_on_commit_callbacks(execute=True):
        allocation_move(
            tenant=tenant,
            actor=operations,
            allocation_id=Allocation.objects.for_tenant(tenant).get(sales_order=first).pk,
            warehouse_id=hamburg.pk,
        )
    # then the waiting order is served from Berlin
    waiting.refresh_from_db()
    assert waiting.allocation_state == AllocationState.ALLOCATED
    assert allocations_of(waiting) == [
        (1, "BER", Decimal("2.000"), AllocationStatus.ACTIVE),
        (2, "BER", Decimal("1.000"), AllocationStatus.ACTIVE),
    ]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("2.000"), Decimal("2.000"), Decimal("0")),
        ("BER", "B", Decimal("1.000"), Decimal("1.000"), Decimal("0")),
        ("HAM", "A", Decimal("2.000"), Decimal("2.000"), Decimal("0")),
    ]
