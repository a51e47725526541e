"""The life of a trade order after entry, driven by its venues' reports (FIX 4.4 semantics).

Lock order, always: the common ``Order`` row, then ``TradeOrder``, then ``VenueOrder`` rows
(by pk). Every change appends an ``ExecutionReport`` as a client would receive it.

Done for day and restatement follow the FIX Order State Change Matrices (Appendix D), scenario
"GTC order partially filled, restated (renewed) and partially filled the following day":

==========  ==============  ===============  ======  ======  ======  =======================
Day, step   ExecType        OrdStatus        CumQty  Leaves  LastQty Comment
==========  ==============  ===============  ======  ======  ======  =======================
1, 2        New             New              0       10000   0
1, 3        Trade           PartiallyFilled  2000    8000    2000
1, 4        DoneForDay      DoneForDay       2000    8000    0       end of the trading day
2, 1        Restated        PartiallyFilled  2000    8000    0       ExecRestatementReason =
                                                                     GTC renewal/restatement
2, 2        Trade           PartiallyFilled  3000    7000    1000
==========  ==============  ===============  ======  ======  ======  =======================

A parent is done for the day when it is working (open or partial) and every live child is done
for the day at its venue (a smart order split across venues is done when the last of them has
closed). It then reports DoneForDay once (CumQty, LeavesQty and AvgPx unchanged, LastQty 0)
and its ``pending`` flag says ``DONE_FOR_DAY``. When a venue restates one of its children at
the next open, the parent reports Restated once (OrdStatus back to PartiallyFilled, or New if
nothing filled) before any further fill. A fill on a child done for the day (a venue that trades
it without restating it first) ends the parent's done-for-day state too; the Trade report then
carries the working OrdStatus.

Cancel and cancel/replace keep working while an order is done for the day, by OrdStatus
precedence (PendingCancel 12 > PendingReplace 11 > DoneForDay 10 > Filled 8 > PartiallyFilled 4
> New 2): the request reports PendingCancel / PendingReplace; the venue cancels the resting
child (Canceled) or replaces it, and the Replaced report says DoneForDay (the order still
trades no more that day); a rejected request returns the order to DoneForDay. The replaced
order is restated at the next open like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import IntegrityError, transaction

from orders.models import TERMINAL_STATUSES, EventKind, OrderStatus
from orders.services import event_record, order_apply_transition, order_lock
from trading.fill_listeners import fill_listeners_notify
from trading.models import (
    ExecType,
    Execution,
    PendingAction,
    TimeInForce,
    TradeOrder,
    VenueOrder,
    VenueOrderState,
)
from trading.models.fields import PRICE_PLACES
from trading.models.orders import VENUE_ORDER_LIVE
from trading.services.booking import trade_book
from trading.services.reports import report_emit
from trading.services.write_behind import row_save, writes_flush

logger = logging.getLogger(__name__)
ZERO = Decimal("0")
WORKING = (OrderStatus.OPEN, OrderStatus.PARTIAL)
RESTATEMENT_TEXT = "ExecRestatementReason 1: GT renewal/restatement (no change)."
_PX_QUANT = Decimal(1).scaleb(-PRICE_PLACES)

TRADE_FIELDS = [
    "quantity",
    "limit_price",
    "stop_price",
    "cum_qty",
    "leaves_qty",
    "avg_px",
    "pending",
    "pending_quantity",
    "pending_limit_price",
    "pending_stop_price",
    "triggered",
    "trail_watermark",
    "exec_seq",
    "updated_at",
]


def trade_lock(*, tenant_id: int, order_id: int) -> TradeOrder:
    """Lock the order and its trade detail (in that order) and return the detail."""
    order = order_lock(tenant=tenant_id, order_id=order_id)
    trade = (
        TradeOrder.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .select_related("instrument", "account", "venue")
        .get(pk=order_id)
    )
    trade.order = order
    return trade


def child_lock(*, tenant_id: int, venue_order_id: int) -> VenueOrder | None:
    """Lock a child the trading way: its parent order first (``trade_lock``), then the child.

    None when there is no such child in the tenant.
    """
    order_id = (
        VenueOrder.objects.for_tenant(tenant_id)
        .filter(pk=venue_order_id)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        return None
    trade = trade_lock(tenant_id=tenant_id, order_id=order_id)
    child = (
        VenueOrder.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .select_related("venue")
        .get(pk=venue_order_id)
    )
    child.order = trade  # the locked parent, not a second unlocked copy
    return child


def trade_save(trade: TradeOrder) -> None:
    row_save(trade, TRADE_FIELDS)


def live_children(trade: TradeOrder) -> list[VenueOrder]:
    writes_flush()  # the children's states as this transaction has them
    return list(
        VenueOrder.objects.for_tenant(trade.tenant_id)
        .select_for_update(of=("self",))
        .filter(order=trade, state__in=VENUE_ORDER_LIVE)
        .select_related("venue")
        .order_by("pk")
    )


def _transition(trade: TradeOrder, name: str, reason: str = "", **data: Any) -> None:
    order_apply_transition(
        order=trade.order,
        transition=name,
        actor=None,
        reason=reason,
        data=data,
        check_permission=False,
    )


def acknowledge(trade: TradeOrder) -> None:
    """The first venue acknowledgement makes a pending order New. An order a reviewer released
    from hold is open already: it still reports New once, before anything else."""
    if trade.order.status == OrderStatus.PENDING:
        _transition(trade, "accept", "Acknowledged by the venue.")
        report_emit(trade=trade, exec_type=ExecType.NEW)
    elif trade.order.status == OrderStatus.OPEN and trade.exec_seq == 0:
        report_emit(trade=trade, exec_type=ExecType.NEW)


def fill_apply(
    *,
    trade: TradeOrder,
    child: VenueOrder | None,
    exec_id: str,
    last_qty: Decimal,
    last_px: Decimal,
    liquidity: str,
    fee: Decimal,
    transacted_at: datetime,
) -> Execution | None:
    """Apply one fill: applied once per exec id, never beyond the order's leaves quantity.

    A duplicate exec id or an overfill is refused (logged), never applied.
    """
    if trade.order.status in TERMINAL_STATUSES and trade.order.status != OrderStatus.COMPLETED:
        logger.error("fill %s on %s order %s refused", exec_id, trade.order.status, trade.pk)
        return None
    if last_qty <= 0 or last_qty > trade.leaves_qty:
        logger.error(
            "overfill refused: exec %s qty %s, order %s leaves %s",
            exec_id,
            last_qty,
            trade.pk,
            trade.leaves_qty,
        )
        return None
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                tenant_id=trade.tenant_id,
                exec_id=exec_id,
                order=trade,
                venue_order=child,
                venue=child.venue if child is not None else None,
                last_qty=last_qty,
                last_px=last_px,
                fee=fee,
                liquidity=liquidity,
                transacted_at=transacted_at,
            )
    except IntegrityError:
        duplicate = Execution.objects.for_tenant(trade.tenant_id).filter(exec_id=exec_id).exists()
        if not duplicate:
            raise  # not a repeated report: a real error, never silently dropped
        logger.warning("duplicate exec id %s for order %s ignored", exec_id, trade.pk)
        return None
    acknowledge(trade)
    if trade.pending == PendingAction.DONE_FOR_DAY:
        trade.pending = PendingAction.NONE  # the venue trades it: working again
    new_cum = trade.cum_qty + last_qty
    trade.avg_px = ((trade.avg_px * trade.cum_qty + last_qty * last_px) / new_cum).quantize(
        _PX_QUANT, rounding=ROUND_HALF_EVEN
    )
    trade.cum_qty = new_cum
    trade.leaves_qty = trade.quantity - new_cum
    if child is not None:
        child.cum_qty += last_qty
        child.state = (
            VenueOrderState.FILLED
            if child.cum_qty >= child.quantity
            else VenueOrderState.PARTIALLY_FILLED
        )
        row_save(child, ["cum_qty", "state", "updated_at"])
    if trade.leaves_qty == 0:
        _transition(trade, "complete", "Filled.")
    else:
        _transition(trade, "fill_partially", f"Filled {trade.cum_qty} of {trade.quantity}.")
    report_emit(
        trade=trade,
        exec_type=ExecType.TRADE,
        last_qty=last_qty,
        last_px=last_px,
        execution=execution,
    )
    trade_save(trade)
    trade_book(trade_order=trade, execution=execution)
    writes_flush()  # listeners see the order, its child and its reports as they now stand
    fill_listeners_notify(execution)
    if (
        trade.leaves_qty > 0
        and child is not None
        and child.state == VenueOrderState.FILLED
        and not live_children(trade)
    ):
        # Every child did all it was given, and the rest was never sent (the residual of an
        # IOC or market sweep): it is canceled, as FIX does an IOC's remainder.
        parent_close(trade, state=VenueOrderState.CANCELED, text="Remainder not executed.")
    return execution


def child_done(trade: TradeOrder, child: VenueOrder, state: str, text: str = "") -> None:
    """A child ended (canceled, expired, rejected) at its venue; settle the parent."""
    was_done_for_day = child.state == VenueOrderState.DONE_FOR_DAY
    child.state = state
    row_save(child, ["state", "updated_at"])
    if trade.order.status in TERMINAL_STATUSES:
        if trade.pending == PendingAction.CANCEL and trade.order.status == OrderStatus.COMPLETED:
            _pending_clear(trade, EventKind.CANCEL_REJECTED, "Too late to cancel: filled.")
        return
    remaining = live_children(trade)
    if remaining:
        if not was_done_for_day and _all_done_for_day(remaining):
            # The children left all rest at closed venues: the order is done for the day.
            _day_done(trade, "Done for day: its venues are closed.")
        return
    parent_close(trade, state=state, text=text)


def _each_done_for_day(children: list[VenueOrder]) -> bool:
    return all(c.state == VenueOrderState.DONE_FOR_DAY for c in children)


def _all_done_for_day(children: list[VenueOrder]) -> bool:
    """At least one live child, and every one done for the day."""
    return bool(children) and _each_done_for_day(children)


def _others(trade: TradeOrder, child: VenueOrder) -> list[VenueOrder]:
    """The parent's live children other than ``child``."""
    return [c for c in live_children(trade) if c.pk != child.pk]


