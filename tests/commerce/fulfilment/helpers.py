"""Drivers and readers of the fulfilment tests: an order with allocations set up directly
(as routing would leave it), and snapshots of every row a refused request must not change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    SalesOrder,
    SalesOrderLine,
    Stock,
    TrackingEvent,
)
from orders.models import Order, OrderEvent
from tests.commerce.factories import (
    ChannelFactory,
    ProductFactory,
    StockFactory,
    WarehouseFactory,
    sales_order_make,
)

D = Decimal


def allocate(sales: SalesOrder, line_no: int, warehouse: Any, quantity: str) -> Allocation:
    """An active allocation of ``quantity`` of line ``line_no`` in ``warehouse``, held in
    ``Stock.allocated`` (what routing does)."""
    tenant = sales.tenant
    line = SalesOrderLine.objects.for_tenant(tenant).get(sales_order=sales, line_no=line_no)
    allocation = Allocation.objects.create(
        tenant=tenant,
        sales_order=sales,
        line=line,
        warehouse=warehouse,
        quantity=D(quantity),
    )
    updated = (
        Stock.objects.for_tenant(tenant)
        .filter(warehouse=warehouse, product=line.product)
        .update(allocated=F("allocated") + D(quantity))
    )
    assert updated == 1
    return allocation


@dataclass
class Shop:
    """Two warehouses (A, B), two products (P1, P2) with 10 on hand everywhere."""

    tenant: Any
    wh_a: Any
    wh_b: Any
    p1: Any
    p2: Any

    def order(
        self,
        lines: Sequence[tuple[Any, str]],
        *,
        channel: Any = None,
        status: str = "open",
    ) -> SalesOrder:
        return sales_order_make(
            tenant=self.tenant,
            lines=[(product, quantity, "10.00") for product, quantity in lines],
            channel=channel,
            status=status,
        )


def shop_make(tenant: Any) -> Shop:
    wh_a = WarehouseFactory(tenant=tenant, code="A")
    wh_b = WarehouseFactory(tenant=tenant, code="B")
    p1 = ProductFactory(tenant=tenant, sku="P1")
    p2 = ProductFactory(tenant=tenant, sku="P2")
    for warehouse in (wh_a, wh_b):
        for product in (p1, p2):
            StockFactory(tenant=tenant, warehouse=warehouse, product=product, on_hand=D("10"))
    return Shop(tenant=tenant, wh_a=wh_a, wh_b=wh_b, p1=p1, p2=p2)


def marketplace_channel(tenant: Any) -> Any:
    return ChannelFactory(tenant=tenant, kind="amazon", code="AMZ")


def stock_rows(tenant: Any) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    """(warehouse, sku, on_hand, allocated, reserved) of every stock row."""
    return list(
        Stock.objects.for_tenant(tenant)
        .order_by("warehouse__code", "product__sku")
        .values_list("warehouse__code", "product__sku", "on_hand", "allocated", "reserved")
    )


def allocation_rows(sales: SalesOrder) -> list[tuple[int, str, Decimal, str]]:
    """(line no, warehouse, quantity, status) of the order's allocations, by pk."""
    return list(
        Allocation.objects.for_tenant(sales.tenant_id)
        .filter(sales_order=sales)
        .order_by("pk")
        .values_list("line__line_no", "warehouse__code", "quantity", "status")
    )


def fulfilment_rows(sales: SalesOrder) -> list[tuple[str, str, list[tuple[int, Decimal, Decimal]]]]:
    """(warehouse, state, [(line no, quantity, shipped)]) of the order's fulfilments, by pk."""
    result = []
    for fulfilment in (
        Fulfilment.objects.for_tenant(sales.tenant_id).filter(sales_order=sales).order_by("pk")
    ):
        lines = list(
            FulfilmentLine.objects.for_tenant(sales.tenant_id)
            .filter(fulfilment=fulfilment)
            .order_by("line__line_no")
            .values_list("line__line_no", "quantity", "shipped_quantity")
        )
        result.append((fulfilment.warehouse.code, fulfilment.state, lines))
    return result


def fulfilments_of(sales: SalesOrder) -> list[Fulfilment]:
    return list(
        Fulfilment.objects.for_tenant(sales.tenant_id).filter(sales_order=sales).order_by("pk")
    )


def fresh(fulfilment: Fulfilment) -> Fulfilment:
    return Fulfilment.objects.for_tenant(fulfilment.tenant_id).get(pk=fulfilment.pk)


def order_status(sales: SalesOrder) -> tuple[str, str]:
    """(common order status, derived fulfilment status)."""
    order = Order.objects.for_tenant(sales.tenant_id).get(pk=sales.pk)
    detail = SalesOrder.objects.for_tenant(sales.tenant_id).get(pk=sales.pk)
    return order.status, detail.fulfilment_status


def journal(sales: SalesOrder) -> list[tuple[str, str, str]]:
    """(kind, from status, to status) of the order's journal after its creation steps."""
    rows = (
        OrderEvent.objects.for_tenant(sales.tenant_id)
        .filter(order_id=sales.pk)
        .order_by("created_at", "id")
        .values_list("kind", "from_status", "to_status")
    )
    skip = {"created", "submitted", "screened", "accepted"}
    return [row for row in rows if row[0] not in skip]


def journal_data(sales: SalesOrder, kind: str) -> list[dict[str, Any]]:
    return list(
        OrderEvent.objects.for_tenant(sales.tenant_id)
        .filter(order_id=sales.pk, kind=kind)
        .order_by("id")
        .values_list("data", flat=True)
    )


def snapshot(sales: SalesOrder) -> dict[str, Any]:
    """Every row a refused request on this order must leave untouched."""
    tenant = sales.tenant_id
    order = Order.objects.for_tenant(tenant).get(pk=sales.pk)
    return {
        "order": (order.status, order.updated_at),
        "events": list(
            OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk).values_list("id")
        ),
        "stock": stock_rows(tenant),
        "allocations": allocation_rows(sales),
        "fulfilments": [
            (
                f.pk,
                f.state,
                f.carrier,
                f.tracking_number,
                f.shipped_at,
                f.delivered_at,
                f.updated_at,
            )
            for f in fulfilments_of(sales)
        ],
        "lines": fulfilment_rows(sales),
        "tracking": list(
            TrackingEvent.objects.for_tenant(tenant)
            .filter(fulfilment__sales_order=sales)
            .order_by("pk")
            .values_list("pk", "code", "occurred_at")
        ),
        "derived": SalesOrder.objects.for_tenant(tenant)
        .filter(pk=sales.pk)
        .values_list("fulfilment_status", "updated_at")
        .get(),
    }


ACTIVE, SHIPPED, RELEASED = (
    AllocationStatus.ACTIVE,
    AllocationStatus.SHIPPED,
    AllocationStatus.RELEASED,
)
