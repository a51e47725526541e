from __future__ import annotations

from django.db.models import QuerySet

from oms_site.errors import NotFound
from orders.models import Order, OrderEvent
from tenancy.models import Tenant


def orders_visible(*, tenant: Tenant) -> QuerySet[Order]:
    return Order.objects.for_tenant(tenant).select_related("created_by", "tenant")


def orders_for_update(*, tenant: Tenant | int) -> QuerySet[Order]:
    """Row-locking queryset, ordered by pk so multi-row locks never deadlock."""
    return (
        Order.objects.for_tenant(tenant)
        .select_related("tenant")
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def order_get(*, tenant: Tenant, order_id: int) -> Order:
    """The tenant's order; another tenant's id answers exactly like a missing one."""
    order = Order.objects.for_tenant(tenant).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_events(*, tenant: Tenant, order_id: int) -> QuerySet[OrderEvent]:
    order = order_get(tenant=tenant, order_id=order_id)
    return OrderEvent.objects.for_tenant(tenant).filter(order=order).select_related("actor")


def order_find_by_client_id(*, tenant: Tenant, kind: str, client_order_id: str) -> Order | None:
    return (
        Order.objects.for_tenant(tenant).filter(kind=kind, client_order_id=client_order_id).first()
    )
