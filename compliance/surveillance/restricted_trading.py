"""Trading before a restricted-list addition.

When an instrument (or an issuer: all of its instruments) is put on the restricted list, the
executions of accounts of ``account_kinds`` in it during the ``lookback_days`` before the
addition (the entry's ``created_at``) suggest trading on the information that put it there.
One alert per entry and account (key: both). Judged when the entry is new to the scan, and
again for executions reported late (new to the scan, but dated before an older entry).
"""

from __future__ import annotations

from typing import Any

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec

DEFAULTS = {"lookback_days": 14, "account_kinds": ["employee", "proprietary"]}

_MATCHES = """
    SELECT r.id, r.issuer, {r_ts}, i.symbol, e.id, e.order_id, a.code, t.side,
           e.last_qty, e.last_px, {e_ts}
    FROM {restricted} r
    JOIN {instrument} i ON i.tenant_id = %(tenant)s
         AND (i.id = r.instrument_id OR (r.issuer <> '' AND i.issuer = r.issuer))
    JOIN {trade} t ON t.tenant_id = %(tenant)s AND t.instrument_id = i.id
    JOIN {account} a ON a.id = t.account_id AND a.kind IN {kinds}
    JOIN {execution} e ON e.order_id = t.order_id
    WHERE r.tenant_id = %(tenant)s AND r.id <= %(restricted_upto)s AND e.id <= %(exec_upto)s
      AND {e_ts} < {r_ts} AND {e_ts} >= {r_ts} - %(lookback)s
      AND {new}
"""


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    values: dict[str, Any] = window.params(lookback=float(params["lookback_days"]) * 86400)
    kinds = q.in_list("kind", list(params["account_kinds"]), values)
    parts = (
        "r.id > %(restricted_after)s",
        "r.id <= %(restricted_after)s AND e.id > %(exec_after)s",
    )
    query = " UNION ALL ".join(
        q.sql(
            _MATCHES,
            r_ts=q.epoch("r.created_at"),
            e_ts=q.epoch("e.transacted_at"),
            kinds=kinds,
            new=condition,
        )
        for condition in parts
    )
    findings: dict[tuple[int, str], Finding] = {}
    for row in sorted(q.fetch(query, values), key=lambda r: (r[0], r[6], r[4])):
        entry, issuer, added, symbol, exec_pk, order_id, account, side, qty, px, traded = row
        finding = findings.get((entry, account))
        if finding is None:
            subject = f"issuer {issuer}" if issuer else symbol
            finding = findings[(entry, account)] = Finding(
                dedupe_key=f"{Detector.RESTRICTED_TRADING}:{entry}:{account}",
                title=f"{account} traded {subject} before it was restricted",
                account_codes=[account],
                order_ids=[],
                execution_ids=[],
                figures={
                    "restricted_entry": entry,
                    "issuer": issuer,
                    "added_at": q.at(added),
                    "trades": [],
                },
            )
        finding.execution_ids.append(exec_pk)
        if order_id not in finding.order_ids:
            finding.order_ids.append(order_id)
        finding.figures["trades"].append(
            {
                "execution": exec_pk,
                "order": order_id,
                "instrument": symbol,
                "side": side,
                "quantity": dec(qty),
                "price": dec(px),
                "at": q.at(traded),
            }
        )
    return list(findings.values())


SPEC = DetectorSpec(
    name=Detector.RESTRICTED_TRADING,
    title="Trading before a restricted-list addition",
    severity="high",
    defaults=DEFAULTS,
    detect=detect,
    uses=frozenset({"executions", "restricted"}),
)
