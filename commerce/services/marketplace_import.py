"""The upsert of marketplace orders: one page of orders in a handful of statements.

:func:`orders_upsert` stores one page (a list of :class:`MarketOrder`) inside the caller's
transaction, keyed by (tenant, channel, external id), the unique constraint of ``SalesOrder``:

1. The channel row is locked (``SELECT ... FOR NO KEY UPDATE``): every writer of a channel's
   marketplace orders (sync pages, Shopify webhooks) goes through it, so the read of the
   existing rows below is not racy; the unique constraints of ``Order`` and ``SalesOrder``
   remain the arbiter (an insert that hits them raises ``IntegrityError`` and the caller
   retries the page, which then finds the row). ``NO KEY`` because rows pointing at the
   channel (a webhook's ``WebhookEvent``, an order entered through the API) take ``KEY SHARE``
   on it before they would wait for this lock: a plain ``FOR UPDATE`` would deadlock with them
   (an API entry of the same external id holds its ``Order`` row, which our insert waits for).
2. One query reads the stored (order id, marketplace_updated_at) of the page's external ids
   (one probe of ``SalesOrder``'s unique index per key, see ``import_rows.sales_orders_stored``).
3. Orders already stored: an update whose ``updated_at`` is not newer than the stored
   ``marketplace_updated_at`` is ignored (``skipped``: a re-sync of unchanged pages writes
   nothing); the newer ones update the marketplace status/time with a ``MARKETPLACE_UPDATED``
   journal row each (set-based: lock, update and journal in one statement each for the page),
   and a marketplace cancellation cancels the order as the sales kind's cancel does (stock
   released, unshipped fulfilments canceled) as a system step.
4. New orders (state ``open``) are validated and written set-based, one statement per table
   (``commerce.services.marketplace_insert``: references, ``Order``, ``SalesOrder``, lines,
   payment + capture, one ``IMPORTED`` journal row per order, screening, routing hook). New
   orders the marketplace reports as pending (not yet paid), shipped (fulfilled outside this
   OMS) or canceled are ``skipped``.

Payment: a marketplace collects the buyer's money itself, so an imported order is paid. This is
recorded as one ``Payment`` (method ``marketplace``, provider reference = the external id,
authorised = captured = grand total, state ``captured``) and one ``capture`` operation
(idempotency key ``mkt:<channel id>:<external id>:capture``, amounts in order and base currency
with the rate used), and the order's ``payment_status`` is ``paid``; the ``IMPORTED`` journal row
carries the payment. Refunds then work against that captured amount.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from commerce.marketplaces.base import MarketOrder, MarketState
from commerce.models import Channel, SalesOrder
from commerce.services.import_rows import channel_lock, sales_orders_stored
from commerce.services.locks import sales_orders_lock
from commerce.services.marketplace_insert import UpsertResult, market_orders_insert
from oms_site.errors import NotFound
from oms_site.rows import rows_set
from orders.models import EventKind, Order, OrderEvent, OrderStatus
from orders.services import Actor, event_record, journal_row
from tenancy.models import Tenant

__all__ = ["UpsertResult", "orders_upsert"]


# --- the upsert ---------------------------------------------------------------------------------


def _newest_per_id(orders: Sequence[MarketOrder]) -> list[MarketOrder]:
    """One entry per external id: the most recently modified one."""
    newest: dict[str, MarketOrder] = {}
    for market in orders:
        seen = newest.get(market.external_id)
        if seen is None or market.updated_at > seen.updated_at:
            newest[market.external_id] = market
    return list(newest.values())


def orders_upsert(
    *,
    tenant: Tenant,
    channel: Channel,
    orders: Sequence[MarketOrder],
    actor: Actor = None,
    run_id: int | None = None,
) -> UpsertResult:
    """Store one page of marketplace orders (call inside a transaction; see module doc)."""
    result = UpsertResult()
    channel_lock(tenant_id=tenant.pk, channel_id=channel.pk)
    page = _newest_per_id(orders)
    result.skipped += len(orders) - len(page)
    stored = sales_orders_stored(
        tenant_id=tenant.pk, channel_id=channel.pk, external_ids=[m.external_id for m in page]
    )
    fresh: list[MarketOrder] = []
    newer: list[tuple[int, MarketOrder]] = []
    for market in page:
        row = stored.get(market.external_id)
        if row is None:
            if market.state == MarketState.OPEN:
                fresh.append(market)
            else:
                result.skipped += 1
        elif row[1] is not None and market.updated_at <= row[1]:
            result.skipped += 1
        else:
            newer.append((row[0], market))
    if newer:
        _apply_updates(tenant=tenant, updates=newer, actor=actor)
        result.updated += len(newer)
    if fresh:
        market_orders_insert(
            tenant=tenant, channel=channel, orders=fresh, actor=actor, run_id=run_id, result=result
        )
    return result


def _apply_updates(*, tenant: Tenant, updates: list[tuple[int, MarketOrder]], actor: Actor) -> None:
    """Newer marketplace versions of stored orders: status/time, journal, cancellation.

    Set-based: the orders and then their sales details are locked by
    ``commerce.services.locks.sales_orders_lock`` (the lock order of every commerce writer),
    the details updated in one statement and one ``MARKETPLACE_UPDATED`` journal row
    per order written in one more. Only a cancellation (rare: the marketplace canceled an order
    already imported) takes its own statements, those of the sales kind's cancel path."""
    details = {
        s.pk: s
        for s in sales_orders_lock(tenant=tenant, order_ids=[order_id for order_id, _ in updates])
    }
    if len(details) != len({order_id for order_id, _ in updates}):
        raise NotFound("Order not found.")
    now = timezone.now()
    events: list[OrderEvent] = []
    for order_id, market in updates:
        sales = details[order_id]
        previous = sales.marketplace_status
        sales.marketplace_status = market.marketplace_status
        sales.marketplace_updated_at = market.updated_at
        sales.updated_at = now
        events.append(
            journal_row(
                order_id=order_id,
                tenant_id=tenant.pk,
                kind=EventKind.MARKETPLACE_UPDATED,
                actor=actor,
                data={
                    "from": previous,
                    "to": market.marketplace_status,
                    "marketplace_updated_at": market.updated_at,
                },
            )
        )
    rows_set(
        SalesOrder,
        tenant.pk,
        [details[order_id] for order_id, _ in updates],
        ["marketplace_status", "marketplace_updated_at", "updated_at"],
    )
    OrderEvent.objects.bulk_create(events)
    for order_id, market in updates:
        order = details[order_id].order
        if market.state == MarketState.CANCELED:
            _cancel_from_marketplace(
                tenant=tenant, order=order, sales=details[order_id], actor=actor, market=market
            )


def _cancel_from_marketplace(
    *, tenant: Tenant, order: Order, sales: SalesOrder, actor: Actor, market: MarketOrder
) -> None:
    """The marketplace canceled the order: the same release as a person's cancel (the sales
    kind's cancel path: active allocations and reservations released, unshipped fulfilments
    canceled, all in this transaction) as a system step. An order partly shipped has its
    unshipped remainder closed that way (it completes with what shipped). An order completed
    (every good shipped) has nothing left to cancel: that is journaled as a note for staff (a
    return or a refund follows); an order already canceled, rejected or expired is left as is."""
    from commerce.services.cancel import sales_order_cancel

    reason = f"Canceled at the marketplace ({market.marketplace_status})."
    if order.status == OrderStatus.COMPLETED:
        event_record(
            order=order,
            kind=EventKind.NOTE,
            actor=actor,
            reason=f"{reason} Goods have already shipped: not canceled here.",
        )
    elif not order.is_terminal:
        sales_order_cancel(
            tenant=tenant,
            order=order,
            sales=sales,
            actor=actor,
            reason=reason,
            check_permission=False,
        )
