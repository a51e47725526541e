"""Where every venue's reports land: one entry point, whatever the adapter.

A report normally names its child by ``cl_ord_id``: the child's parent is locked (the trading
lock order), then the child, and the report is applied in its own (nested) transaction.

An OMS path that already holds a parent and its children locked in the current transaction
(sending a child, canceling it, matching it on the simulated exchange) puts them *in hand*
(:func:`children_in_hand`) before it calls the venue adapter: a report about one of those
children delivered meanwhile on this thread (an in-process venue answers synchronously) is
applied to those very objects, with no lookup, no re-lock and no re-read. A report delivered
on any other thread (a FIX session) never sees them and takes the normal path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from orders.models import TERMINAL_STATUSES
from trading.models import TradeOrder, VenueOrder, VenueOrderState
from trading.models.orders import VENUE_ORDER_LIVE
from trading.services import lifecycle
from trading.services.write_behind import row_save, writes_deferred, writes_flush
from trading.venues.base import ReportKind, VenueReport

logger = logging.getLogger(__name__)

_Key = tuple[int, str]
_local = threading.local()


def _held() -> dict[_Key, tuple[TradeOrder, VenueOrder]]:
    held: dict[_Key, tuple[TradeOrder, VenueOrder]] | None = getattr(_local, "held", None)
    if held is None:
        held = _local.held = {}
    return held


@contextmanager
def children_in_hand(trade: TradeOrder, children: Iterable[VenueOrder]) -> Iterator[None]:
    """While the block runs, reports about ``children`` (delivered on this thread) apply to
    these objects. The caller holds ``trade`` and ``children`` locked in its transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("children_in_hand needs the transaction that holds their locks.")
    held = _held()
    saved: dict[_Key, tuple[TradeOrder, VenueOrder] | None] = {}
    for child in children:
        child.order = trade
        key = (child.tenant_id, child.cl_ord_id)
        saved.setdefault(key, held.get(key))
        held[key] = (trade, child)
    try:
        with writes_deferred():
            yield
    finally:
        for key, previous in saved.items():
            if previous is None:
                held.pop(key, None)
            else:
                held[key] = previous


@contextmanager
def child_locked_in_hand(*, tenant_id: int, venue_order_id: int) -> Iterator[VenueOrder | None]:
    """One transaction: the child locked the trading way (``lifecycle.child_lock``) and put in
    hand; None when there is no such child."""
    with transaction.atomic():
        child = lifecycle.child_lock(tenant_id=tenant_id, venue_order_id=venue_order_id)
        if child is None:
            yield None
            return
        with children_in_hand(child.order, [child]):
            yield child


def child_current(child: VenueOrder) -> VenueOrder:
    """The child as the OMS has it now: the object in hand, else re-read from the database."""
    held = _held().get((child.tenant_id, child.cl_ord_id))
    if held is not None:
        return held[1]
    writes_flush()
    return (
        VenueOrder.objects.for_tenant(child.tenant_id)
        .select_related("venue", "order__instrument")
        .get(pk=child.pk)
    )


def venue_report_apply(report: VenueReport) -> None:
    """Apply one venue report to its child and parent order (idempotent per exec id / state)."""
    held = _held().get((report.tenant_id, report.cl_ord_id))
    if held is not None:
        _apply(report, *held)  # already locked in this very transaction
        return
    writes_flush()  # the rows this transaction may re-read below, as it has them
    with transaction.atomic():
        child_ref = (
            VenueOrder.objects.for_tenant(report.tenant_id)
            .filter(cl_ord_id=report.cl_ord_id)
            .values_list("pk", "order_id")
            .first()
        )
        if child_ref is None:
            logger.error("venue report for unknown child %s ignored", report.cl_ord_id)
            return
        child_pk, order_id = child_ref
        trade = lifecycle.trade_lock(tenant_id=report.tenant_id, order_id=order_id)
        child = (
            VenueOrder.objects.for_tenant(report.tenant_id)
            .select_for_update(of=("self",))
            .select_related("venue")
            .get(pk=child_pk)
        )
        child.order = trade
        _apply(report, trade, child)


def _apply(report: VenueReport, trade: TradeOrder, child: VenueOrder) -> None:
    kind = report.kind
    if kind == ReportKind.ACK:
        if child.state == VenueOrderState.PENDING_NEW:
            child.state = VenueOrderState.NEW
            child.venue_order_id = report.venue_order_id
            row_save(child, ["state", "venue_order_id", "updated_at"])
        lifecycle.acknowledge(trade)
        lifecycle.trade_save(trade)
    elif kind == ReportKind.FILL:
        lifecycle.fill_apply(
            trade=trade,
            child=child,
            exec_id=report.exec_id,
            last_qty=report.last_qty,
            last_px=report.last_px,
            liquidity=report.liquidity,
            fee=report.fee,
            transacted_at=report.transacted_at,
        )
    elif kind in (ReportKind.CANCELED, ReportKind.EXPIRED, ReportKind.REJECTED):
        if child.state in (
            VenueOrderState.CANCELED,
            VenueOrderState.EXPIRED,
            VenueOrderState.REJECTED,
            VenueOrderState.FILLED,
        ):
            return  # already ended: a repeated report changes nothing
        state = {
            ReportKind.CANCELED: VenueOrderState.CANCELED,
            ReportKind.EXPIRED: VenueOrderState.EXPIRED,
            ReportKind.REJECTED: VenueOrderState.REJECTED,
        }[kind]
        lifecycle.child_done(trade, child, state, report.text)
    elif kind == ReportKind.CANCEL_REJECTED:
        lifecycle.cancel_rejected(trade, report.text or "Cancel rejected by the venue.")
    elif kind == ReportKind.REPLACED:
        _replaced(trade, child)
    elif kind == ReportKind.REPLACE_REJECTED:
        lifecycle.replace_rejected(trade, report.text or "Replace rejected by the venue.")
    elif kind == ReportKind.DONE_FOR_DAY:
        lifecycle.child_done_for_day(trade, child, report.text)
    elif kind == ReportKind.RESTATED:
        lifecycle.child_restated(trade, child, report.text)


def _replaced(trade: TradeOrder, child: VenueOrder) -> None:
    if child.state not in VENUE_ORDER_LIVE or trade.order.status in TERMINAL_STATUSES:
        # Filled (or ended) before the venue confirmed: the replace came too late.
        lifecycle.replace_rejected(trade, "Too late to replace: the order is done.")
        return
    if trade.pending_quantity is not None:
        # The child keeps what it filled and works the parent's new leaves quantity.
        child.quantity = lifecycle.child_replace_quantity(trade, child)
        if child.quantity == child.cum_qty:
            child.state = VenueOrderState.FILLED
        if trade.pending_limit_price is not None:
            child.limit_price = trade.pending_limit_price
        row_save(child, ["quantity", "limit_price", "state", "updated_at"])
    lifecycle.replace_confirmed(trade)
