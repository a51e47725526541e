"""Cancelling a sales order: refused once any goods shipped (a return follows instead);
otherwise every active allocation and reservation is released and every unshipped fulfilment
cancelled, in the same transaction as the transition, whose journal row lists what was
released. A person's cancel (the sales kind's cancel handler) and a marketplace's
cancellation (a system step) both come here.

Locks, in the global order of ``commerce.services.locks``: the caller holds the order and
sales order rows (``sales_order_lock``); then the open fulfilments, the active allocations,
the active reservations and their stock rows, each set by pk."""

from __future__ import annotations

from typing import Any

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    SalesOrder,
)
from oms_site.errors import Conflict
from orders.models import Order
from orders.services import order_apply_transition
from tenancy.models import Tenant

OPEN_FULFILMENT = (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED)


def sales_order_shipped(*, tenant: Tenant, sales: SalesOrder) -> bool:
    """Whether any goods of the order have left a warehouse."""
    return (
        Allocation.objects.for_tenant(tenant)
        .filter(sales_order=sales, status=AllocationStatus.SHIPPED)
        .exists()
        or FulfilmentLine.objects.for_tenant(tenant)
        .filter(fulfilment__sales_order=sales, shipped_quantity__gt=0)
        .exists()
    )


def sales_order_cancel(
    *,
    tenant: Tenant,
    order: Order,
    sales: SalesOrder,
    actor: Any,
    reason: str,
    check_permission: bool = True,
) -> Order:
    """Cancel an order whose order and sales order rows the caller locked, in that order (as
    ``commerce.services.locks.sales_order_lock`` does; module docstring); ``check_permission``
    False for system steps."""
    from commerce.services.allocation_moves import allocations_release

    if sales_order_shipped(tenant=tenant, sales=sales):
        raise Conflict(
            "Goods of this order have shipped: it can no longer be cancelled (use a return).",
            extra={"status": order.status},
        )
    fulfilments = list(
        Fulfilment.objects.for_tenant(tenant)
        .select_for_update()
        .filter(sales_order=sales, state__in=OPEN_FULFILMENT)
        .order_by("pk")
    )
    summary = allocations_release(tenant_id=tenant.pk, sales_order=sales)
    for fulfilment in fulfilments:
        fulfilment.cancel()
        fulfilment.save(update_fields=["state", "updated_at"])
    summary["fulfilments_canceled"] = [f.pk for f in fulfilments]
    return order_apply_transition(
        order=order,
        transition="cancel",
        actor=actor,
        reason=reason,
        data=summary,
        check_permission=check_permission,
    )
