"""Row locks of sales orders: the one way a commerce writer locks "this sales order".

Every commerce service that writes an order (payments, refunds, returns, exchanges, invoices,
fulfilment, cancellation, routing and allocation moves) takes its row locks in this one global
order, so two transactions never wait for each other in a cycle (on PostgreSQL a cycle is a
``deadlock detected`` error for one of them):

1. the common ``orders.Order`` row (several orders: all of them, by pk);
2. the ``SalesOrder`` row (same pk as its order; several: all of them, by pk);
3. rows of that order only, each kind by pk, in this sequence: fulfilments, fulfilment lines,
   allocations, reservations, returns, return lines, payments;
4. stock rows (``Stock``, shared by every order), by pk, all in one statement where one
   transaction needs several;
5. tenant-wide counters last: ``DocumentSequence`` (invoice, credit note and RMA numbers) and
   ``OrderSequence`` (references of orders created in the transaction, e.g. an exchange).

Steps 1 and 2 are :func:`sales_order_lock` (one order) and :func:`sales_orders_lock` (a
routing batch). Rows a transaction inserts itself (a new payment, allocation, exchange order)
are invisible to others until it commits and take no place in the sequence.

Why the order row comes first, even for money operations that never change it: inserting a row
that references an order (the journal ``OrderEvent`` every write appends, a payment, an
allocation, ...) takes a ``FOR KEY SHARE`` lock on the referenced row, which waits for a
transaction holding that row ``FOR UPDATE``. A writer that locked only the sales order and then
journaled would wait for the order row while holding the sales order row, the reverse of a
shipment or a cancellation. So every writer holds both rows before it writes anything.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from commerce.models import SalesOrder
from oms_site.errors import NotFound
from orders.models import Order, OrderKind
from orders.selectors import orders_for_update
from tenancy.models import Tenant


def sales_order_lock(
    *,
    tenant: Tenant | int,
    sales_order_id: int,
    order: Order | None = None,
    not_found: str = "Sales order not found.",
) -> SalesOrder:
    """Lock "this sales order": the common order row, then the sales order row (steps 1 and 2
    of the module docstring), before any other row of it; wait while another writer holds them.

    Returns the sales order with ``.order`` (the locked order) and ``.channel`` loaded. An id
    of another tenant, of another kind of order or of no order raises ``NotFound(not_found)``
    (404). ``order``: the order row when the caller locked it already
    (``orders.services.order_transition`` hands it to the kind's handlers); only the sales
    order row is locked then. Later locks of the transaction follow steps 3-5.
    """
    if order is None:
        order = (
            orders_for_update(tenant=tenant).filter(pk=sales_order_id, kind=OrderKind.SALES).first()
        )
        if order is None:
            raise NotFound(not_found)
    sales = (
        SalesOrder.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk=order.pk)
        .first()
    )
    if sales is None:
        raise NotFound(not_found)
    sales.order = order
    return sales


def sales_orders_lock(
    *,
    tenant: Tenant | int,
    order_ids: Sequence[int],
    statuses: Collection[str] | None = None,
) -> list[SalesOrder]:
    """The batch form of :func:`sales_order_lock` (routing): every order row, then every sales
    order row, each set in one statement ordered by pk. Ids of other tenants, of other kinds,
    of no order, or (with ``statuses``) of orders in another status are skipped. Returns the
    sales orders by pk, each with ``.order`` and ``.channel`` loaded."""
    orders = orders_for_update(tenant=tenant).filter(pk__in=list(order_ids), kind=OrderKind.SALES)
    if statuses is not None:
        orders = orders.filter(status__in=list(statuses))
    locked = {order.pk: order for order in orders}
    if not locked:
        return []
    sales_orders = list(
        SalesOrder.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk__in=list(locked))
        .order_by("pk")
    )
    for sales in sales_orders:
        sales.order = locked[sales.pk]
    return sales_orders
