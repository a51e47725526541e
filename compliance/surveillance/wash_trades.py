"""Wash trades: the same beneficial owner on both sides.

A new execution matches an execution of the opposite side (a short sale counts as a sale) in
the same instrument, by any account of the same beneficial owner, within ``window_seconds``,
at a price within ``price_tolerance_pct`` percent and a quantity within
``quantity_tolerance_pct`` percent of the larger quantity. One alert per matching pair of
executions (key: both execution ids), whichever of the two arrived last.
"""

from __future__ import annotations

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS = {"window_seconds": 60, "price_tolerance_pct": 0.5, "quantity_tolerance_pct": 10}


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    query = (
        "WITH "
        + q.new_executions()
        + q.sql(
            """
        SELECT n.exec_pk, n.order_id, n.account_code, n.side, n.qty, n.px, n.ts,
               o.id, o.order_id, a2.code, t2.side, o.last_qty, o.last_px, {o_ts},
               n.owner, i.symbol
        FROM n
        JOIN {account} a2 ON a2.tenant_id = %(tenant)s AND a2.beneficial_owner = n.owner
        JOIN {trade} t2 ON t2.tenant_id = %(tenant)s AND t2.account_id = a2.id
             AND t2.instrument_id = n.instrument_id AND {dir2} <> {dir1}
        JOIN {execution} o ON o.order_id = t2.order_id
        JOIN {instrument} i ON i.id = n.instrument_id
        WHERE o.id <= %(exec_upto)s
          AND (o.id <= %(exec_after)s OR o.id > n.exec_pk)
          AND abs({o_ts} - n.ts) <= %(window)s
          AND abs(o.last_px - n.px) <= n.px * %(px_tol)s
          AND abs(o.last_qty - n.qty) <= {bigger} * %(qty_tol)s
        """,
            o_ts=q.epoch("o.transacted_at"),
            dir1=q.direction("n.side"),
            dir2=q.direction("t2.side"),
            bigger=q.greatest("o.last_qty", "n.qty"),
        )
    )
    rows = q.fetch(
        query,
        window.params(
            window=float(params["window_seconds"]),
            px_tol=float(params["price_tolerance_pct"]) / 100,
            qty_tol=float(params["quantity_tolerance_pct"]) / 100,
        ),
    )
    findings = []
    for row in rows:
        (n_pk, n_order, n_acc, n_side, n_qty, n_px, n_ts) = row[:7]
        (o_pk, o_order, o_acc, o_side, o_qty, o_px, o_ts, owner, symbol) = row[7:]
        legs = sorted(
            [
                (o_pk, o_order, o_acc, o_side, o_qty, o_px, o_ts),
                (n_pk, n_order, n_acc, n_side, n_qty, n_px, n_ts),
            ]
        )
        findings.append(
            Finding(
                dedupe_key=f"{Detector.WASH_TRADE}:{legs[0][0]}:{legs[1][0]}",
                title=f"Wash trade in {symbol}: {owner} on both sides "
                f"({legs[0][2]} / {legs[1][2]})",
                account_codes=sorted({n_acc, o_acc}),
                order_ids=[legs[0][1], legs[1][1]],
                execution_ids=[legs[0][0], legs[1][0]],
                figures={
                    "beneficial_owner": owner,
                    "instrument": symbol,
                    "legs": [
                        {
                            "execution": leg[0],
                            "order": leg[1],
                            "account": leg[2],
                            "side": leg[3],
                            "quantity": dec(leg[4]),
                            "price": dec(leg[5]),
                            "at": q.at(leg[6]),
                        }
                        for leg in legs
                    ],
                    "seconds_apart": round(abs(float(n_ts) - float(o_ts)), 3),
                },
            )
        )
    return findings


SPEC = DetectorSpec(
    name=Detector.WASH_TRADE,
    title="Wash trades",
    severity="high",
    defaults=DEFAULTS,
    detect=detect,
)
