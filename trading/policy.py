"""How trade orders plug into the common workflow (registered in TradingConfig.ready)."""

from __future__ import annotations

from typing import Any

from oms_site.celery import enqueue_after_commit
from orders.models import Order, OrderStatus
from orders.services import order_apply_transition, order_lock
from tenancy.models import Tenant


def route_after_commit(order: Order) -> None:
    """After entry (screened) or a reviewer's approval: route once the transaction commits."""
    from trading.tasks import route_order

    if order.status in (OrderStatus.PENDING, OrderStatus.OPEN):
        enqueue_after_commit(route_order, tenant_id=order.tenant_id, order_id=order.pk)


def route_many_after_commit(orders: list[Order]) -> None:
    """After a batch entry: one routing task for the batch's routable orders."""
    from trading.tasks import route_orders

    routable = [o.pk for o in orders if o.status in (OrderStatus.PENDING, OrderStatus.OPEN)]
    if routable:
        enqueue_after_commit(route_orders, tenant_id=orders[0].tenant_id, order_ids=routable)


def cancel_request(*, tenant: Tenant, order: Order, actor: Any, reason: str) -> Order:
    """A person's cancel of a trade order goes to its venues (PendingCancel until confirmed).

    An order with no trade detail (none is entered that way) falls back to the generic cancel.
    """
    from trading.models import TradeOrder
    from trading.services.requests import trade_order_cancel

    if not TradeOrder.objects.for_tenant(tenant).filter(pk=order.pk).exists():
        order = order_lock(tenant=tenant, order_id=order.pk)
        return order_apply_transition(order=order, transition="cancel", actor=actor, reason=reason)
    return trade_order_cancel(tenant=tenant, order=order, actor=actor, reason=reason)
