"""Thin, idempotent Celery tasks: ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from trading.models import VenueOrder
from trading.services import routing
from trading.services.lifecycle import child_replace_quantity, trade_lock
from trading.venues.base import adapter_for


@shared_task(
    name="trading.tasks.route_order", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def route_order(*, tenant_id: int, order_id: int) -> int:
    return len(routing.order_route(tenant_id=tenant_id, order_id=order_id))


@shared_task(
    name="trading.tasks.venue_order_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_send(*, tenant_id: int, venue_order_id: int) -> bool:
    return routing.venue_order_send(tenant_id=tenant_id, venue_order_id=venue_order_id)


def _locked_child(tenant_id: int, venue_order_id: int) -> VenueOrder | None:
    order_id = (
        VenueOrder.objects.for_tenant(tenant_id)
        .filter(pk=venue_order_id)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        return None
    trade_lock(tenant_id=tenant_id, order_id=order_id)
    return (
        VenueOrder.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .select_related("venue")
        .get(pk=venue_order_id)
    )


@shared_task(
    name="trading.tasks.venue_order_cancel",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_cancel(*, tenant_id: int, venue_order_id: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        child = _locked_child(tenant_id, venue_order_id)
        if child is not None:
            adapter_for(child.venue).cancel(child)


@shared_task(
    name="trading.tasks.venue_order_replace",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_replace(*, tenant_id: int, venue_order_id: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        child = _locked_child(tenant_id, venue_order_id)
        if child is None:
            return
        trade = child.order
        if trade.pending_quantity is None:
            return  # the replace was settled meanwhile
        quantity = child_replace_quantity(trade, child)
        adapter_for(child.venue).replace(child, quantity, trade.pending_limit_price)


@shared_task(name="trading.tasks.venue_sessions_tick", autoretry_for=(OSError,), retry_backoff=True)
def venue_sessions_tick() -> int:
    """Beat: run every tenant's simulated venue sessions by their clocks; expire GTD orders."""
    from tenancy.models import Tenant
    from trading.services.marketdata import venue_sessions_tick as tick

    return sum(
        len(tick(tenant_id=tenant_id))
        for tenant_id in Tenant.objects.filter(active=True).values_list("pk", flat=True)
    )
