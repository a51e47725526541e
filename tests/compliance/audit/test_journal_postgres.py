"""On PostgreSQL the journals refuse UPDATE and DELETE at the database, whatever the client."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from compliance.models.alerts import AlertAction, AlertNote
from compliance.services import alerts as svc
from orders.models import OrderEvent
from tests.compliance.factories import alert_new, reviewer
from tests.factories import order_in_status

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

STATEMENTS = [
    ("orders_orderevent", "UPDATE {table} SET reason = 'edited' WHERE id = %s"),
    ("orders_orderevent", "DELETE FROM {table} WHERE id = %s"),
    ("compliance_alertaction", "UPDATE {table} SET actor_name = 'someone' WHERE id = %s"),
    ("compliance_alertaction", "DELETE FROM {table} WHERE id = %s"),
    ("compliance_alertnote", "UPDATE {table} SET text = 'edited' WHERE id = %s"),
    ("compliance_alertnote", "DELETE FROM {table} WHERE id = %s"),
]


@pytest.mark.parametrize(("table", "sql"), STATEMENTS)
def test_journal_rows_cannot_be_changed_in_the_database(tenant: Any, table: str, sql: str) -> None:
    # given an order journal row, an alert action and an alert note
    order = order_in_status(tenant=tenant, status="pending")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant, order=order)
    note = svc.alert_note_add(tenant=tenant, actor=analyst, alert_id=alert.pk, text="Original")
    rows = {
        "orders_orderevent": OrderEvent.objects.for_tenant(tenant).filter(order=order).first(),
        "compliance_alertaction": AlertAction.objects.for_tenant(tenant)
        .filter(alert=alert)
        .first(),
        "compliance_alertnote": note,
    }
    row = rows[table]
    assert row is not None
    before = {
        "events": list(
            OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", "reason")
        ),
        "actions": list(
            AlertAction.objects.for_tenant(tenant).order_by("pk").values_list("pk", "actor_name")
        ),
        "notes": list(
            AlertNote.objects.for_tenant(tenant).order_by("pk").values_list("pk", "text")
        ),
    }
    # when raw SQL tries to change it, then the database refuses
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), [row.pk])
    # and nothing changed
    assert before == {
        "events": list(
            OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", "reason")
        ),
        "actions": list(
            AlertAction.objects.for_tenant(tenant).order_by("pk").values_list("pk", "actor_name")
        ),
        "notes": list(
            AlertNote.objects.for_tenant(tenant).order_by("pk").values_list("pk", "text")
        ),
    }
