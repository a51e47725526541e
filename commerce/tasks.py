"""Commerce Celery tasks: thin and idempotent; each takes ids and calls one service.

Routing by name (oms_site/celery.py): ``route_*`` -> ``routing`` queue, ``channel_*`` and
``channels_*`` -> ``marketplace`` queue, the rest -> ``default``. Services are imported inside
each task so that this module stays a thin index of entry points.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from commerce.marketplaces.http import Transient

# --- marketplace (channels, sync runs, shipment confirmation) ------------------------------


@shared_task(
    name="commerce.tasks.channel_confirm_shipment",
    autoretry_for=(Transient,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def channel_confirm_shipment(*, tenant_id: int, fulfilment_id: int) -> bool:
    """Confirm a shipped fulfilment to its marketplace (no-op when already confirmed)."""
    from commerce.services.sync import fulfilment_confirm_to_marketplace

    return fulfilment_confirm_to_marketplace(tenant=tenant_id, fulfilment_id=fulfilment_id)


SYNC_MAX_RETRIES = 5


def sync_retry_countdown(retries: int) -> int:
    """Seconds before the next attempt after a transient database error: 10, 20, 40, ..."""
    return min(600, 10 * 2**retries)


@shared_task(
    name="commerce.tasks.channel_sync",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=SYNC_MAX_RETRIES,
)
def channel_sync(self: Any, *, tenant_id: int, run_id: int) -> str:
    """Run or resume a marketplace sync run (a finished run is left as is). A transient
    database error is retried with backoff (the run resumes from its saved page); once the
    retries are spent the run fails with the reason (``commerce.services.sync``)."""
    from commerce.services.sync import DB_TRANSIENT, sync_run_execute, sync_run_fail

    try:
        run = sync_run_execute(tenant_id=tenant_id, run_id=run_id)
    except DB_TRANSIENT as exc:
        if self.request.retries >= SYNC_MAX_RETRIES:
            reason = f"database error, {SYNC_MAX_RETRIES} retries spent: {exc}"
            sync_run_fail(tenant_id=tenant_id, run_id=run_id, reason=reason)
            raise
        raise self.retry(exc=exc, countdown=sync_retry_countdown(self.request.retries)) from exc
    return run.status if run is not None else "missing"


@shared_task(name="commerce.tasks.channels_sync_due")
def channels_sync_due() -> int:
    """Beat: start due marketplace syncs of every active tenant, resume stalled ones."""
    from commerce.services.sync import channels_sync_due as due
    from tenancy.models import Tenant

    return sum(
        len(due(tenant_id=tenant_id))
        for tenant_id in Tenant.objects.filter(active=True).values_list("pk", flat=True)
    )


# --- routing: allocation, backorders, reservation expiry ------------------------------------


@shared_task(
    name="commerce.tasks.route_sales_order",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def route_sales_order(*, tenant_id: int, order_id: int) -> str:
    """Allocate one accepted sales order (a second run allocates nothing more)."""
    from commerce.services.allocation import sales_order_route

    outcome = sales_order_route(tenant_id=tenant_id, order_id=order_id)
    return outcome.state if outcome is not None else "skipped"


@shared_task(
    name="commerce.tasks.route_sales_orders",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def route_sales_orders(*, tenant_id: int, order_ids: list[int]) -> int:
    """Allocate a batch of accepted sales orders in one transaction; returns how many changed."""
    from commerce.services.allocation import BATCH, sales_orders_route

    changed = 0
    for start in range(0, len(order_ids), BATCH):
        outcomes = sales_orders_route(
            tenant_id=tenant_id, order_ids=order_ids[start : start + BATCH]
        )
        changed += sum(1 for outcome in outcomes if outcome.changed)
    return changed


@shared_task(
    name="commerce.tasks.route_backorders",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def route_backorders(*, tenant_id: int, product_ids: list[int]) -> int:
    """Stock arrived: re-route the orders waiting for these products, oldest first."""
    from commerce.services.allocation import backorders_route

    return sum(
        1 for o in backorders_route(tenant_id=tenant_id, product_ids=product_ids) if o.changed
    )


@shared_task(
    name="commerce.tasks.route_reservations_expire", autoretry_for=(OSError,), retry_backoff=True
)
def route_reservations_expire() -> int:
    """Beat: release every expired reservation (only active ones: safe to run twice)."""
    from commerce.services.stock import reservations_expire_due

    return reservations_expire_due()
