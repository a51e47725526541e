"""How sales orders plug into the common workflow (registered in CommerceConfig.ready).

- Entry only through the commerce API / ``sales_order_create`` (generic entry off).
- An order that passes screening opens at once; a held one waits for a reviewer.
- Once open (after submission, or a reviewer's approval), routing runs after the transaction
  commits (``route_sales_order`` on the ``routing`` queue). A point-of-sale order is routed in
  the same transaction instead: the goods are at the counter and the sale completes at once.
- Sales orders carry no generic expiry (reservations expire instead).
- Cancel: ``commerce.services.cancel.sales_order_cancel`` (a partially shipped order closes
  its unshipped remainder and completes; 409 once everything shipped), with the order's rows
  locked as every commerce writer locks them (``commerce.services.locks``).
"""

from __future__ import annotations

from typing import Any

from commerce.models import (
    Channel,
    ChannelKind,
    SalesOrder,
)
from oms_site.celery import enqueue_after_commit
from orders.models import Order, OrderStatus
from orders.services import order_apply_transition
from tenancy.models import Tenant


def route_after_commit(order: Order) -> None:
    if order.status != OrderStatus.OPEN:
        return
    sales = SalesOrder.objects.for_tenant(order.tenant_id).select_related("channel")
    detail = sales.filter(pk=order.pk).first()
    if detail is not None and detail.channel.kind == ChannelKind.POS:
        from commerce.services.pos import pos_sale_complete

        pos_sale_complete(order=order, actor=order.created_by)
        return
    from commerce.tasks import route_sales_order

    enqueue_after_commit(route_sales_order, tenant_id=order.tenant_id, order_id=order.pk)


def cancel_request(*, tenant: Tenant, order: Order, actor: Any, reason: str) -> Order:
    """The order row is locked by the caller (``orders.services.order_transition``); its sales
    order row is locked next (``commerce.services.locks.sales_order_lock``), before anything
    else, as by every other writer of the order."""
    from commerce.services.cancel import sales_order_cancel
    from commerce.services.locks import sales_order_lock

    if not SalesOrder.objects.for_tenant(tenant).filter(pk=order.pk).exists():
        return order_apply_transition(order=order, transition="cancel", actor=actor, reason=reason)
    sales = sales_order_lock(tenant=tenant, sales_order_id=order.pk, order=order)
    return sales_order_cancel(tenant=tenant, order=order, sales=sales, actor=actor, reason=reason)


def route_many_after_commit(orders: list[Order]) -> None:
    """Set-based entry: one routing task for the batch's open orders (point-of-sale orders
    are routed at once, in the same transaction). The tenant's point-of-sale channels are
    looked up first (a few rows at most): a tenant without any, or a batch none of whose
    orders came through one, costs no look-up of the batch's orders by id."""
    open_ids = sorted(o.pk for o in orders if o.status == OrderStatus.OPEN)
    if not open_ids:
        return
    tenant_id = orders[0].tenant_id
    tills = list(
        Channel.objects.for_tenant(tenant_id)
        .filter(kind=ChannelKind.POS)
        .values_list("pk", flat=True)
    )
    pos: set[int] = set()
    if tills:
        pos = set(
            SalesOrder.objects.for_tenant(tenant_id)
            .filter(pk__in=open_ids, channel_id__in=tills)
            .values_list("pk", flat=True)
        )
    if pos:
        from commerce.services.pos import pos_sale_complete

        for order in orders:
            if order.pk in pos:
                pos_sale_complete(order=order, actor=order.created_by)
    rest = [pk for pk in open_ids if pk not in pos]
    if rest:
        from commerce.tasks import route_sales_orders

        enqueue_after_commit(route_sales_orders, tenant_id=tenant_id, order_ids=rest)
