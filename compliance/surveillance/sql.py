"""The few SQL expressions that differ between PostgreSQL and SQLite, and table names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from compliance.models.rules import RestrictedListEntry
from compliance.models.surveillance import PreClearance
from orders.models import Order
from trading.models import Account, Execution, Instrument, TradeOrder, Venue

TABLES = {
    "execution": Execution._meta.db_table,
    "trade": TradeOrder._meta.db_table,
    "account": Account._meta.db_table,
    "order": Order._meta.db_table,
    "instrument": Instrument._meta.db_table,
    "venue": Venue._meta.db_table,
    "restricted": RestrictedListEntry._meta.db_table,
    "preclearance": PreClearance._meta.db_table,
}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch(column: str) -> str:
    """Seconds since 1970-01-01 UTC of a timestamp column, as a float."""
    if is_postgres():
        return f"date_part('epoch', {column})"
    # whole seconds exactly, plus the milliseconds SQLite keeps (no julian-day rounding)
    return (
        f"(CAST(strftime('%%s', {column}) AS INTEGER)"
        f" + (strftime('%%f', {column}) - CAST(strftime('%%S', {column}) AS INTEGER)))"
    )


def day(column: str) -> str:
    """The UTC day number (days since 1970-01-01) of a timestamp column."""
    if is_postgres():
        return f"floor(date_part('epoch', {column}) / 86400)::bigint"
    return f"(CAST(strftime('%%s', {column}) AS INTEGER) / 86400)"


def greatest(a: str, b: str) -> str:
    return f"greatest({a}, {b})" if is_postgres() else f"max({a}, {b})"


def id_list(column: str) -> str:
    """Aggregate: the ids of the group as a comma-separated string."""
    if is_postgres():
        return f"string_agg(CAST({column} AS text), ',')"
    return f"group_concat({column}, ',')"


def split_ids(value: str | None) -> list[int]:
    return sorted({int(v) for v in (value or "").split(",") if v})


def sql(template: str, **extra: str) -> str:
    """The template with table names (``{execution}``, ``{trade}``...) and ``extra`` filled in."""
    return template.format(**TABLES, **extra)


def fetch(query: str, params: Mapping[str, Any] | Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def direction(column: str) -> str:
    """1 for a buy, -1 for a sale (a short sale is a sale)."""
    return f"(CASE WHEN {column} = 'buy' THEN 1 ELSE -1 END)"


def new_executions(extra_where: str = "") -> str:
    """CTE ``n``: the scan's new executions with their order's account, instrument and side
    (``ts`` in epoch seconds)."""
    return sql(
        """n AS (
        SELECT e.id AS exec_pk, e.order_id, e.last_qty AS qty, e.last_px AS px,
               e.venue_id, {ts} AS ts, t.account_id, t.instrument_id, t.side,
               a.code AS account_code, a.kind AS account_kind, a.beneficial_owner AS owner
        FROM {execution} e
        JOIN {trade} t ON t.order_id = e.order_id
        JOIN {account} a ON a.id = t.account_id
        WHERE e.tenant_id = %(tenant)s AND e.id > %(exec_after)s AND e.id <= %(exec_upto)s
        {extra_where})""",
        ts=epoch("e.transacted_at"),
        extra_where=extra_where,
    )


def at(seconds: Any) -> str:
    """Epoch seconds from SQL as an ISO-8601 UTC timestamp (millisecond precision)."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(round(float(seconds), 3), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(%(name_0)s, %(name_1)s, ...)`` with the values added to ``params``."""
    keys = []
    for index, value in enumerate(values):
        key = f"{name}_{index}"
        params[key] = value
        keys.append(f"%({key})s")
    return "(" + ", ".join(keys or ["NULL"]) + ")"


def dt(value: Any) -> Any:
    """A datetime parameter as the backend stores it (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)
