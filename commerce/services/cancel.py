"""Cancelling a sales order: every active allocation and reservation is released and every
unshipped fulfilment cancelled, in the same transaction as the transition, whose journal row
lists what was released. A person's cancel (the sales kind's cancel handler) and a
marketplace's cancellation (a system step) both come here.

Once goods have shipped:

- a ``partial`` order (some goods shipped, the rest waiting: routed again, backordered or in
  a new fulfilment) may still be cancelled: the unshipped remainder is cancelled (released as
  above) and the order is closed as ``completed`` with what shipped, journaled ``completed``
  with ``remainder_canceled`` (per line, the quantity that will not ship). It is not
  ``canceled``: the shipped goods were sold (they stay payable and capturable, count in the
  sales report, and come back, if at all, through a return). Its fulfilment status stays
  ``partially_fulfilled``, which tells the two apart from a fully shipped order. The request
  needs the role that may cancel the order (403 otherwise, nothing changed);
- any other order (all goods shipped) is refused (409): a return follows instead.

Locks, in the global order of ``commerce.services.locks``: the caller holds the order and
sales order rows (``sales_order_lock``); then the open fulfilments, the active allocations,
the active reservations and their stock rows, each set by pk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django_fsm import has_transition_perm

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    SalesOrder,
    SalesOrderLine,
)
from oms_site.errors import Conflict, PermissionDenied
from orders.models import Order, OrderStatus
from orders.services import order_apply_transition
from tenancy.models import Tenant

OPEN_FULFILMENT = (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED)
SHIPPED_FULFILMENT = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
ZERO = Decimal("0")


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


def _unshipped(*, tenant: Tenant, sales: SalesOrder) -> list[dict[str, Any]]:
    """Per order line, the quantity that has not shipped (lines fully shipped left out)."""
    shipped = dict(
        FulfilmentLine.objects.for_tenant(tenant)
        .filter(fulfilment__sales_order=sales, fulfilment__state__in=SHIPPED_FULFILMENT)
        .values("line_id")
        .annotate(q=Sum("shipped_quantity"))
        .values_list("line_id", "q")
    )
    rows = []
    for line in (
        SalesOrderLine.objects.for_tenant(tenant).filter(sales_order=sales).order_by("line_no")
    ):
        left = line.quantity - (shipped.get(line.pk) or ZERO)
        if left > 0:
            rows.append({"line": line.line_no, "sku": line.sku, "quantity": left})
    return rows


def _release(*, tenant: Tenant, sales: SalesOrder) -> dict[str, Any]:
    """Release the order's allocations and reservations and cancel its open fulfilments."""
    from commerce.services.allocation_moves import allocations_release

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
    return summary


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
    ``commerce.services.locks.sales_order_lock`` does), or close the unshipped remainder of a
    partially shipped one (module docstring); ``check_permission`` False for system steps."""
    if not sales_order_shipped(tenant=tenant, sales=sales):
        summary = _release(tenant=tenant, sales=sales)
        return order_apply_transition(
            order=order,
            transition="cancel",
            actor=actor,
            reason=reason,
            data=summary,
            check_permission=check_permission,
        )
    if order.status != OrderStatus.PARTIAL:
        raise Conflict(
            "Goods of this order have shipped: it can no longer be cancelled (use a return).",
            extra={"status": order.status},
        )
    if check_permission and (actor is None or not has_transition_perm(order.cancel, actor)):
        raise PermissionDenied("Your role may not cancel this order.")
    remainder = _unshipped(tenant=tenant, sales=sales)
    summary = _release(tenant=tenant, sales=sales)
    return order_apply_transition(
        order=order,
        transition="complete",
        actor=actor,
        reason=reason or "Unshipped remainder canceled.",
        data={**summary, "remainder_canceled": remainder},
        check_permission=False,
    )
