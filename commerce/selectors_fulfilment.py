"""Reads of fulfilments, their lines and tracking events (tenant-scoped; another tenant's id
answers exactly like a missing one)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from commerce.models import Fulfilment, FulfilmentLine, SalesOrder, TrackingEvent
from oms_site.errors import NotFound
from tenancy.models import Tenant


def sales_order_get(*, tenant: Tenant | int, sales_order_id: int) -> SalesOrder:
    sales = (
        SalesOrder.objects.for_tenant(tenant)
        .select_related("order", "channel")
        .filter(pk=sales_order_id)
        .first()
    )
    if sales is None:
        raise NotFound("Order not found.")
    return sales


def fulfilments_visible(*, tenant: Tenant | int) -> QuerySet[Fulfilment]:
    lines = FulfilmentLine.objects.for_tenant(tenant).select_related("line").order_by("line_id")
    tracking = TrackingEvent.objects.for_tenant(tenant).order_by("occurred_at", "id")
    return (
        Fulfilment.objects.for_tenant(tenant)
        .select_related("warehouse", "sales_order__order")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .prefetch_related(Prefetch("tracking_events", queryset=tracking))
        .order_by("id")
    )


def fulfilments_of_order(*, tenant: Tenant | int, sales_order_id: int) -> QuerySet[Fulfilment]:
    sales_order_get(tenant=tenant, sales_order_id=sales_order_id)  # 404 first
    return fulfilments_visible(tenant=tenant).filter(sales_order_id=sales_order_id)


def fulfilment_get(*, tenant: Tenant | int, fulfilment_id: int) -> Fulfilment:
    fulfilment = fulfilments_visible(tenant=tenant).filter(pk=fulfilment_id).first()
    if fulfilment is None:
        raise NotFound("Fulfilment not found.")
    return fulfilment


def tracking_events_of(*, tenant: Tenant | int, fulfilment_id: int) -> QuerySet[TrackingEvent]:
    fulfilment_get(tenant=tenant, fulfilment_id=fulfilment_id)  # 404 first
    return (
        TrackingEvent.objects.for_tenant(tenant)
        .filter(fulfilment_id=fulfilment_id)
        .order_by("occurred_at", "id")
    )
