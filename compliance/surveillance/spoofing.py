"""Spoofing / layering: orders on the other side, placed shortly before an execution and
then (mostly) cancelled, whose cancelled size dwarfs what was executed.

For each new execution, the same account's orders in the same instrument on the opposite side
that were placed within ``lookback_seconds`` before the execution, ended ``canceled`` no later
than ``cancel_within_seconds`` after it, and had at least ``min_cancel_pct`` percent of their
quantity cancelled (unfilled) count as layers. When the layers' cancelled quantity is at least
``size_multiple`` times the execution's quantity, and there are at least ``min_orders`` of
them, the execution is suspicious. One alert per genuine order (key: its order id), with every
suspicious execution of it in the scan and the union of the layers.

Times: an order is placed at its ``created_at``; a cancelled order's cancel time is its last
update (``updated_at`` of the common order, which a terminal order no longer changes).
"""

from __future__ import annotations

from decimal import Decimal

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS = {
    "lookback_seconds": 300,
    "cancel_within_seconds": 300,
    "min_cancel_pct": 90,
    "size_multiple": 3,
    "min_orders": 1,
}


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    query = (
        "WITH "
        + q.new_executions()
        + q.sql(
            """
        SELECT n.exec_pk, n.order_id, n.account_code, n.side, n.qty, n.px, n.ts, i.symbol,
               count(*), sum(s.quantity - s.cum_qty), {layers}
        FROM n
        JOIN {trade} s ON s.tenant_id = %(tenant)s AND s.account_id = n.account_id
             AND s.instrument_id = n.instrument_id AND {dir_s} <> {dir_n}
        JOIN {order} so ON so.id = s.order_id AND so.status = 'canceled'
        JOIN {instrument} i ON i.id = n.instrument_id
        WHERE {placed} >= n.ts - %(lookback)s AND {placed} <= n.ts
          AND {canceled} <= n.ts + %(cancel_within)s
          AND (s.quantity - s.cum_qty) >= s.quantity * %(min_cancel)s
          AND so.id <= %(order_upto)s
        GROUP BY n.exec_pk, n.order_id, n.account_code, n.side, n.qty, n.px, n.ts, i.symbol
        HAVING count(*) >= %(min_orders)s
           AND sum(s.quantity - s.cum_qty) >= n.qty * %(multiple)s
        """,
            layers=q.id_list("s.order_id"),
            dir_s=q.direction("s.side"),
            dir_n=q.direction("n.side"),
            placed=q.epoch("so.created_at"),
            canceled=q.epoch("so.updated_at"),
        )
    )
    rows = q.fetch(
        query,
        window.params(
            lookback=float(params["lookback_seconds"]),
            cancel_within=float(params["cancel_within_seconds"]),
            min_cancel=float(params["min_cancel_pct"]) / 100,
            multiple=float(params["size_multiple"]),
            min_orders=int(params["min_orders"]),
        ),
    )
    by_order: dict[int, Finding] = {}
    for exec_pk, order_id, account, side, qty, px, _ts, symbol, count, cancelled, layers in rows:
        layer_ids = q.split_ids(layers)
        finding = by_order.get(order_id)
        if finding is None:
            finding = by_order[order_id] = Finding(
                dedupe_key=f"{Detector.SPOOFING}:{order_id}",
                title=f"Spoofing / layering in {symbol} by {account}: cancelled opposite "
                f"orders around a {side}",
                account_codes=[account],
                order_ids=[order_id],
                execution_ids=[],
                figures={"instrument": symbol, "side": side, "executions": [], "layers": []},
                order_id=order_id,
            )
        finding.execution_ids.append(exec_pk)
        finding.figures["executions"].append(
            {
                "execution": exec_pk,
                "quantity": dec(qty),
                "price": dec(px),
                "cancelled_orders": int(count),
                "cancelled_quantity": dec(cancelled),
                "multiple": (dec(cancelled) / dec(qty)).quantize(Decimal("0.01")),
            }
        )
        for layer in layer_ids:
            if layer not in finding.order_ids:
                finding.order_ids.append(layer)
                finding.figures["layers"].append(layer)
    for finding in by_order.values():
        finding.execution_ids.sort()
        finding.figures["executions"].sort(key=lambda item: item["execution"])
        finding.order_ids = [finding.order_ids[0], *sorted(finding.order_ids[1:])]
        finding.figures["layers"].sort()
    return list(by_order.values())


SPEC = DetectorSpec(
    name=Detector.SPOOFING,
    title="Spoofing / layering",
    severity="high",
    defaults=DEFAULTS,
    detect=detect,
)
