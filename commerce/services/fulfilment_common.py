"""What the fulfilment services share (``commerce.services.fulfilment`` and
``commerce.services.fulfilment_tracking``): the lock of a fulfilment's order and of the
fulfilment (in the global order of ``commerce.services.locks``), the state checks, the journal
row of a fulfilment change, the validation of a reported moment, and delivery."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_fsm import can_proceed

from commerce.models import Fulfilment, FulfilmentState, SalesOrder
from commerce.services.locks import sales_order_lock
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import NotFound, TransitionNotAllowed, ValidationFailed
from orders.models import EventKind, Order, OrderStatus
from orders.services import event_record
from tenancy.models import Tenant

Actor = Any  # a User, or None for the system

ZERO = Decimal("0")
QTY_PLACES = 3
OPEN_STATES = (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED)
SHIPPED_STATES = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
WORKABLE_ORDER_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIAL)
CLOCK_SKEW = timedelta(minutes=5)


def qty_journaled(value: Decimal) -> str:
    """A quantity as journaled: 3 places on every database."""
    return str(value.quantize(Decimal(1).scaleb(-QTY_PLACES)))


def fulfilment_order_lock(*, tenant: Tenant | int, sales_order_id: int) -> tuple[Order, SalesOrder]:
    """The order and sales order rows locked (``sales_order_lock``); a trade order's id is not
    found."""
    sales = sales_order_lock(
        tenant=tenant, sales_order_id=sales_order_id, not_found="Order not found."
    )
    return sales.order, sales


def fulfilment_lock(
    *, tenant: Tenant | int, fulfilment_id: int
) -> tuple[Fulfilment, Order, SalesOrder]:
    """The fulfilment's order rows (``sales_order_lock``), then the fulfilment."""
    sales_order_id = (
        Fulfilment.objects.for_tenant(tenant)
        .filter(pk=fulfilment_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if sales_order_id is None:
        raise NotFound("Fulfilment not found.")
    order, sales = fulfilment_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    fulfilment = (
        Fulfilment.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .get(pk=fulfilment_id)
    )
    return fulfilment, order, sales


def order_require_workable(order: Order, action: str) -> None:
    """409 unless the order is open or partial."""
    if order.status not in WORKABLE_ORDER_STATUSES:
        raise TransitionNotAllowed(
            f"Cannot {action}: the order is {order.status}.", extra={"order_status": order.status}
        )


def fulfilment_require_transition(fulfilment: Fulfilment, method_name: str, action: str) -> None:
    """409 unless the fulfilment's state allows ``method_name``."""
    if not can_proceed(getattr(fulfilment, method_name)):
        raise TransitionNotAllowed(
            f"Cannot {action} a fulfilment that is {fulfilment.state}.",
            extra={"state": fulfilment.state},
        )


def fulfilment_journal(
    *, order: Order, kind: str, actor: Actor, fulfilment: Fulfilment, reason: str = "", **data: Any
) -> None:
    """One journal row on the order naming the fulfilment and its warehouse."""
    event_record(
        order=order,
        kind=kind,
        actor=actor,
        reason=reason,
        data={"fulfilment_id": fulfilment.pk, "warehouse": fulfilment.warehouse.code, **data},
    )


def fulfilment_deliver_locked(
    *,
    order: Order,
    sales: SalesOrder,
    fulfilment: Fulfilment,
    actor: Actor,
    delivered_at: datetime,
    source: str,
) -> None:
    """shipped -> delivered at ``delivered_at`` (the caller holds the locks), journaled."""
    fulfilment.deliver()
    fulfilment.delivered_at = delivered_at
    fulfilment.save(update_fields=["state", "delivered_at", "updated_at"])
    fulfilment_journal(
        order=order,
        kind=EventKind.DELIVERED,
        actor=actor,
        fulfilment=fulfilment,
        delivered_at=delivered_at.isoformat(),
        source=source,
    )
    sales_order_status_refresh(sales_order=sales)


def moment_clean(value: datetime | None, field: str) -> datetime:
    """A reported moment: now when missing; 400 naming ``field`` without a time zone or in
    the future (beyond a few minutes of clock skew)."""
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationFailed(errors={field: ["Must include a time zone."]})
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(errors={field: ["Must not be in the future."]})
    return value
