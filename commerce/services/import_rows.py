"""Set-based row writing for the marketplace import: many rows in one statement.

- :func:`rows_insert`: on PostgreSQL one ``COPY table (columns) FROM STDIN`` per table and page
  (the fastest way into PostgreSQL: no per-row statement, no client-side parameter
  interpolation); elsewhere (SQLite) multi-row ``INSERT ... VALUES`` in chunks. Unique and check
  constraints apply either way (a violation raises ``IntegrityError`` and rolls the page back).
- :func:`ids_allocate`: ``count`` new primary keys of a table from its identity sequence in one
  statement, so parent rows and their children can be written by COPY without ``RETURNING``.
- :func:`references_allocate`: ``count`` consecutive order references from one counter update
  (in the caller's transaction: gapless; a rolled-back page gives its numbers back).
- :func:`sales_orders_stored`: the stored orders of a page's external ids, one index probe per
  key in one statement, whatever the planner statistics (:func:`statistics_ensure`).

Values are given in database form (:func:`db_time`, :func:`db_json`); columns a caller does not
name (fields added to a model later) get their model defaults.
"""

from __future__ import annotations

import io
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
    """A datetime in database form; on PostgreSQL its ISO text, which ``COPY`` and a bound
    parameter both read as the same instant (and which a page converts once, not per row)."""
    if value is None:
        return None
    if connection.vendor == "postgresql":
        return value.isoformat()
    return connection.ops.adapt_datetimefield_value(value)


_JSON = DjangoJSONEncoder(separators=(",", ":"))


def db_json(value: Any) -> str:
    return _JSON.encode(value)


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_str(value: str) -> str:
    return _copy_text(str(value))


def _copy_other(value: Any) -> str:
    if isinstance(value, str):  # a str subclass (a choices enum): its text, as for ``str``
        _COPY_BY_TYPE[type(value)] = _copy_str
        return _copy_str(value)
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


def _copy_line(row: Sequence[Any], end: str = "\n") -> str:
    by_type = _COPY_BY_TYPE
    return "\t".join([by_type.get(type(v), _copy_other)(v) for v in row]) + end


_UNNAMED: dict[tuple[type[models.Model], tuple[str, ...]], list[models.Field[Any, Any]]] = {}


def _unnamed(model: type[models.Model], columns: Sequence[str]) -> list[models.Field[Any, Any]]:
    """The model's columns a caller does not name (but ``id``), looked up once per column set."""
    key = (model, tuple(columns))
    found = _UNNAMED.get(key)
    if found is None:
        given = set(columns)
        found = _UNNAMED[key] = [
            f
            for f in model._meta.concrete_fields
            if f.column not in given and not (f.primary_key and f.column == "id")
        ]
    return found


def _copy(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], end: str = "\n"
) -> None:
    """One ``COPY``; ``end`` closes every line (the same text for every row: the defaults)."""
    qn = connection.ops.quote_name
    buffer = io.StringIO("".join([_copy_line(row, end) for row in rows]))
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
    rest = _unnamed(model, columns)
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    every = (*columns, *(f.column for f in rest))
    if connection.vendor == "postgresql":
        end = "\t" + _copy_line(defaults) if rest else "\n"
        _copy(model._meta.db_table, every, rows, end)
        return
    if rest:
        rows = [(*row, *defaults) for row in rows]
    _values(model._meta.db_table, every, rows)


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
    rest = _unnamed(model, columns)
    if rest:
        defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
        columns = (*columns, *(f.column for f in rest))
        rows = [(*row, *defaults) for row in rows]
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
    statement (``unnest`` + ``LATERAL ... LIMIT 1``). The planner has to pick that index over
    the single-column ``tenant_id`` and ``channel_id`` ones, whose use would filter the
    tenant's (or channel's) every order for each key, a cost that grows with every page
    imported. Two things make it pick the right one whatever the data:

    - tenant and channel come in as the columns of a one-row subquery (``OFFSET 0`` keeps it
      a subquery), not as constants: the planner then estimates their selectivity from the
      number of distinct tenants and channels, not from the most common values, which do not
      hold a tenant or channel newer than the last ``ANALYZE`` (estimated "almost no rows");
    - a table that has never been analyzed has no estimate at all (each index "holds one
      row"), so it is analyzed first (:func:`statistics_ensure`), once per table and process.
    """
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
    statistics_ensure(SalesOrder, "tenant_id")
    with connection.cursor() as cursor:
        cursor.execute(stored_sql(), [tenant_id, channel_id, list(external_ids)])
        return {external_id: (pk, updated) for external_id, pk, updated in cursor.fetchall()}


def stored_sql() -> str:
    """The probe of :func:`sales_orders_stored` on PostgreSQL: parameters (tenant id, channel
    id, external ids), rows (external id, order id, marketplace_updated_at)."""
    from commerce.models import SalesOrder

    table = connection.ops.quote_name(SalesOrder._meta.db_table)
    return (
        "SELECT k.external_id, s.order_id, s.marketplace_updated_at "
        "FROM (SELECT %s::bigint AS tenant_id, %s::bigint AS channel_id OFFSET 0) AS p "
        "CROSS JOIN unnest(%s::text[]) AS k(external_id) CROSS JOIN LATERAL ("
        f"SELECT order_id, marketplace_updated_at FROM {table} "
        "WHERE tenant_id = p.tenant_id AND channel_id = p.channel_id "
        "AND external_id = k.external_id LIMIT 1) AS s"
    )


_ANALYZED: set[str] = set()  # tables seen with planner statistics, in this process


def statistics_ensure(model: type[models.Model], column: str) -> bool:
    """``ANALYZE`` the model's table if PostgreSQL has no statistics on ``column`` yet (a table
    never analyzed: a fresh database, or autovacuum not yet come round after a first bulk
    import). Once statistics are seen the table is not asked about again in this process
    (they are only ever refreshed, never dropped). Returns whether it analyzed.

    Runs in the caller's transaction: ``ANALYZE`` takes a SHARE UPDATE EXCLUSIVE lock (only
    ``VACUUM``, ``ANALYZE`` and DDL wait for it) until that transaction ends."""
    table = model._meta.db_table
    if connection.vendor != "postgresql" or table in _ANALYZED:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = %s AND attname = %s)",
            [table, column],
        )
        if cursor.fetchone()[0]:
            _ANALYZED.add(table)
            return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True