def child_done_for_day(trade: TradeOrder, child: VenueOrder, text: str = "") -> None:
    """The child's venue closed with the child still working (GTC, GTD): it rests there until
    the venue restates it. The parent is done for the day once every live child is."""
    if child.state not in (VenueOrderState.NEW, VenueOrderState.PARTIALLY_FILLED):
        return  # already done for the day, or no longer working: nothing changes
    child.state = VenueOrderState.DONE_FOR_DAY
    row_save(child, ["state", "updated_at"])
    if trade.order.status in WORKING and _each_done_for_day(_others(trade, child)):
        _day_done(trade, text or "Done for day.")


def child_restated(trade: TradeOrder, child: VenueOrder, text: str = "") -> None:
    """The venue restated a child done for the day (GT renewal at the next open): it works
    again. The parent, if it was done for the day, reports Restated with its working status."""
    if child.state != VenueOrderState.DONE_FOR_DAY:
        return  # not done for the day (a repeated restatement): nothing changes
    child.state = VenueOrderState.PARTIALLY_FILLED if child.cum_qty > 0 else VenueOrderState.NEW
    row_save(child, ["state", "updated_at"])
    # The parent was done for the day iff its other live children still are.
    if trade.order.status in WORKING and _each_done_for_day(_others(trade, child)):
        if trade.pending == PendingAction.DONE_FOR_DAY:
            trade.pending = PendingAction.NONE
        report_emit(trade=trade, exec_type=ExecType.RESTATED, text=text or RESTATEMENT_TEXT)
        trade_save(trade)
        event_record(
            order=trade.order,
            kind=EventKind.NOTE,
            actor=None,
            reason="Restated at the open (GT renewal): working again.",
            data={"exec_type": "Restated", "exec_restatement_reason": 1},
        )


