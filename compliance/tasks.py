"""Thin, idempotent Celery tasks (the ``surveillance`` queue): ids in, services do the work.

``surveillance_scan`` runs on fills (enqueued after the fill commits, see
``compliance.surveillance.hooks``) and for every active tenant from beat. Running it twice is
harmless: the second run finds nothing new, and alerts are raised once per evidence.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from tenancy.models import Tenant


@shared_task(
    name="compliance.tasks.surveillance_scan",
    autoretry_for=(OSError, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def surveillance_scan(*, tenant_id: int) -> int:
    """Scan one tenant; returns how many alerts it raised."""
    from compliance.services.surveillance import surveillance_scan as scan

    tenant = Tenant.objects.filter(pk=tenant_id, active=True).first()
    if tenant is None:
        return 0
    return len(scan(tenant=tenant, actor=None).raised)


@shared_task(name="compliance.tasks.surveillance_scan_all", autoretry_for=(OSError,))
def surveillance_scan_all() -> int:
    """Beat: one scan task per active tenant (each on its own, so tenants scale out)."""
    tenant_ids = list(Tenant.objects.filter(active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        surveillance_scan.delay(tenant_id=tenant_id)
    return len(tenant_ids)
