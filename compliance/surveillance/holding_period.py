"""Sales inside the minimum holding period.

A sale (or short sale) executed by an account of ``account_kinds`` less than
``min_holding_days`` days after the same account bought the same instrument breaks the
holding period: the strict reading of a personal-account policy ("no sale within N days of a
purchase"), whatever older holdings the account may also have. One alert per selling order
(key: its id), with the sale's and the recent purchases' executions.
"""

from __future__ import annotations

from typing import Any

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS = {"min_holding_days": 30, "account_kinds": ["employee"]}


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    values: dict[str, Any] = window.params(period=float(params["min_holding_days"]) * 86400)
    kinds = q.in_list("kind", list(params["account_kinds"]), values)
    query = (
        "WITH "
        + q.new_executions(f"AND a.kind IN {kinds} AND t.side <> 'buy'")
        + q.sql(
            """
        SELECT n.exec_pk, n.order_id, n.account_code, n.side, n.qty, n.px, n.ts, i.symbol,
               b.id, b.order_id, b.last_qty, b.last_px, {b_ts}
        FROM n
        JOIN {instrument} i ON i.id = n.instrument_id
        JOIN {trade} bt ON bt.tenant_id = %(tenant)s AND bt.account_id = n.account_id
             AND bt.instrument_id = n.instrument_id AND bt.side = 'buy'
        JOIN {execution} b ON b.order_id = bt.order_id
        WHERE b.id <= %(exec_upto)s AND {b_ts} <= n.ts AND {b_ts} > n.ts - %(period)s
        ORDER BY n.order_id, n.exec_pk, b.id
        """,
            b_ts=q.epoch("b.transacted_at"),
        )
    )
    findings: dict[int, Finding] = {}
    for row in q.fetch(query, values):
        exec_pk, order_id, account, side, qty, px, sold, symbol = row[:8]
        buy_pk, buy_order, buy_qty, buy_px, bought = row[8:]
        finding = findings.get(order_id)
        if finding is None:
            finding = findings[order_id] = Finding(
                dedupe_key=f"{Detector.HOLDING_PERIOD}:{order_id}",
                title=f"{account} sold {symbol} inside the {params['min_holding_days']}-day "
                "holding period",
                account_codes=[account],
                order_ids=[order_id],
                execution_ids=[],
                figures={"instrument": symbol, "side": side, "sales": [], "purchases": []},
                order_id=order_id,
            )
        if exec_pk not in finding.execution_ids:
            finding.execution_ids.append(exec_pk)
            finding.figures["sales"].append(
                {"execution": exec_pk, "quantity": dec(qty), "price": dec(px), "at": q.at(sold)}
            )
        if buy_pk not in [p["execution"] for p in finding.figures["purchases"]]:
            finding.figures["purchases"].append(
                {
                    "execution": buy_pk,
                    "order": buy_order,
                    "quantity": dec(buy_qty),
                    "price": dec(buy_px),
                    "at": q.at(bought),
                    "days_held": round((float(sold) - float(bought)) / 86400, 2),
                }
            )
            if buy_order not in finding.order_ids:
                finding.order_ids.append(buy_order)
    for finding in findings.values():
        sales = finding.execution_ids
        buys = [p["execution"] for p in finding.figures["purchases"]]
        finding.execution_ids = sorted(sales) + sorted(set(buys) - set(sales))
    return list(findings.values())


SPEC = DetectorSpec(
    name=Detector.HOLDING_PERIOD,
    title="Sale inside the minimum holding period",
    severity="medium",
    defaults=DEFAULTS,
    detect=detect,
)