def _day_done(trade: TradeOrder, text: str) -> None:
    """The order reports DoneForDay (CumQty, LeavesQty, AvgPx unchanged; LastQty 0). A pending
    cancel or replace outranks it in OrdStatus; the flag returns when that settles."""
    if trade.pending == PendingAction.NONE:
        trade.pending = PendingAction.DONE_FOR_DAY
    report_emit(trade=trade, exec_type=ExecType.DONE_FOR_DAY, text=text)
    trade_save(trade)
    event_record(
        order=trade.order,
        kind=EventKind.NOTE,
        actor=None,
        reason=text,
        data={"exec_type": "DoneForDay"},
    )


def _day_flag_restore(trade: TradeOrder) -> None:
    """A settled cancel or replace leaves the order done for the day if every live child
    still is (``pending`` is clear when this is called)."""
    if trade.order.status in WORKING and _all_done_for_day(live_children(trade)):
        trade.pending = PendingAction.DONE_FOR_DAY


def parent_close(trade: TradeOrder, *, state: str, text: str = "") -> None:
    """No child works the order any more and it has leaves: end it the FIX way."""
    if trade.leaves_qty == 0:
        return
    if state == VenueOrderState.EXPIRED:
        name, exec_type = "expire", ExecType.EXPIRED
    elif (
        state == VenueOrderState.REJECTED
        and trade.cum_qty == 0
        and trade.order.status == OrderStatus.PENDING
    ):
        name, exec_type = "reject", ExecType.REJECTED
    else:  # requested cancel, IOC / FOK kill, venue cancel, remainder of a market order
        name, exec_type = "cancel", ExecType.CANCELED
    trade.leaves_qty = ZERO
    trade.pending = PendingAction.NONE
    _transition(trade, name, text)
    report_emit(trade=trade, exec_type=exec_type, text=text)
    trade_save(trade)


