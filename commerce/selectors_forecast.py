"""Reads behind the shortage forecast: daily demand per (warehouse, product) and stock rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, tzinfo
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from commerce.models import Allocation, AllocationStatus, Product, Stock, Warehouse
from tenancy.models import Tenant

DEMAND_STATUSES = (AllocationStatus.ACTIVE, AllocationStatus.SHIPPED)


def daily_demand(
    *,
    tenant: Tenant,
    start: date,
    end: date,
    tz: tzinfo,
    warehouse: Warehouse | None = None,
    product: Product | None = None,
) -> dict[tuple[int, int], dict[date, Decimal]]:
    """Units demanded per (warehouse id, product id) and day, for days ``start <= d < end``.

    Demand is the allocated quantity (allocations that are active or shipped: released ones,
    from cancellations, moves and short shipments, consumed no stock) dated by the day the
    order was placed (``placed_at``, else when it was entered) in the tenant's time zone.
    Orders still on backorder have no warehouse and count nowhere.
    """
    rows = (
        Allocation.objects.for_tenant(tenant)
        .filter(status__in=DEMAND_STATUSES)
        .annotate(placed=Coalesce("sales_order__placed_at", "sales_order__order__created_at"))
        .filter(
            placed__gte=datetime.combine(start, time.min, tzinfo=tz),
            placed__lt=datetime.combine(end, time.min, tzinfo=tz),
        )
    )
    if warehouse is not None:
        rows = rows.filter(warehouse=warehouse)
    if product is not None:
        rows = rows.filter(line__product=product)
    grouped = (
        rows.annotate(day=TruncDate("placed", tzinfo=tz))
        .values_list("warehouse_id", "line__product_id", "day")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    result: dict[tuple[int, int], dict[date, Decimal]] = defaultdict(dict)
    for warehouse_id, product_id, day, quantity in grouped:
        result[(warehouse_id, product_id)][day] = quantity
    return result


def forecast_stock_rows(
    *, tenant: Tenant, warehouse: Warehouse | None = None, product: Product | None = None
) -> QuerySet[Stock]:
    """Stock rows of active products in active warehouses, in (warehouse code, SKU) order."""
    rows = (
        Stock.objects.for_tenant(tenant)
        .filter(product__active=True, warehouse__active=True)
        .select_related("warehouse", "product")
        .order_by("warehouse__code", "product__sku")
    )
    if warehouse is not None:
        rows = rows.filter(warehouse=warehouse)
    if product is not None:
        rows = rows.filter(product=product)
    return rows
