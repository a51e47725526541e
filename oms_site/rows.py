"""Set-based row writing: many rows in one statement.

- :func:`rows_insert`: on PostgreSQL one ``COPY table (columns) FROM STDIN`` (the fastest way
  into PostgreSQL: no per-row statement, no client-side parameter interpolation; the text is
  streamed in chunks, so the server parses rows while the next ones are formatted); elsewhere
  (SQLite) multi-row ``INSERT ... VALUES`` in chunks. Unique and check constraints apply either
  way (a violation raises ``IntegrityError``; the caller's transaction rolls back). Values the
  same for every row (tenant, time of the write...) can be given once (``common``).
- :func:`rows_insert_with_ids`: the same, returning the new primary keys in row order.
- :func:`ids_allocate`: ``count`` new primary keys of a table from its identity sequence in one
  statement, so parent rows and their children can be written by COPY without ``RETURNING``.
- :func:`rows_set`: some fields of many rows (already locked by the caller) in one UPDATE.
- :func:`instances_insert`: unsaved model instances, like ``bulk_create`` (primary keys set on
  them, ``auto_now`` / ``auto_now_add`` stamped), through :func:`rows_insert_with_ids` on
  PostgreSQL; ``bulk_create`` elsewhere.

Values are given in database form (:func:`db_time`, :func:`db_time_converter`, :func:`db_json`);
columns a caller does not name (fields added to a model later) get their model defaults.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

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


def db_time_converter() -> Callable[[datetime | None], Any]:
    """:func:`db_time` for many values: the connection's form looked up once."""
    if connection.vendor == "postgresql":
        return _iso_or_none
    return db_time


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


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
    if isinstance(value, datetime | date):
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
    date: date.isoformat,
}


def _copy_line(row: Sequence[Any], end: str = "\n") -> str:
    # A plain text value needing no escape (printable, so no tab, newline or carriage return,
    # and no backslash: the common case) is taken as is, without a call per value.
    by_type = _COPY_BY_TYPE
    return (
        "\t".join(
            [
                v
                if type(v) is str and v.isprintable() and "\\" not in v
                else by_type.get(type(v), _copy_other)(v)
                for v in row
            ]
        )
        + end
    )


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
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    end: str = "\n",
    start: str = "",
) -> None:
    """One ``COPY``; ``start`` opens and ``end`` closes every line (the same text for every
    row: the common values, the defaults). The driver's copy bypasses Django's cursor
    wrapper, so the statement is logged here as that wrapper logs the others (``DEBUG``,
    ``CaptureQueriesContext``): statement counts include it."""
    qn = connection.ops.quote_name
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, _CopyStream(rows, end, start), _CHUNK)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )


_CHUNK = 16384


class _CopyStream:
    """The ``COPY`` text of ``rows``, formatted as the driver reads it, a chunk at a time:
    the server parses the rows already sent while the next ones are formatted."""

    def __init__(self, rows: Sequence[Sequence[Any]], end: str, start: str = "") -> None:
        self.rows = rows
        self.end = end
        self.start = start
        self.next = 0

    def read(self, size: int = -1) -> str:
        rows, end, start, position = self.rows, self.end, self.start, self.next
        stop = len(rows)
        if position >= stop:
            return ""
        lines = []
        length = 0
        while position < stop and (size < 0 or length < size):
            line = start + _copy_line(rows[position], end)
            lines.append(line)
            length += len(line)
            position += 1
        self.next = position
        return "".join(lines)


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
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    common: Mapping[str, Any] | None = None,
) -> None:
    """Insert the rows (see the module docstring). ``common``: columns whose value is the same
    for every row (the tenant, the time of the write...), given once, not in every row."""
    if not rows:
        return
    shared = tuple(common or ())
    named = (*shared, *columns)
    rest = _unnamed(model, named)
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    every = (*named, *(f.column for f in rest))
    if connection.vendor == "postgresql":
        end = "\t" + _copy_line(defaults) if rest else "\n"
        start = _copy_line(list(common.values()), "\t") if common else ""
        _copy(model._meta.db_table, every, rows, end, start)
        return
    if common or rest:
        head = tuple(common.values()) if common else ()
        rows = [(*head, *row, *defaults) for row in rows]
    _values(model._meta.db_table, every, rows)