def _pending_clear(trade: TradeOrder, kind: str, text: str) -> None:
    trade.pending = PendingAction.NONE
    trade.pending_quantity = trade.pending_limit_price = trade.pending_stop_price = None
    _day_flag_restore(trade)
    trade_save(trade)
    event_record(order=trade.order, kind=kind, actor=None, reason=text)


def cancel_rejected(trade: TradeOrder, text: str) -> None:
    if trade.pending == PendingAction.CANCEL and not live_children(trade):
        _pending_clear(trade, EventKind.CANCEL_REJECTED, text)
    elif trade.pending == PendingAction.CANCEL:
        # Other children may still confirm; the cancel stays pending for them.
        event_record(order=trade.order, kind=EventKind.NOTE, actor=None, reason=text)


def replace_confirmed(trade: TradeOrder) -> None:
    """Apply the pending replace: new quantity / prices; leaves = quantity - cum."""
    if trade.pending != PendingAction.REPLACE:
        return
    assert trade.pending_quantity is not None
    # Fills that arrived while the replace was pending count: never below what is filled.
    trade.quantity = max(trade.pending_quantity, trade.cum_qty)
    if trade.pending_limit_price is not None:
        trade.limit_price = trade.pending_limit_price
    if trade.pending_stop_price is not None:
        trade.stop_price = trade.pending_stop_price
    trade.pending = PendingAction.NONE
    trade.pending_quantity = trade.pending_limit_price = trade.pending_stop_price = None
    trade.leaves_qty = trade.quantity - trade.cum_qty
    if trade.leaves_qty == 0 and trade.order.status != OrderStatus.COMPLETED:
        _transition(trade, "complete", "Replaced down to the filled quantity.")
    _day_flag_restore(trade)  # replaced overnight: still done for the day (precedence 10)
    report_emit(trade=trade, exec_type=ExecType.REPLACED)
    trade_save(trade)
    event_record(
        order=trade.order,
        kind=EventKind.REPLACED,
        actor=None,
        data={
            "quantity": trade.quantity,
            "limit_price": trade.limit_price,
            "stop_price": trade.stop_price,
        },
    )


def child_replace_quantity(trade: TradeOrder, child: VenueOrder) -> Decimal:
    """The child's quantity under the pending replace: what it filled plus the parent's new
    leaves quantity (none, when fills meanwhile reached the new quantity)."""
    assert trade.pending_quantity is not None
    return child.cum_qty + max(trade.pending_quantity - trade.cum_qty, ZERO)


def replace_rejected(trade: TradeOrder, text: str) -> None:
    if trade.pending == PendingAction.REPLACE:
        _pending_clear(trade, EventKind.REPLACE_REJECTED, text)


def is_immediate(tif: str) -> bool:
    return tif in (TimeInForce.IOC, TimeInForce.FOK)
