"""Routing a trade order to venues (runs in the ``routing`` worker) and sending children."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from oms_site.celery import enqueue_after_commit
from oms_site.errors import NotFound
from orders.models import EventKind, OrderStatus
from orders.services import event_record
from trading.models import (
    ExecType,
    Handling,
    OrderType,
    Quote,
    Side,
    TradeOrder,
    Venue,
    VenueOrder,
    VenueOrderState,
)
from trading.routing import PlannedChild, VenueQuote, plan_route
from trading.services import lifecycle
from trading.services.reports import report_emit
from trading.services.venue_reports import children_in_hand
from trading.services.write_behind import row_save
from trading.venues.base import adapter_for, sends_in_transaction

STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


def _venue_quotes(trade: TradeOrder) -> list[VenueQuote]:
    """Every active venue trading the instrument's asset class, with its quote (one query)."""
    buy = trade.side == Side.BUY
    prefix = "ask" if buy else "bid"
    venues = (
        Venue.objects.for_tenant(trade.tenant_id)
        .filter(active=True)
        .annotate(
            on_quote=FilteredRelation(
                "quotes", condition=Q(quotes__instrument_id=trade.instrument_id)
            ),
            quote_price=F(f"on_quote__{prefix}"),
            quote_size=F(f"on_quote__{prefix}_size"),
        )
    )
    return [
        VenueQuote(
            venue=venue,
            price=venue.quote_price,
            size=Decimal("0") if venue.quote_size is None else venue.quote_size,
        )
        for venue in venues
        if venue.trades(trade.instrument.asset_class)
    ]


def _last_price(trade: TradeOrder) -> Decimal | None:
    """The instrument's latest last-trade price on any venue (None before any trade)."""
    return (
        Quote.objects.for_tenant(trade.tenant_id)
        .filter(instrument=trade.instrument, last__isnull=False)
        .order_by("-updated_at", "-pk")
        .values_list("last", flat=True)
        .first()
    )


def effective_order_type(trade: TradeOrder) -> str:
    """A triggered stop works as a market order; a triggered stop-limit as a limit order."""
    if trade.order_type == OrderType.STOP_LIMIT:
        return OrderType.LIMIT
    if trade.order_type in STOP_TYPES:
        return OrderType.MARKET
    return trade.order_type


@transaction.atomic
def order_route(*, tenant_id: int, order_id: int) -> list[int]:
    """Plan and create the children of an order; idempotent (a routed order is left alone).

    Returns the ids of the children created. A lone child whose venue adapter answers in
    process (``sends_in_transaction``) is sent here, in this transaction, with the parent and
    the child in hand (its reports apply without a re-lock or a re-read); any other child is
    sent after commit by its own task (``venue_order_send``).
    """
    try:
        trade = lifecycle.trade_lock(tenant_id=tenant_id, order_id=order_id)
    except (NotFound, TradeOrder.DoesNotExist):
        return []  # not a trade order (a stray id): nothing to route, nothing to retry
    if trade.order.status not in (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIAL):
        return []
    if trade.handling == Handling.CARE or trade.pending:
        return []
    if trade.order_type in STOP_TYPES and not trade.triggered:
        lifecycle.acknowledge(trade)  # a stop is New at the OMS until it triggers
        if trade.order_type == OrderType.TRAILING_STOP and trade.trail_watermark is None:
            trade.trail_watermark = _last_price(trade)  # the trail starts from the market
        lifecycle.trade_save(trade)
        return []
    if VenueOrder.objects.for_tenant(tenant_id).filter(order=trade).exists():
        return []
    plan = plan_route(
        side=trade.side,
        quantity=trade.leaves_qty,
        order_type=effective_order_type(trade),
        limit_price=trade.limit_price,
        time_in_force=trade.time_in_force,
        lot_size=trade.instrument.lot_size,
        quotes=_venue_quotes(trade),
        directed=trade.venue,
    )
    event_record(
        order=trade.order,
        kind=EventKind.ROUTED,
        actor=None,
        reason=plan.reject_reason or plan.kill_reason,
        data={
            "compared": plan.compared,
            "children": [
                {
                    "venue": c.venue.code,
                    "quantity": c.quantity,
                    "limit_price": c.limit_price,
                    "tif": c.time_in_force,
                }
                for c in plan.children
            ],
        },
    )
    if plan.reject_reason and not plan.children:
        if trade.order.status == OrderStatus.PENDING:
            trade.leaves_qty = 0
            lifecycle._transition(trade, "reject", plan.reject_reason)
            report_emit(trade=trade, exec_type=ExecType.REJECTED, text=plan.reject_reason)
            lifecycle.trade_save(trade)
        else:
            lifecycle.parent_close(trade, state=VenueOrderState.CANCELED, text=plan.reject_reason)
        return []
    if plan.kill_reason:
        lifecycle.parent_close(trade, state=VenueOrderState.CANCELED, text=plan.kill_reason)
        return []
    return _children_create_and_send(trade, plan.children)


