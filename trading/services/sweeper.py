"""Recovery of routing work whose task was lost (broker down at publish, say).

Routing and sending are idempotent and derivable from the data, so nothing needs an outbox:
a periodic sweep finds trade orders still pending with no child (never routed) and children
never sent, older than a grace period (their own tasks had time to run), and enqueues their
tasks again. A task that did run meanwhile finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from oms_site.celery import enqueue_after_commit
from orders.models import OrderStatus
from trading.models import Handling, PendingAction, TradeOrder, VenueOrder, VenueOrderState

GRACE = timedelta(seconds=30)
LIMIT = 500  # per sweep and kind: a backlog is worked off over successive sweeps


@dataclass(frozen=True)
class Swept:
    routed: list[int]
    sent: list[int]


def routing_sweep(*, tenant_id: int, now: datetime | None = None) -> Swept:
    from trading.tasks import route_orders, venue_order_send

    cutoff = (now or timezone.now()) - GRACE
    children = VenueOrder.objects.for_tenant(tenant_id).filter(order=OuterRef("pk"))
    unrouted = list(
        TradeOrder.objects.for_tenant(tenant_id)
        .filter(
            order__status=OrderStatus.PENDING,
            order__updated_at__lt=cutoff,
            handling=Handling.AUTO,
            pending=PendingAction.NONE,
        )
        .exclude(Exists(children))
        .order_by("pk")
        .values_list("pk", flat=True)[:LIMIT]
    )
    unsent = list(
        VenueOrder.objects.for_tenant(tenant_id)
        .filter(state=VenueOrderState.PENDING_NEW, sent_at=None, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:LIMIT]
    )
    if unrouted:
        enqueue_after_commit(route_orders, tenant_id=tenant_id, order_ids=unrouted)
    for pk in unsent:
        enqueue_after_commit(venue_order_send, tenant_id=tenant_id, venue_order_id=pk)
    return Swept(routed=unrouted, sent=unsent)
