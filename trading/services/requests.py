"""A trader's cancel and cancel/replace requests, the FIX way: the order goes PendingCancel /
PendingReplace and the venue confirms (or rejects) asynchronously; fills arriving meanwhile
apply to the order as it was. An order done for the day (its venues closed) is canceled or
replaced the same way: the request outranks DoneForDay in OrdStatus until it settles (see
``trading.services.lifecycle``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from oms_site.celery import enqueue_after_commit
from oms_site.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from orders.models import TERMINAL_STATUSES, EventKind, Order, OrderStatus
from orders.permissions import can_cancel
from orders.services import event_record
from tenancy.models import Tenant
from trading.models import ExecType, Handling, OrderType, PendingAction, TradeOrder
from trading.services import lifecycle
from trading.services.reports import report_emit


def _refuse_if_not_workable(trade: TradeOrder, action: str) -> None:
    status = trade.order.status
    if status in TERMINAL_STATUSES:
        reason = "filled" if status == OrderStatus.COMPLETED else status
        raise TransitionNotAllowed(
            f"Too late to {action}: the order is {reason}.",
            extra={"ord_status": trade.ord_status.label},
        )
    if trade.request_pending:  # done for the day is no request: cancel / replace still work
        raise TransitionNotAllowed(
            f"A {trade.get_pending_display().lower()} is already in progress.",
            extra={"ord_status": trade.ord_status.label},
        )


def _check_role(order: Order, actor: Any) -> None:
    """The role check alone (the order's state is judged after it: too late -> 409)."""
    if actor is None or not can_cancel(order, actor):
        raise PermissionDenied("Your role may not cancel or replace this order.")


@transaction.atomic
def trade_order_cancel(
    *, tenant: Tenant, order: Order, actor: Any, reason: str = "", check_permission: bool = True
) -> Order:
    """Registered as the trade kind's cancel handler (orders.kinds). ``check_permission``
    False: the caller has checked its own authority (compliance's kill switch)."""
    from trading.tasks import venue_order_cancel

    trade = lifecycle.trade_lock(tenant_id=tenant.pk, order_id=order.pk)
    if check_permission:
        _check_role(trade.order, actor)
    _refuse_if_not_workable(trade, "cancel")
    children = lifecycle.live_children(trade)
    event_record(order=trade.order, kind=EventKind.CANCEL_REQUESTED, actor=actor, reason=reason)
    if not children:  # nothing at a venue: cancel at once
        trade.leaves_qty = Decimal("0")
        lifecycle._transition(trade, "cancel", reason or "Canceled on request.")
        report_emit(trade=trade, exec_type=ExecType.CANCELED, text=reason)
        lifecycle.trade_save(trade)
        return trade.order
    trade.pending = PendingAction.CANCEL
    report_emit(trade=trade, exec_type=ExecType.PENDING_CANCEL, text=reason)
    lifecycle.trade_save(trade)
    for child in children:
        enqueue_after_commit(venue_order_cancel, tenant_id=tenant.pk, venue_order_id=child.pk)
    return trade.order


@transaction.atomic
def trade_order_replace(
    *,
    tenant: Tenant,
    order_id: int,
    actor: Any,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> TradeOrder:
    """Cancel/replace: new quantity and/or prices. At or below the filled quantity the order is
    done (Filled); otherwise it is PendingReplace until the venue confirms."""
    from trading.tasks import venue_order_cancel, venue_order_replace

    trade = lifecycle.trade_lock(tenant_id=tenant.pk, order_id=order_id)
    _check_role(trade.order, actor)
    _refuse_if_not_workable(trade, "replace")
    _validate_replace(trade, quantity, limit_price, stop_price)
    new_qty = trade.quantity if quantity is None else quantity
    event_record(
        order=trade.order,
        kind=EventKind.REPLACE_REQUESTED,
        actor=actor,
        data={"quantity": quantity, "limit_price": limit_price, "stop_price": stop_price},
    )
    children = lifecycle.live_children(trade)
    trade.pending = PendingAction.REPLACE
    trade.pending_quantity = max(new_qty, trade.cum_qty)
    trade.pending_limit_price = limit_price
    trade.pending_stop_price = stop_price
    if new_qty <= trade.cum_qty or not children:
        # Nothing to change at a venue (or the replace cancels the balance): confirm now.
        for child in children:
            enqueue_after_commit(venue_order_cancel, tenant_id=tenant.pk, venue_order_id=child.pk)
        lifecycle.replace_confirmed(trade)
        return trade
    report_emit(trade=trade, exec_type=ExecType.PENDING_REPLACE)
    lifecycle.trade_save(trade)
    # One child works the replaced order: the latest (the resting residual of a sweep) takes
    # the new leaves quantity and price; the others, still live from the sweep, are canceled
    # so that the venues never work more than the order's leaves. Fills they report before
    # their cancel lands still apply (the replace quantity is computed when it is sent).
    *others, resting = children
    for child in others:
        enqueue_after_commit(venue_order_cancel, tenant_id=tenant.pk, venue_order_id=child.pk)
    enqueue_after_commit(venue_order_replace, tenant_id=tenant.pk, venue_order_id=resting.pk)
    return trade


def _validate_replace(
    trade: TradeOrder,
    quantity: Decimal | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
) -> None:
    errors: dict[str, list[str]] = {}
    instrument = trade.instrument
    if quantity is None and limit_price is None and stop_price is None:
        errors["non_field_errors"] = ["Give a new quantity, limit_price or stop_price."]
    if quantity is not None:
        if quantity <= 0:
            errors["quantity"] = ["Must be greater than zero."]
        elif quantity % instrument.lot_size != 0:
            errors["quantity"] = [f"Must be a multiple of the lot size {instrument.lot_size}."]
    for field, value, allowed in (
        ("limit_price", limit_price, (OrderType.LIMIT, OrderType.STOP_LIMIT)),
        ("stop_price", stop_price, (OrderType.STOP, OrderType.STOP_LIMIT)),
    ):
        if value is None:
            continue
        if trade.order_type not in allowed:
            errors[field] = [f"Not allowed for {trade.order_type} orders."]
        elif value <= 0:
            errors[field] = ["Must be greater than zero."]
        elif value % instrument.tick_size != 0:
            errors[field] = [f"Must be on the tick size {instrument.tick_size}."]
    if errors:
        raise ValidationFailed(errors=errors)


@transaction.atomic
def trade_order_release_care(*, tenant: Tenant, order_id: int, actor: Any) -> TradeOrder:
    """A care order (worked by hand) handed to the smart router."""
    from trading.tasks import route_order

    trade = lifecycle.trade_lock(tenant_id=tenant.pk, order_id=order_id)
    _check_role(trade.order, actor)
    _refuse_if_not_workable(trade, "release")
    if trade.handling != Handling.CARE:
        raise TransitionNotAllowed("Only a care order can be released to routing.")
    trade.handling = Handling.AUTO
    trade.save(update_fields=["handling", "updated_at"])
    event_record(
        order=trade.order,
        kind=EventKind.NOTE,
        actor=actor,
        reason="Released from the care queue to smart routing.",
    )
    enqueue_after_commit(route_order, tenant_id=tenant.pk, order_id=order_id)
    return trade
