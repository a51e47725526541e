"""Thin, idempotent Celery tasks: ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from trading.services import routing


@shared_task(
    name="trading.tasks.route_order", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def route_order(*, tenant_id: int, order_id: int) -> int:
    return len(routing.order_route(tenant_id=tenant_id, order_id=order_id))


@shared_task(
    name="trading.tasks.route_orders", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def route_orders(*, tenant_id: int, order_ids: list[int]) -> int:
    """A batch's orders, routed one by one (each in its own transaction; a routed order is
    left alone, so a redelivered task routes nothing twice)."""
    return sum(len(routing.order_route(tenant_id=tenant_id, order_id=pk)) for pk in order_ids)


@shared_task(
    name="trading.tasks.venue_order_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_send(*, tenant_id: int, venue_order_id: int) -> bool:
    return routing.venue_order_send(tenant_id=tenant_id, venue_order_id=venue_order_id)


@shared_task(
    name="trading.tasks.venue_order_cancel",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_cancel(*, tenant_id: int, venue_order_id: int) -> None:
    routing.venue_order_cancel_send(tenant_id=tenant_id, venue_order_id=venue_order_id)


@shared_task(
    name="trading.tasks.venue_order_replace",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def venue_order_replace(*, tenant_id: int, venue_order_id: int) -> None:
    routing.venue_order_replace_send(tenant_id=tenant_id, venue_order_id=venue_order_id)


@shared_task(name="trading.tasks.venue_sessions_tick", autoretry_for=(OSError,), retry_backoff=True)
def venue_sessions_tick() -> int:
    """Beat: run every tenant's simulated venue sessions by their clocks; expire GTD orders."""
    from tenancy.models import Tenant
    from trading.services.marketdata import venue_sessions_tick as tick

    return sum(
        len(tick(tenant_id=tenant_id))
        for tenant_id in Tenant.objects.filter(active=True).values_list("pk", flat=True)
    )


@shared_task(name="trading.tasks.route_stale", autoretry_for=(OSError,), retry_backoff=True)
def route_stale() -> int:
    """Beat: re-enqueue routing and sends whose tasks were lost (see trading.services.sweeper)."""
    from tenancy.models import Tenant
    from trading.services.sweeper import routing_sweep

    swept = [
        routing_sweep(tenant_id=tenant_id)
        for tenant_id in Tenant.objects.filter(active=True).values_list("pk", flat=True)
    ]
    return sum(len(s.routed) + len(s.sent) for s in swept)
