"""Personal dealing without pre-clearance (employee accounts).

An employee account's execution is covered when a :class:`PreClearance` of that account,
instrument and side (a sale clearance covers a short sale) is valid at the execution's time
and the account's executions on that side in the instrument since the clearance became valid,
this one included, do not exceed the cleared quantity. Every uncovered execution is evidence;
one alert per order (key: the order id), so an order is reported once.
"""

from __future__ import annotations

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS: dict[str, object] = {}


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    query = (
        "WITH "
        + q.new_executions("AND a.kind = 'employee'")
        + q.sql(
            """
        SELECT n.exec_pk, n.order_id, n.account_code, n.side, n.qty, n.px, n.ts, i.symbol
        FROM n
        JOIN {instrument} i ON i.id = n.instrument_id
        WHERE NOT EXISTS (
            SELECT 1 FROM {preclearance} pc
            WHERE pc.tenant_id = %(tenant)s AND pc.account_id = n.account_id
              AND pc.instrument_id = n.instrument_id AND {dir_pc} = {dir_n}
              AND {from_ts} <= n.ts AND {to_ts} >= n.ts
              AND pc.quantity >= (
                  SELECT sum(e2.last_qty) FROM {execution} e2
                  JOIN {trade} t2 ON t2.order_id = e2.order_id
                  WHERE t2.tenant_id = %(tenant)s AND t2.account_id = n.account_id
                    AND t2.instrument_id = n.instrument_id AND {dir_t2} = {dir_n}
                    AND e2.id <= %(exec_upto)s AND {e2_ts} >= {from_ts}
                    AND ({e2_ts} < n.ts OR ({e2_ts} = n.ts AND e2.id <= n.exec_pk))
              )
        )
        ORDER BY n.order_id, n.exec_pk
        """,
            dir_pc=q.direction("pc.side"),
            dir_n=q.direction("n.side"),
            dir_t2=q.direction("t2.side"),
            from_ts=q.epoch("pc.valid_from"),
            to_ts=q.epoch("pc.valid_to"),
            e2_ts=q.epoch("e2.transacted_at"),
        )
    )
    findings: dict[int, Finding] = {}
    for exec_pk, order_id, account, side, qty, px, traded, symbol in q.fetch(
        query, window.params()
    ):
        finding = findings.get(order_id)
        if finding is None:
            finding = findings[order_id] = Finding(
                dedupe_key=f"{Detector.PERSONAL_DEALING}:{order_id}",
                title=f"Personal dealing without pre-clearance: {account} {side} {symbol}",
                account_codes=[account],
                order_ids=[order_id],
                execution_ids=[],
                figures={"instrument": symbol, "side": side, "uncovered": []},
                order_id=order_id,
            )
        finding.execution_ids.append(exec_pk)
        finding.figures["uncovered"].append(
            {"execution": exec_pk, "quantity": dec(qty), "price": dec(px), "at": q.at(traded)}
        )
    return list(findings.values())


SPEC = DetectorSpec(
    name=Detector.PERSONAL_DEALING,
    title="Personal dealing without pre-clearance",
    severity="medium",
    defaults=DEFAULTS,
    detect=detect,
)
