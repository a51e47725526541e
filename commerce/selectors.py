"""Reads of the commerce core: catalogue, customers, warehouses, stock, sales orders.

Every query starts from the tenant (``for_tenant``); another tenant's id finds nothing, so
callers answer 404 exactly as for a missing one.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from commerce.models import (
    Address,
    Allocation,
    Customer,
    Fulfilment,
    FulfilmentLine,
    Payment,
    Product,
    ProductPrice,
    Reservation,
    Return,
    ReturnLine,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)
from oms_site.errors import NotFound
from tenancy.models import Tenant


def products_visible(*, tenant: Tenant | int) -> QuerySet[Product]:
    prices = ProductPrice.objects.for_tenant(tenant).order_by("currency")
    return Product.objects.for_tenant(tenant).prefetch_related(Prefetch("prices", queryset=prices))


def customers_visible(*, tenant: Tenant | int) -> QuerySet[Customer]:
    addresses = Address.objects.for_tenant(tenant).order_by("id")
    return Customer.objects.for_tenant(tenant).prefetch_related(
        Prefetch("addresses", queryset=addresses)
    )


def warehouses_visible(*, tenant: Tenant | int) -> QuerySet[Warehouse]:
    return Warehouse.objects.for_tenant(tenant)


def stock_visible(*, tenant: Tenant | int) -> QuerySet[Stock]:
    return Stock.objects.for_tenant(tenant).select_related("warehouse", "product")


def reservations_visible(*, tenant: Tenant | int) -> QuerySet[Reservation]:
    return Reservation.objects.for_tenant(tenant).select_related("stock")


def sales_orders_visible(*, tenant: Tenant | int) -> QuerySet[SalesOrder]:
    """Orders with what the list shows (order, channel, lines)."""
    lines = SalesOrderLine.objects.for_tenant(tenant).order_by("line_no")
    return (
        SalesOrder.objects.for_tenant(tenant)
        .select_related("order", "channel")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )


def sales_order_detail(*, tenant: Tenant | int, order_id: int) -> SalesOrder:
    """One order with lines, allocations, fulfilments (shipments), payments and returns."""
    allocations = Allocation.objects.for_tenant(tenant).select_related("warehouse", "line")
    fulfilment_lines = FulfilmentLine.objects.for_tenant(tenant).select_related("line")
    fulfilments = (
        Fulfilment.objects.for_tenant(tenant)
        .select_related("warehouse")
        .prefetch_related(Prefetch("lines", queryset=fulfilment_lines))
    )
    return_lines = ReturnLine.objects.for_tenant(tenant).select_related("line")
    returns = Return.objects.for_tenant(tenant).prefetch_related(
        Prefetch("lines", queryset=return_lines)
    )
    payments = Payment.objects.for_tenant(tenant).order_by("id")
    detail = (
        sales_orders_visible(tenant=tenant)
        .prefetch_related(
            Prefetch("allocations", queryset=allocations.order_by("line__line_no", "id"))
        )
        .prefetch_related(Prefetch("fulfilments", queryset=fulfilments.order_by("id")))
        .prefetch_related(Prefetch("payments", queryset=payments))
        .prefetch_related(Prefetch("returns", queryset=returns.order_by("id")))
        .filter(pk=order_id)
        .first()
    )
    if detail is None:
        raise NotFound("Order not found.")
    return detail
