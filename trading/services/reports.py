"""FIX execution reports to the client: one row per order event, numbered per order."""

from __future__ import annotations

from decimal import Decimal

from trading.models import ExecType, Execution, ExecutionReport, TradeOrder
from trading.models.orders import fix_ord_status
from trading.services.write_behind import report_add


def report_emit(
    *,
    trade: TradeOrder,
    exec_type: str,
    last_qty: Decimal = Decimal("0"),
    last_px: Decimal = Decimal("0"),
    execution: Execution | None = None,
    text: str = "",
    order_qty: Decimal | None = None,
) -> ExecutionReport:
    """Append the report for the order as it stands now (the caller has updated it).

    ``order_qty`` overrides the reported OrderQty: fills during a pending replace report the
    original quantity (FIX: "the current order prior to the state change request").
    Inside a write-behind block (``write_behind.writes_deferred``: reports applied to rows in
    hand) the row is inserted with the block's other reports, at the block's next flush.
    """
    trade.exec_seq += 1
    report = ExecutionReport(
        tenant_id=trade.tenant_id,
        order=trade,
        exec_id=f"{trade.order.reference}-{trade.exec_seq}",
        exec_type=exec_type,
        ord_status=fix_ord_status(trade.order.status, trade.pending),
        order_qty=trade.quantity if order_qty is None else order_qty,
        last_qty=last_qty,
        last_px=last_px,
        cum_qty=trade.cum_qty,
        leaves_qty=trade.leaves_qty,
        avg_px=trade.avg_px,
        execution=execution,
        text=text[:500],
    )
    report_add(report)  # at once, or with the block's other reports (write_behind)
    return report


__all__ = ["ExecType", "report_emit"]
