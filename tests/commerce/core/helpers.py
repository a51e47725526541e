"""Shared builders of the commerce core tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commerce.models import (
    Address,
    Allocation,
    Channel,
    Customer,
    Product,
    ProductPrice,
    Reservation,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)
from commerce.services.entry import sales_order_create
from orders.models import Order, OrderEvent
from tests.commerce.factories import ChannelFactory, ProductFactory, StockFactory, WarehouseFactory

BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "country": "DE"}
MUNICH = {"line1": "Marienplatz 1", "city": "Munich", "country": "DE"}
HAMBURG = {"line1": "Jungfernstieg 1", "city": "Hamburg", "country": "DE"}

# Real city coordinates (GeoNames) used for warehouses.
CITY = {
    "Berlin": (Decimal("52.524370"), Decimal("13.410530")),
    "Hamburg": (Decimal("53.550730"), Decimal("9.993020")),
    "Munich": (Decimal("48.137430"), Decimal("11.575490")),
    "Cologne": (Decimal("50.933330"), Decimal("6.950000")),
    "Frankfurt": (Decimal("50.115520"), Decimal("8.684170")),
}


def warehouse_in(tenant: Any, city: str, **fields: Any) -> Any:
    lat, lon = CITY[city]
    fields.setdefault("code", city[:3].upper())
    return WarehouseFactory(tenant=tenant, city=city, latitude=lat, longitude=lon, **fields)


def stock_of(tenant: Any, warehouse: Any, product: Any, on_hand: Any) -> Any:
    return StockFactory(
        tenant=tenant, warehouse=warehouse, product=product, on_hand=Decimal(str(on_hand))
    )


def order_enter(
    tenant: Any, actor: Any, *, channel: Any = None, lines: Any, ship: Any = BERLIN, **kw: Any
) -> Any:
    """Enter an order (no routing task runs: tests call the routing service themselves)."""
    channel = channel or ChannelFactory(tenant=tenant, currency="USD")
    kw.setdefault("external_id", f"E-{SalesOrder.objects.for_tenant(tenant).count() + 1}")
    kw.setdefault("currency", "USD")
    return sales_order_create(
        tenant=tenant,
        actor=actor,
        channel=channel,
        lines=[{"sku": p.sku, "quantity": str(q), "unit_price": "10.00"} for p, q in lines],
        shipping_address=ship,
        **kw,
    ).order.sales


def stock_state(tenant: Any) -> list[tuple[Any, ...]]:
    return list(
        Stock.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("warehouse__code", "product__sku", "on_hand", "allocated", "reserved")
    )


def allocations_of(sales: Any) -> list[tuple[Any, ...]]:
    return list(
        Allocation.objects.for_tenant(sales.tenant_id)
        .filter(sales_order=sales)
        .order_by("line__line_no", "warehouse__code")
        .values_list("line__line_no", "warehouse__code", "quantity", "status")
    )


def commerce_snapshot() -> dict[str, int]:
    why = "test snapshot"
    return {
        model.__name__: model.objects.all_tenants(reason=why).count()
        for model in (Order, OrderEvent, SalesOrder, SalesOrderLine, Allocation, Reservation, Stock)
    }


def rows_snapshot(tenant: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant's catalogue, channels, stock and orders, field by field (the
    update times included): compare around a refused write, create or change."""
    models: tuple[Any, ...] = (
        Product,
        ProductPrice,
        Customer,
        Address,
        Warehouse,
        Channel,
        Stock,
        Reservation,
        Order,
        OrderEvent,
        SalesOrder,
        SalesOrderLine,
        Allocation,
    )
    return {
        model.__name__: list(model.objects.for_tenant(tenant).order_by("pk").values())
        for model in models
    }


__all__ = ["ProductFactory"]
