"""Set-based row writes shared by the commerce services (routing, moves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from orders.models import OrderEvent
from orders.services import actor_name

Actor = Any


def journal_row(
    *,
    order_id: int,
    tenant_id: int,
    kind: str,
    actor: Actor,
    data: Mapping[str, Any],
    reason: str = "",
) -> OrderEvent:
    """An unsaved journal row (inserted in bulk by the caller)."""
    return OrderEvent(
        tenant_id=tenant_id,
        order_id=order_id,
        kind=kind,
        actor=actor,
        actor_name=actor_name(actor),
        reason=reason[:500],
        data=dict(data),
    )


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
