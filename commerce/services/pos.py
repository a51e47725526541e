"""Point of sale: the customer pays at the till and takes the goods with them.

A sales order of a ``pos`` channel is, in its entry transaction: allocated from the channel's
store (``commerce.services.allocation``), then handed over: one fulfilment from the store,
shipped with carrier ``handover`` and delivered at once, and paid: a payment (method ``pos``)
authorised and captured for the grand total, which issues the invoice. A sale with a zero total
(fully discounted, a giveaway) takes no payment and issues no invoice: nothing is owed, so its
derived payment status is ``paid`` all the same (``commerce.services.status``). The order ends
``completed``, ``paid`` and ``delivered``. Each step goes through its own service, so the
journal, the stock and the derived statuses are what they would be for any order.

If the store's stock cannot cover the sale the entry is refused (409 naming the missing
quantities) and nothing is stored: a till cannot hand over goods the system says are not
there (correct the stock first). The operations are idempotent by keys derived from the
order id, so a replayed entry does nothing twice.
"""

from __future__ import annotations

from typing import Any

from commerce.models import AllocationState, SalesOrder
from oms_site.errors import Conflict
from orders.models import Order

POS_CARRIER = "handover"
POS_METHOD = "pos"


def pos_sale_complete(*, order: Order, actor: Any) -> SalesOrder:
    """Allocate, hand over and take payment for a point-of-sale order (module docstring)."""
    from commerce.services.allocation import sales_orders_route
    from commerce.services.fulfilment import (
        fulfilment_deliver,
        fulfilment_ship,
        fulfilments_create_for_order,
    )
    from commerce.services.payments import payment_authorize, payment_capture

    tenant = order.tenant
    sales_orders_route(tenant_id=tenant.pk, order_ids=[order.pk], actor=actor)
    sales = SalesOrder.objects.for_tenant(tenant).get(pk=order.pk)
    if sales.allocation_state != AllocationState.ALLOCATED:
        raise Conflict(
            "The store does not have every line of this sale in stock.",
            extra={"allocation_state": sales.allocation_state},
        )
    for fulfilment in fulfilments_create_for_order(
        tenant=tenant, actor=actor, sales_order_id=sales.pk
    ):
        fulfilment_ship(
            tenant=tenant, actor=actor, fulfilment_id=fulfilment.pk, carrier=POS_CARRIER
        )
        fulfilment_deliver(tenant=tenant, actor=actor, fulfilment_id=fulfilment.pk)
    if sales.grand_total > 0:
        authorized = payment_authorize(
            tenant=tenant,
            actor=actor,
            sales_order_id=sales.pk,
            amount=sales.grand_total,
            idempotency_key=f"pos:{sales.pk}:authorize",
            method=POS_METHOD,
        )
        payment_capture(
            tenant=tenant,
            actor=actor,
            payment_id=authorized.payment_id,
            amount=sales.grand_total,
            idempotency_key=f"pos:{sales.pk}:capture",
        )
    return SalesOrder.objects.for_tenant(tenant).get(pk=order.pk)