def _children_create_and_send(trade: TradeOrder, planned: list[PlannedChild]) -> list[int]:
    from trading.tasks import venue_order_send

    # A lone child whose adapter answers in process is sent in this transaction. A sweep's
    # children are each sent by their own task, one transaction apiece, as any child of an
    # outside venue is: a venue may lock its own rows (a simulated book) while it answers,
    # and one transaction taking several venues' rows, in price order, could deadlock with
    # another taking them in another order.
    inline = len(planned) == 1 and sends_in_transaction(planned[0].venue)
    now = timezone.now()
    created = VenueOrder.objects.bulk_create(
        [
            VenueOrder(
                tenant_id=trade.tenant_id,
                order=trade,
                venue=child.venue,
                cl_ord_id=f"{trade.order.reference}-{n}",
                side=trade.side,
                quantity=child.quantity,
                limit_price=child.limit_price,
                time_in_force=child.time_in_force,
                auction=child.auction,
                sent_at=now if inline else None,
            )
            for n, child in enumerate(planned, start=1)
        ]
    )
    if created and not created[0].pk:  # a backend that returns no ids from a bulk insert
        created = list(
            VenueOrder.objects.for_tenant(trade.tenant_id)
            .filter(order=trade)
            .select_related("venue")
            .order_by("pk")
        )
    now_sent = [c for c in created if c.sent_at is not None]
    if now_sent:
        with children_in_hand(trade, now_sent):
            for child in now_sent:
                adapter_for(child.venue).send(child)
    for child in created:
        if child.sent_at is None:
            enqueue_after_commit(
                venue_order_send, tenant_id=trade.tenant_id, venue_order_id=child.pk
            )
    return [c.pk for c in created]


@transaction.atomic
def venue_order_send(*, tenant_id: int, venue_order_id: int) -> bool:
    """Send one child to its venue once (a repeated task sends nothing)."""
    child = lifecycle.child_lock(tenant_id=tenant_id, venue_order_id=venue_order_id)
    if child is None or child.sent_at is not None or child.state != VenueOrderState.PENDING_NEW:
        return False
    child.sent_at = timezone.now()
    with children_in_hand(child.order, [child]):
        row_save(child, ["sent_at", "updated_at"])  # written with the reports' changes
        adapter_for(child.venue).send(child)
    return True


@transaction.atomic
def venue_order_cancel_send(*, tenant_id: int, venue_order_id: int) -> None:
    """Ask the child's venue to cancel it (its answer comes back as a report)."""
    child = lifecycle.child_lock(tenant_id=tenant_id, venue_order_id=venue_order_id)
    if child is not None:
        with children_in_hand(child.order, [child]):
            adapter_for(child.venue).cancel(child)


@transaction.atomic
def venue_order_replace_send(*, tenant_id: int, venue_order_id: int) -> None:
    """Ask the child's venue to apply the parent's pending replace (if still pending)."""
    child = lifecycle.child_lock(tenant_id=tenant_id, venue_order_id=venue_order_id)
    if child is None:
        return
    trade = child.order
    if trade.pending_quantity is None:
        return  # the replace was settled meanwhile
    quantity = lifecycle.child_replace_quantity(trade, child)
    with children_in_hand(trade, [child]):
        adapter_for(child.venue).replace(child, quantity, trade.pending_limit_price)
