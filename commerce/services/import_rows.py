"""Set-based row writing for the marketplace import: many rows in one statement.

- :func:`rows_insert`: on PostgreSQL one ``COPY table (columns) FROM STDIN`` per table and page
  (the fastest way into PostgreSQL: no per-row statement, no client-side parameter
  interpolation); elsewhere (SQLite) multi-row ``INSERT ... VALUES`` in chunks. Unique and check
  constraints apply either way (a violation raises ``IntegrityError`` and rolls the page back).
- :func:`ids_allocate`: ``count`` new primary keys of a table from its identity sequence in one
  statement, so parent rows and their children can be written by COPY without ``RETURNING``.
- :func:`references_allocate`: ``count`` consecutive order references from one counter update
  (in the caller's transaction: gapless; a rolled-back page gives its numbers back).

Values are given in database form (:func:`db_time`, :func:`db_json`); columns a caller does not
name (fields added to a model later) get their model defaults.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from orders.models import REFERENCE_PREFIX, OrderKind, OrderSequence
from tenancy.models import Tenant

_NOTHING = object()
_SEQUENCES: dict[str, str] = {}  # table -> its id sequence (PostgreSQL)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def db_time(value: datetime | None) -> Any:
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def db_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_other(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    adapted = getattr(value, "adapted", _NOTHING)  # a driver JSON adapter (model defaults)
    if adapted is not _NOTHING:
        value = db_json(adapted)
    return _copy_text(str(value))


_COPY_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _copy_text,
    int: str,
    Decimal: str,
    type(None): lambda value: "\\N",
    datetime: datetime.isoformat,
}


def _copy_line(row: Sequence[Any]) -> str:
    by_type = _COPY_BY_TYPE
    return "\t".join([by_type.get(type(v), _copy_other)(v) for v in row]) + "\n"


def _with_defaults(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[Sequence[str], Sequence[Sequence[Any]]]:
    given = set(columns)
    rest = [
        f
        for f in model._meta.concrete_fields
        if f.column not in given and not (f.primary_key and f.column == "id")
    ]
    if not rest:
        return columns, rows
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    return (*columns, *(f.column for f in rest)), [(*row, *defaults) for row in rows]


def _copy(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    qn = connection.ops.quote_name
    buffer = io.StringIO("".join([_copy_line(row) for row in rows]))
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, buffer)


def _values(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], returning: str = ""
) -> list[tuple[Any, ...]]:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = connection.features.max_query_params or 60000
    per_statement = max(1, min(1000, limit // len(columns)))
    result: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = f"INSERT INTO {qn(table)} ({cols}) VALUES " + ", ".join([one] * len(chunk))
            if returning:
                sql += f" RETURNING {returning}"
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning:
                result.extend(cursor.fetchall())
    return result


def rows_insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert the rows (see the module docstring)."""
    if not rows:
        return
    columns, rows = _with_defaults(model, columns, rows)
    if connection.vendor == "postgresql":
        _copy(model._meta.db_table, columns, rows)
    else:
        _values(model._meta.db_table, columns, rows)


def rows_insert_with_ids(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str,
) -> list[int]:
    """Insert the rows and return their new primary keys in row order. ``key`` names a column
    unique within ``rows`` (used to match ``RETURNING`` rows back where ids are not allocated
    beforehand)."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        ids = ids_allocate(model, len(rows))
        rows_insert(
            model, ("id", *columns), [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        )
        return ids
    columns, rows = _with_defaults(model, columns, rows)
    position = list(columns).index(key)
    returned = _values(
        model._meta.db_table, columns, rows, returning=f"id, {connection.ops.quote_name(key)}"
    )
    id_of = {value: pk for pk, value in returned}
    return [id_of[row[position]] for row in rows]


def ids_allocate(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids from the table's identity sequence, one statement (PostgreSQL)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        sequence = _SEQUENCES.get(table)
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = _SEQUENCES[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
        )
        return [int(row[0]) for row in cursor.fetchall()]


def references_allocate(*, tenant: Tenant, kind: OrderKind, count: int) -> list[str]:
    """``count`` consecutive references from one counter update (same transaction: gapless)."""
    table = connection.ops.quote_name(OrderSequence._meta.db_table)
    sql = (
        f"UPDATE {table} SET last_value = last_value + %s "
        "WHERE tenant_id = %s AND kind = %s RETURNING last_value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, tenant.pk, kind])
        row = cursor.fetchone()
        if row is None:
            OrderSequence.objects.bulk_create(
                [OrderSequence(tenant=tenant, kind=kind, last_value=0)], ignore_conflicts=True
            )
            cursor.execute(sql, [count, tenant.pk, kind])
            row = cursor.fetchone()
    last = int(row[0])
    prefix = REFERENCE_PREFIX[kind]
    return [f"{prefix}-{value:06d}" for value in range(last - count + 1, last + 1)]


def sales_orders_stored(
    *, tenant_id: int, channel_id: int, external_ids: Sequence[str]
) -> dict[str, tuple[int, datetime | None]]:
    """external id -> (order id, marketplace_updated_at) of the channel's stored orders.

    On PostgreSQL one probe of the unique index (tenant, channel, external id) per key, in one
    statement (``unnest`` + ``LATERAL ... LIMIT 1``): a plain ``external_id IN (...)`` lets the
    planner, when statistics lag behind a bulk import (a fresh or fast-growing table), scan the
    channel's whole index range and filter, a cost that grows with every page imported."""
    from commerce.models import SalesOrder

    if not external_ids:
        return {}
    if connection.vendor != "postgresql":
        rows = (
            SalesOrder.objects.for_tenant(tenant_id)
            .filter(channel_id=channel_id, external_id__in=list(external_ids))
            .values_list("external_id", "order_id", "marketplace_updated_at")
        )
        return {external_id: (pk, updated) for external_id, pk, updated in rows}
    table = connection.ops.quote_name(SalesOrder._meta.db_table)
    sql = (
        "SELECT k.external_id, s.order_id, s.marketplace_updated_at "
        "FROM unnest(%s::text[]) AS k(external_id) CROSS JOIN LATERAL ("
        f"SELECT order_id, marketplace_updated_at FROM {table} "
        "WHERE tenant_id = %s AND channel_id = %s AND external_id = k.external_id LIMIT 1) s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(external_ids), tenant_id, channel_id])
        return {external_id: (pk, updated) for external_id, pk, updated in cursor.fetchall()}
