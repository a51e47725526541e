"""Where every venue's reports land: one entry point, whatever the adapter."""

from __future__ import annotations

import logging

from django.db import transaction

from orders.models import TERMINAL_STATUSES
from trading.models import VenueOrder, VenueOrderState
from trading.models.orders import VENUE_ORDER_LIVE
from trading.services import lifecycle
from trading.venues.base import ReportKind, VenueReport

logger = logging.getLogger(__name__)


@transaction.atomic
def venue_report_apply(report: VenueReport) -> None:
    """Apply one venue report to its child and parent order (idempotent per exec id / state)."""
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
    kind = report.kind
    if kind == ReportKind.ACK:
        if child.state == VenueOrderState.PENDING_NEW:
            child.state = VenueOrderState.NEW
            child.venue_order_id = report.venue_order_id
            child.save(update_fields=["state", "venue_order_id", "updated_at"])
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
            child.save(update_fields=["quantity", "limit_price", "state", "updated_at"])
        lifecycle.replace_confirmed(trade)
    elif kind == ReportKind.REPLACE_REJECTED:
        lifecycle.replace_rejected(trade, report.text or "Replace rejected by the venue.")
