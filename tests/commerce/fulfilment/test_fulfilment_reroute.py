"""The unshipped remainder goes back to routing: after a fulfilment is cancelled or ships short,
the order is routed again once the transaction commits (same or another warehouse, or a
backorder), and can then ship the rest and complete; staff may instead close the remainder.

These tests go through routing (``route_sales_order`` run by the after-commit callbacks), not
through allocations set up by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from commerce.models import AllocationState, Product, SalesOrder, Warehouse
from commerce.services.allocation import sales_order_route
from commerce.services.allocation_moves import allocation_move
from commerce.services.fulfilment import (
    ShipLine,
    fulfilment_cancel,
    fulfilment_ship,
    fulfilments_create_for_order,
)
from commerce.services.stock import stock_adjust, stock_receive
from oms_site.errors import Conflict, PermissionDenied
from orders.models import OrderEvent
from orders.services import order_transition
from tests.commerce.core.helpers import (
    order_enter,
    stock_of,
    stock_state,
    warehouse_in,
)
from tests.commerce.factories import ProductFactory
from tests.commerce.fulfilment.helpers import (
    allocation_rows,
    fulfilment_rows,
    journal,
    journal_data,
    order_status,
    snapshot,
)
from tests.conftest import member

pytestmark = pytest.mark.django_db

D = Decimal
ACTIVE, SHIPPED, RELEASED = "active", "shipped", "released"


def _shop(tenant: Any, berlin: int, hamburg: int) -> tuple[Product, Warehouse, Warehouse]:
    """Product A stocked in Berlin (nearest to the customer) and Hamburg."""
    product = ProductFactory(tenant=tenant, sku="A", lead_time_days=4)
    ber, ham = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Hamburg")
    stock_of(tenant, ber, product, berlin)
    stock_of(tenant, ham, product, hamburg)
    return product, ber, ham


def _routed(tenant: Any, seller: Any, product: Product, quantity: int) -> SalesOrder:
    """An order entered and routed by the routing service, with its fulfilment created."""
    sales = order_enter(tenant, seller, lines=[(product, quantity)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    return _fresh(sales)


def _fresh(sales: SalesOrder) -> SalesOrder:
    return SalesOrder.objects.for_tenant(sales.tenant_id).get(pk=sales.pk)


def _open_fulfilment(sales: SalesOrder) -> Any:
    return sales.fulfilments.filter(state="pending").get()


def _ship_all_open(tenant: Any, seller: Any, sales: SalesOrder) -> None:
    """Create the missing fulfilments, then ship every pending one in full."""
    fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    for fulfilment in sales.fulfilments.filter(state="pending").order_by("pk"):
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="DHL")


def _routing_kinds(sales: SalesOrder) -> list[str]:
    return [kind for kind, _, _ in journal(sales) if kind in ("allocated", "backordered")]


def test_a_cancelled_fulfilment_is_routed_again_to_the_same_warehouse(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 3 of A routed to Berlin and in a fulfilment there
    product, _ber, _ham = _shop(tenant, berlin=5, hamburg=5)
    sales = _routed(tenant, seller, product, 3)
    assert allocation_rows(sales) == [(1, "BER", D("3.000"), ACTIVE)]
    # when the fulfilment is cancelled (and the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_cancel(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            reason="Label printer down",
        )
    # then routing allocated the goods again, in Berlin (still the nearest with stock)
    sales = _fresh(sales)
    assert (sales.allocation_state, sales.promised_date) == (AllocationState.ALLOCATED, None)
    assert allocation_rows(sales) == [
        (1, "BER", D("3.000"), RELEASED),
        (1, "BER", D("3.000"), ACTIVE),
    ]
    assert stock_state(tenant) == [
        ("BER", "A", D("5.000"), D("3.000"), D("0")),
        ("HAM", "A", D("5.000"), D("0.000"), D("0")),
    ]
    (cancel,) = [d for d in journal_data(sales, "fulfilment_updated") if d["action"] == "cancel"]
    assert cancel["rerouted"] is True
    assert _routing_kinds(sales) == ["allocated", "allocated"]
    # and the order ships and completes
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    assert stock_state(tenant)[0] == ("BER", "A", D("2.000"), D("0.000"), D("0"))


def test_a_cancelled_fulfilment_goes_to_another_warehouse_with_stock(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 3 of A routed to Berlin, then Berlin closes (inactive) and cancels its fulfilment
    product, ber, _ham = _shop(tenant, berlin=5, hamburg=5)
    sales = _routed(tenant, seller, product, 3)
    Warehouse.objects.for_tenant(tenant).filter(pk=ber.pk).update(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_cancel(tenant=tenant, actor=seller, fulfilment_id=_open_fulfilment(sales).pk)
    # then the order is allocated in Hamburg, journaled with the warehouses compared
    sales = _fresh(sales)
    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocation_rows(sales) == [
        (1, "BER", D("3.000"), RELEASED),
        (1, "HAM", D("3.000"), ACTIVE),
    ]
    allocated = journal_data(sales, "allocated")[-1]
    assert [(a["warehouse"], a["quantity"]) for a in allocated["allocations"]] == [("HAM", "3.000")]
    # and Hamburg ships it: the order completes
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    assert fulfilment_rows(sales) == [
        ("BER", "canceled", [(1, D("3.000"), D("0.000"))]),
        ("HAM", "shipped", [(1, D("3.000"), D("3.000"))]),
    ]
    assert stock_state(tenant) == [
        ("BER", "A", D("5.000"), D("0.000"), D("0")),
        ("HAM", "A", D("2.000"), D("0.000"), D("0")),
    ]


def test_a_cancelled_fulfilment_without_stock_elsewhere_is_backordered_then_served(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 3 of A routed to Berlin, the only stock; Berlin's count then finds none left
    product, ber, _ham = _shop(tenant, berlin=3, hamburg=0)
    sales = _routed(tenant, seller, product, 3)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        fulfilment_cancel(tenant=tenant, actor=seller, fulfilment_id=_open_fulfilment(sales).pk)
        stock_adjust(
            tenant=tenant, actor=seller, warehouse_id=ber.pk, product_id=product.pk, on_hand="0"
        )
    # then the order waits as a backorder with a promise (today + the lead time)
    sales = _fresh(sales)
    assert (sales.allocation_state, sales.promised_date) == (
        AllocationState.BACKORDERED,
        timezone.now().date() + timedelta(days=4),
    )
    assert order_status(sales) == ("open", "unfulfilled")
    # when goods arrive in Hamburg
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=_ham.pk, product_id=product.pk, quantity="3"
        )
    # then the backorder retry allocates them, and the order ships and completes
    assert _fresh(sales).allocation_state == AllocationState.ALLOCATED
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    assert _routing_kinds(sales) == ["allocated", "backordered", "allocated"]


def test_a_short_shipment_reroutes_the_remainder_which_then_ships(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 5 of A routed to Berlin
    product, ber, _ham = _shop(tenant, berlin=5, hamburg=10)
    sales = _routed(tenant, seller, product, 5)
    line_id = sales.lines.get().pk
    # when Berlin ships only 2 and its count finds nothing more on the shelf
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            carrier="DHL",
            lines=[ShipLine(line_id, D("2"))],
        )
        stock_adjust(
            tenant=tenant, actor=seller, warehouse_id=ber.pk, product_id=product.pk, on_hand="0"
        )
    # then the 3 unshipped are routed again, to Hamburg
    sales = _fresh(sales)
    assert order_status(sales) == ("partial", "partially_fulfilled")
    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocation_rows(sales) == [
        (1, "BER", D("2.000"), SHIPPED),
        (1, "BER", D("3.000"), RELEASED),
        (1, "HAM", D("3.000"), ACTIVE),
    ]
    (shipped,) = journal_data(sales, "shipped")
    assert shipped["rerouted"] is True
    # and once Hamburg ships them the order is completed
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    assert stock_state(tenant) == [
        ("BER", "A", D("0.000"), D("0.000"), D("0")),
        ("HAM", "A", D("7.000"), D("0.000"), D("0")),
    ]
    assert [kind for kind, _, _ in journal(sales) if kind in ("partially_filled", "completed")] == [
        "partially_filled",
        "completed",
    ]


def test_a_short_shipment_with_no_stock_left_is_a_partial_backorder_until_goods_arrive(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 5 of A routed to Berlin, the only stock
    product, ber, ham = _shop(tenant, berlin=5, hamburg=0)
    sales = _routed(tenant, seller, product, 5)
    line_id = sales.lines.get().pk
    # when Berlin ships 2 and counts its shelf down to nothing
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            carrier="DHL",
            lines=[ShipLine(line_id, D("2"))],
        )
        stock_adjust(
            tenant=tenant, actor=seller, warehouse_id=ber.pk, product_id=product.pk, on_hand="0"
        )
    # then the remainder is backordered: part shipped, the rest promised
    sales = _fresh(sales)
    assert (sales.allocation_state, sales.promised_date) == (
        AllocationState.PARTIAL,
        timezone.now().date() + timedelta(days=4),
    )
    (backordered,) = journal_data(sales, "backordered")
    assert backordered["backordered"] == [{"line": 1, "sku": "A", "quantity": "3.000"}]
    # when 3 arrive in Hamburg, the retry allocates them; they ship; the order completes
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=ham.pk, product_id=product.pk, quantity="3"
        )
    sales = _fresh(sales)
    assert (sales.allocation_state, sales.promised_date) == (AllocationState.ALLOCATED, None)
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    assert stock_state(tenant) == [
        ("BER", "A", D("0.000"), D("0.000"), D("0")),
        ("HAM", "A", D("0.000"), D("0.000"), D("0")),
    ]


def test_a_rerouted_remainder_can_be_moved_by_staff(
    tenant: Any, seller: Any, operations: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a short shipment whose remainder routing put back in Berlin
    product, _ber, ham = _shop(tenant, berlin=5, hamburg=5)
    sales = _routed(tenant, seller, product, 5)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            carrier="DHL",
            lines=[ShipLine(sales.lines.get().pk, D("4"))],
        )
    active = sales.allocations.get(status=ACTIVE)
    # when staff move it to Hamburg
    allocation_move(tenant=tenant, actor=operations, allocation_id=active.pk, warehouse_id=ham.pk)
    # then Hamburg holds it
    assert allocation_rows(sales)[-1] == (1, "HAM", D("1.000"), ACTIVE)
    assert stock_state(tenant) == [
        ("BER", "A", D("1.000"), D("0.000"), D("0")),
        ("HAM", "A", D("5.000"), D("1.000"), D("0")),
    ]


def test_cancelling_a_partially_shipped_order_closes_its_unshipped_remainder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 5 of A: 2 shipped from Berlin, the other 3 routed again and in a new fulfilment
    product, _ber, _ham = _shop(tenant, berlin=5, hamburg=0)
    sales = _routed(tenant, seller, product, 5)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            carrier="DHL",
            lines=[ShipLine(sales.lines.get().pk, D("2"))],
        )
    fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    # when staff cancel the order (the customer no longer wants the rest)
    order = order_transition(
        tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller, reason="Customer"
    )
    # then the remainder is released and the order closes with what shipped
    assert order.status == "completed"
    assert order_status(sales) == ("completed", "partially_fulfilled")
    assert allocation_rows(sales) == [
        (1, "BER", D("2.000"), SHIPPED),
        (1, "BER", D("3.000"), RELEASED),
        (1, "BER", D("3.000"), RELEASED),
    ]
    assert fulfilment_rows(sales) == [
        ("BER", "shipped", [(1, D("5.000"), D("2.000"))]),
        ("BER", "canceled", [(1, D("3.000"), D("0.000"))]),
    ]
    assert stock_state(tenant)[0] == ("BER", "A", D("3.000"), D("0.000"), D("0"))
    (closed,) = OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk, kind="completed")
    assert (closed.from_status, closed.to_status, closed.reason) == (
        "partial",
        "completed",
        "Customer",
    )
    assert closed.data["remainder_canceled"] == [{"line": 1, "sku": "A", "quantity": "3.000"}]
    assert [r["quantity"] for r in closed.data["released"]] == ["3.000"]


def test_a_viewer_cannot_close_the_remainder_and_nothing_changes(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    product, _ber, _ham = _shop(tenant, berlin=5, hamburg=0)
    sales = _routed(tenant, seller, product, 5)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=_open_fulfilment(sales).pk,
            carrier="DHL",
            lines=[ShipLine(sales.lines.get().pk, D("2"))],
        )
    viewer = member(tenant, "viewer", username="alpha.viewer")
    before = snapshot(sales)
    with pytest.raises(PermissionDenied):
        order_transition(tenant=tenant, order_id=sales.pk, transition="cancel", actor=viewer)
    assert snapshot(sales) == before


def test_a_completed_order_still_cannot_be_cancelled(tenant: Any, seller: Any) -> None:
    product, _ber, _ham = _shop(tenant, berlin=5, hamburg=0)
    sales = _routed(tenant, seller, product, 2)
    _ship_all_open(tenant, seller, sales)
    assert order_status(sales) == ("completed", "fulfilled")
    before = snapshot(sales)
    with pytest.raises(Conflict):
        order_transition(tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller)
    assert snapshot(sales) == before
