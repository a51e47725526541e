"""Front running: an employee or proprietary account trading the same side shortly before a
large client order in the same instrument.

A client order is large when its quantity is at least ``min_client_quantity``, or at least
``min_client_adv_pct`` percent of the instrument's average daily volume. Executions of
accounts of ``account_kinds`` on the same side (a short sale counts as a sale) in the
instrument within ``window_seconds`` before the client order was entered are the evidence.
One alert per client order and trading account (key: both). A pair is judged when either the
client order or one of the executions is new to the scan.
"""

from __future__ import annotations

from typing import Any

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS = {
    "window_seconds": 600,
    "min_client_quantity": 10000,
    "min_client_adv_pct": 5,
    "account_kinds": ["employee", "proprietary"],
}

_PAIRS = """
    SELECT co.id, ca.code, c.side, c.quantity, {c_ts}, i.symbol,
           e.id, e.order_id, pa.code, e.last_qty, e.last_px, {e_ts}
    FROM {order} co
    JOIN {trade} c ON c.order_id = co.id
    JOIN {account} ca ON ca.id = c.account_id AND ca.kind = 'client'
    JOIN {instrument} i ON i.id = c.instrument_id
    JOIN {trade} p ON p.tenant_id = %(tenant)s AND p.instrument_id = c.instrument_id
         AND {dir_p} = {dir_c}
    JOIN {account} pa ON pa.id = p.account_id AND pa.kind IN {kinds}
    JOIN {execution} e ON e.order_id = p.order_id
    WHERE co.tenant_id = %(tenant)s AND co.id <= %(order_upto)s AND e.id <= %(exec_upto)s
      AND (c.quantity >= %(min_qty)s
           OR (i.average_daily_volume > 0
               AND c.quantity * 100 >= i.average_daily_volume * %(adv_pct)s))
      AND {e_ts} < {c_ts} AND {e_ts} >= {c_ts} - %(window)s
      AND {new}
"""


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    values: dict[str, Any] = window.params(
        min_qty=float(params["min_client_quantity"]),
        adv_pct=float(params["min_client_adv_pct"]),
        window=float(params["window_seconds"]),
    )
    kinds = q.in_list("kind", list(params["account_kinds"]), values)
    parts = {
        # new client orders against any execution; old client orders against new executions
        "new_orders": "co.id > %(order_after)s",
        "new_executions": "co.id <= %(order_after)s AND e.id > %(exec_after)s",
    }
    query = " UNION ALL ".join(
        q.sql(
            _PAIRS,
            c_ts=q.epoch("co.created_at"),
            e_ts=q.epoch("e.transacted_at"),
            dir_p=q.direction("p.side"),
            dir_c=q.direction("c.side"),
            kinds=kinds,
            new=condition,
        )
        for condition in parts.values()
    )
    findings: dict[tuple[int, str], Finding] = {}
    for row in sorted(q.fetch(query, values), key=lambda r: (r[0], r[8], r[6])):
        client_order, client, side, quantity, placed, symbol = row[:6]
        exec_pk, order_id, account, qty, px, traded = row[6:]
        finding = findings.get((client_order, account))
        if finding is None:
            finding = findings[(client_order, account)] = Finding(
                dedupe_key=f"{Detector.FRONT_RUNNING}:{client_order}:{account}",
                title=f"Front running in {symbol}: {account} traded {side} before client "
                f"{client}'s order of {dec(quantity).normalize():f}",
                account_codes=[account, client],
                order_ids=[client_order],
                execution_ids=[],
                figures={
                    "instrument": symbol,
                    "side": side,
                    "client_order": client_order,
                    "client_account": client,
                    "client_quantity": dec(quantity),
                    "client_order_at": q.at(placed),
                    "trades": [],
                },
                order_id=client_order,
            )
        finding.execution_ids.append(exec_pk)
        if order_id not in finding.order_ids:
            finding.order_ids.append(order_id)
        finding.figures["trades"].append(
            {
                "execution": exec_pk,
                "order": order_id,
                "quantity": dec(qty),
                "price": dec(px),
                "at": q.at(traded),
                "seconds_before": round(float(placed) - float(traded), 3),
            }
        )
    return list(findings.values())


SPEC = DetectorSpec(
    name=Detector.FRONT_RUNNING,
    title="Front running",
    severity="high",
    defaults=DEFAULTS,
    detect=detect,
    uses=frozenset({"executions", "orders"}),
)
