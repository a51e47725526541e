"""The marketplace import's own statements (set-based writing is ``oms_site.rows``).

- :func:`sales_orders_stored`: the stored orders of a page's external ids, one index probe per
  key in one statement, whatever the planner statistics (:func:`statistics_ensure`).
- :func:`products_active`, :func:`channel_lock`: a page's product look-up and channel lock,
  each one plain statement on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models


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


def products_active(*, tenant_id: int, skus: Sequence[str]) -> dict[str, tuple[int, str]]:
    """SKU -> (id, name) of the tenant's active products among ``skus``: one statement (on
    PostgreSQL a plain ``= ANY`` of the SKUs, without building an ORM query for a page's
    look-up)."""
    from commerce.models import Product

    if not skus:
        return {}
    if connection.vendor != "postgresql":
        rows = (
            Product.objects.for_tenant(tenant_id)
            .filter(sku__in=list(skus), active=True)
            .values_list("sku", "pk", "name")
        )
        return {sku: (pk, name) for sku, pk, name in rows}
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sku, id, name FROM {table} WHERE tenant_id = %s AND active AND sku = ANY(%s)",
            [tenant_id, list(skus)],
        )
        return {sku: (pk, name) for sku, pk, name in cursor.fetchall()}


def channel_lock(*, tenant_id: int, channel_id: int) -> None:
    """``SELECT ... FOR NO KEY UPDATE`` of the tenant's channel row (a no-op elsewhere, as
    ``select_for_update`` is on SQLite); see ``orders_upsert`` for why ``NO KEY``."""
    from commerce.models import Channel

    if connection.vendor != "postgresql":
        list(
            Channel.objects.for_tenant(tenant_id)
            .select_for_update(no_key=True)
            .filter(pk=channel_id)
            .values_list("pk", flat=True)
        )
        return
    table = connection.ops.quote_name(Channel._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE tenant_id = %s AND id = %s FOR NO KEY UPDATE",
            [tenant_id, channel_id],
        )
