"""The look-up of a page's stored orders on PostgreSQL: one probe of the unique index
(tenant, channel, external id) per key, also for a tenant the planner statistics do not know."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commerce.marketplaces.base import MarketLine, MarketOrder, MarketState
from commerce.models import SalesOrder
from commerce.services import import_rows
from commerce.services.import_rows import sales_orders_stored, statistics_ensure, stored_sql
from commerce.services.marketplace_import import orders_upsert
from tests.commerce.factories import ChannelFactory, ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _page(prefix: str, count: int) -> list[MarketOrder]:
    when = timezone.now() - timedelta(minutes=5)
    return [
        MarketOrder(
            external_id=f"{prefix}-{n:05d}",
            state=MarketState.OPEN,
            marketplace_status="Unshipped",
            updated_at=when,
            placed_at=when,
            currency="USD",
            lines=(MarketLine("L1", "SKU-A", Decimal("1"), Decimal("2.00")),),
        )
        for n in range(count)
    ]


def _import(tenant: Any, prefix: str, count: int) -> Any:
    ProductFactory(tenant=tenant, sku="SKU-A")
    channel = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")
    with transaction.atomic():
        orders_upsert(tenant=tenant, channel=channel, orders=_page(prefix, count))
    return channel


def test_probe_uses_the_unique_index_for_a_tenant_newer_than_the_statistics(
    tenant: Any, other_tenant: Any
) -> None:
    # given the statistics taken when only one tenant had orders, then a second tenant's
    # orders imported
    _import(tenant, "A", 600)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE commerce_salesorder")
    channel = _import(other_tenant, "B", 600)
    # when the probe of a page of the second tenant is planned
    keys = [f"B-{n:05d}" for n in range(200, 400)]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + stored_sql(), [other_tenant.pk, channel.pk, keys])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then each key is one probe of the unique index, not a scan of the tenant's orders
    assert "Index Scan using sales_order_unique_external" in plan, plan
    assert "tenant_id_" not in plan, plan
    # and the probe finds exactly the stored ones
    found = sales_orders_stored(
        tenant_id=other_tenant.pk, channel_id=channel.pk, external_ids=[*keys[:3], "B-missing"]
    )
    expected = dict(
        SalesOrder.objects.for_tenant(other_tenant)
        .filter(external_id__in=keys[:3])
        .values_list("external_id", "order_id")
    )
    assert {k: v[0] for k, v in found.items()} == expected
    assert len(expected) == 3


def test_statistics_are_ensured_once_then_not_asked_about_again(
    tenant: Any, monkeypatch: Any
) -> None:
    # given stored orders and a process that has not looked at the table yet
    _import(tenant, "A", 50)
    monkeypatch.setattr(import_rows, "_ANALYZED", set())
    # when the statistics are ensured
    statistics_ensure(SalesOrder, "tenant_id")
    # then the table has them
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = 'commerce_salesorder' AND attname = 'tenant_id'"
        )
        assert cursor.fetchone()[0] == 1
    # and once seen, asking again costs no statement
    statistics_ensure(SalesOrder, "tenant_id")
    with CaptureQueriesContext(connection) as queries:
        assert statistics_ensure(SalesOrder, "tenant_id") is False
    assert len(queries) == 0
