"""Order-to-trade ratio per account and (UTC) day.

The ratio of an account's day is the number of trade orders it entered that day to the number
of those orders that traded (at least one execution); a day with no traded order counts as one
trade, so a flood of orders that never trade is caught too. Days with fewer than
``min_orders`` orders are not judged (a handful of orders says nothing). A day is judged again
whenever it gets new orders (executions only lower a ratio), and alerted once (key: account
and day) when its ratio is above ``max_ratio``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow
from trading.models import Account

DEFAULTS = {"max_ratio": 25, "min_orders": 50}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LISTED = 500


def _day_of(value: Any) -> int:
    """The UTC day number of a datetime (or of SQLite's text form of one)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH).days


def _new_orders_span(window: ScanWindow) -> tuple[Any, Any] | None:
    query = q.sql(
        """
        SELECT min(o.created_at), max(o.created_at) FROM {order} o
        WHERE o.tenant_id = %(tenant)s AND o.kind = 'trade'
          AND o.id > %(order_after)s AND o.id <= %(order_upto)s
        """
    )
    lo, hi = q.fetch(query, window.params())[0]
    return None if lo is None else (lo, hi)


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    # Only new orders can raise a day's ratio (an execution only adds a traded order), so
    # the days judged are those with new orders.
    span = _new_orders_span(window)
    if span is None:
        return []
    first, last = (_day_of(value) for value in span)
    query = q.sql(
        """
        SELECT t.account_id, {o_day}, count(*),
               sum(CASE WHEN t.cum_qty > 0 THEN 1 ELSE 0 END)
        FROM {order} o
        JOIN {trade} t ON t.order_id = o.id
        WHERE o.tenant_id = %(tenant)s AND o.created_at >= %(lo)s AND o.created_at < %(hi)s
          AND o.id <= %(order_upto)s
        GROUP BY t.account_id, {o_day}
        HAVING count(*) >= %(min_orders)s AND max(o.id) > %(order_after)s
        """,
        o_day=q.day("o.created_at"),
    )
    rows = q.fetch(
        query,
        window.params(
            lo=q.dt(EPOCH + timedelta(days=first)),
            hi=q.dt(EPOCH + timedelta(days=last + 1)),
            min_orders=int(params["min_orders"]),
        ),
    )
    limit = Decimal(str(params["max_ratio"]))
    codes = dict(
        Account.objects.for_tenant(window.tenant_id)
        .filter(pk__in=[r[0] for r in rows])
        .values_list("pk", "code")
    )
    findings = []
    for account_id, day, orders, traded in rows:
        ratio = (Decimal(int(orders)) / max(int(traded or 0), 1)).quantize(Decimal("0.01"))
        if ratio <= limit:
            continue
        code = codes[account_id]
        date = (EPOCH + timedelta(days=int(day))).date().isoformat()
        order_ids = _orders_of(window, int(account_id), int(day))
        findings.append(
            Finding(
                dedupe_key=f"{Detector.ORDER_TO_TRADE}:{code}:{date}",
                title=f"Order-to-trade ratio {ratio} on {date} for {code} (limit {limit})",
                account_codes=[code],
                order_ids=order_ids,
                execution_ids=[],
                figures={
                    "date": date,
                    "orders": int(orders),
                    "traded_orders": int(traded or 0),
                    "ratio": ratio,
                    "max_ratio": limit,
                },
            )
        )
    return findings


def _orders_of(window: ScanWindow, account_id: int, day: int) -> list[int]:
    """The day's orders of the account (the first ``MAX_LISTED`` of them, by id)."""
    query = q.sql(
        """
        SELECT o.id FROM {order} o JOIN {trade} t ON t.order_id = o.id
        WHERE o.tenant_id = %(tenant)s AND t.account_id = %(account)s
          AND o.created_at >= %(lo)s AND o.created_at < %(hi)s AND o.id <= %(order_upto)s
        ORDER BY o.id LIMIT %(limit)s
        """
    )
    params = window.params(
        account=account_id,
        lo=q.dt(EPOCH + timedelta(days=day)),
        hi=q.dt(EPOCH + timedelta(days=day + 1)),
        limit=MAX_LISTED,
    )
    return [int(pk) for (pk,) in q.fetch(query, params)]


SPEC = DetectorSpec(
    name=Detector.ORDER_TO_TRADE,
    title="Order-to-trade ratio",
    severity="medium",
    defaults=DEFAULTS,
    detect=detect,
    uses=frozenset({"orders"}),
)