def rows_insert_with_ids(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str,
    common: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert the rows and return their new primary keys in row order. ``key`` names a column
    unique within ``rows`` (used to match ``RETURNING`` rows back where ids are not allocated
    beforehand); ``common`` as for :func:`rows_insert`."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        ids = ids_allocate(model, len(rows))
        rows_insert(
            model,
            ("id", *columns),
            [(pk, *row) for pk, row in zip(ids, rows, strict=True)],
            common,
        )
        return ids
    head = tuple(common.values()) if common else ()
    columns = (*(common or ()), *columns)
    rest = _unnamed(model, columns)
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    columns = (*columns, *(f.column for f in rest))
    if head or rest:
        rows = [(*head, *row, *defaults) for row in rows]
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


def rows_set(model: Any, tenant_id: int, rows: Sequence[Any], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` (already locked by the caller) in one statement:
    ``WITH v(...) AS (VALUES ...) UPDATE ... FROM v`` (PostgreSQL and SQLite >= 3.33).

    Django's ``bulk_update`` builds one CASE per field and row, which costs far more Python
    than the database work it saves."""
    if not rows:
        return
    ops = connection.ops
    postgres = connection.vendor == "postgresql"
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    names = ["k", *(f"c{i}" for i in range(len(fields)))]

    def cast(index: int) -> str:
        column = columns[index]
        return (
            f"v.{names[index]}::{column.db_type(connection)}" if postgres else f"v.{names[index]}"
        )

    table = ops.quote_name(model._meta.db_table)
    assignments = ", ".join(
        f"{ops.quote_name(column.column)} = {cast(i)}" for i, column in enumerate(columns) if i > 0
    )
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    for row in rows:
        params.extend(
            column.get_db_prep_value(getattr(row, column.attname), connection) for column in columns
        )
    sql = (
        f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([placeholders] * len(rows))}) "
        f"UPDATE {table} SET {assignments} FROM v "
        f"WHERE {table}.{ops.quote_name(pk.column)} = {cast(0)} AND {table}.tenant_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tenant_id])


_Reader = Callable[[models.Model], Sequence[Any]]
_PLANS: dict[type[models.Model], tuple[tuple[str, ...], _Reader, tuple[str, ...]]] = {}


def _json_text(field: models.JSONField[Any]) -> Callable[[models.Model], str | None]:
    attname = field.attname
    encoder: json.JSONEncoder = (field.encoder or json.JSONEncoder)(separators=(",", ":"))

    def read(obj: models.Model) -> str | None:
        value = getattr(obj, attname)
        return None if value is None and field.null else encoder.encode(value)

    return read


def _plan(model: type[models.Model]) -> tuple[tuple[str, ...], _Reader, tuple[str, ...]]:
    """(columns, a reader of an instance's row of database values, the attributes stamped with
    the insert time) for the model's concrete fields but an auto primary key, worked out once
    per model: the plain columns read in one ``attrgetter`` call, then the JSON ones encoded."""
    plan = _PLANS.get(model)
    if plan is None:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and isinstance(f, AutoFieldMixin))
        ]
        plain = [f for f in fields if not isinstance(f, models.JSONField)]
        encoded = [_json_text(f) for f in fields if isinstance(f, models.JSONField)]
        names = [f.attname for f in plain]
        getter = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

        def read(obj: models.Model) -> Sequence[Any]:
            return (*getter(obj), *[encode(obj) for encode in encoded])

        columns = (
            *(f.column for f in plain),
            *(f.column for f in fields if isinstance(f, models.JSONField)),
        )
        stamped = tuple(
            f.attname
            for f in fields
            if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add)
        )
        plan = _PLANS[model] = (columns, read, stamped)
    return plan


def instances_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances of ``model`` as ``bulk_create`` would: their ``auto_now`` /
    ``auto_now_add`` fields stamped with the insert time, their auto primary keys set (a
    primary key that is not automatic, e.g. a one-to-one parent, is taken as set), marked as
    saved. On PostgreSQL: ids from the sequence, one ``COPY``; elsewhere
    ``bulk_create``. Values are taken as they are on the instances (already validated: no
    per-field conversion but JSON encoding)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    columns, read, stamped = _plan(model)
    now = timezone.now()
    for obj in objs:
        for name in stamped:
            setattr(obj, name, now)
    rows = [read(obj) for obj in objs]
    if isinstance(model._meta.pk, AutoFieldMixin):
        ids = ids_allocate(model, len(objs))
        rows_insert(
            model, ("id", *columns), [[pk, *row] for pk, row in zip(ids, rows, strict=True)]
        )
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
    else:
        rows_insert(model, columns, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
