from __future__ import annotations

from celery import shared_task

from orders import services
from tenancy.models import Tenant


@shared_task(name="orders.tasks.orders_expire_due", autoretry_for=(OSError,), retry_backoff=True)
def orders_expire_due() -> int:
    """Beat task: expire due orders, one tenant at a time (tenant id passed explicitly)."""
    total = 0
    for tenant_id in Tenant.objects.filter(active=True).values_list("pk", flat=True):
        total += len(services.orders_expire_due(tenant_id=tenant_id))
    return total
