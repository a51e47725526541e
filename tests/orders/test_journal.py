"""The order journal: one event per transition and per significant action, append-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from orders.models import AppendOnlyError, Order, OrderEvent
from orders.services import event_record, order_apply_transition, order_lock
from tests.factories import order_in_status
from tests.orders.helpers import counts, event_rows, reload

pytestmark = pytest.mark.django_db


def _step(tenant, order, name, reason=""):
    with transaction.atomic():
        locked = order_lock(tenant=tenant, order_id=order.pk)
        order_apply_transition(
            order=locked, transition=name, actor=None, reason=reason, check_permission=False
        )


def _event_state(event: OrderEvent) -> tuple:
    fresh = OrderEvent.objects.for_tenant(event.tenant_id).get(pk=event.pk)
    return (fresh.kind, fresh.from_status, fresh.to_status, fresh.reason, fresh.data)


def test_a_full_life_journals_every_step_in_order(tenant, trader):
    # given an order created and submitted by a trader
    order = order_in_status(tenant=tenant, status="open")
    # when it is filled twice, then completed
    _step(tenant, order, "fill_partially", "fill 1")
    _step(tenant, order, "fill_partially", "fill 2")
    _step(tenant, order, "complete", "filled")
    # then the journal tells the whole story, oldest first
    assert event_rows(order) == [
        ("created", "", "draft", "system", ""),
        ("submitted", "draft", "pending", "system", ""),
        ("accepted", "pending", "open", "system", ""),
        ("partially_filled", "open", "partial", "system", "fill 1"),
        ("partially_filled", "partial", "partial", "system", "fill 2"),
        ("completed", "partial", "completed", "system", "filled"),
    ]
    assert reload(order).status == "completed"


def test_every_event_belongs_to_the_orders_tenant(tenant, other_tenant):
    # given orders in two tenants
    mine = order_in_status(tenant=tenant, status="open")
    theirs = order_in_status(tenant=other_tenant, status="canceled")
    # when we read each tenant's journal
    # then each holds exactly its own order's events
    assert set(OrderEvent.objects.for_tenant(tenant).values_list("order_id", flat=True)) == {
        mine.pk
    }
    assert set(OrderEvent.objects.for_tenant(other_tenant).values_list("order_id", flat=True)) == {
        theirs.pk
    }
    assert event_rows(theirs) == [
        ("created", "", "draft", "system", ""),
        ("canceled", "draft", "canceled", "system", ""),
    ]


def test_event_record_appends_a_note_and_caps_the_reason(tenant):
    # given an order
    order = order_in_status(tenant=tenant, status="open")
    # when a note with an over-long reason is recorded
    event = event_record(order=order, kind="note", actor=None, reason="r" * 600, data={"k": 1})
    # then it is appended with a 500-character reason
    assert (event.kind, len(event.reason), event.data, event.actor_name) == (
        "note",
        500,
        {"k": 1},
        "system",
    )
    assert event_rows(order)[-1][0] == "note"


@pytest.fixture
def journaled(tenant):
    order = order_in_status(tenant=tenant, status="open")
    event = OrderEvent.objects.for_tenant(tenant).filter(order=order).earliest("id")
    return order, event


def test_saving_an_existing_event_is_refused(tenant, journaled):
    # given a journaled event
    _, event = journaled
    before = _event_state(event)
    # when it is edited and saved
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.save()
    # then the row is unchanged
    assert _event_state(event) == before


def test_deleting_an_event_is_refused(tenant, journaled):
    _, event = journaled
    before = counts(tenant)
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert counts(tenant) == before


def test_queryset_update_is_refused(tenant, journaled):
    _, event = journaled
    before = _event_state(event)
    with pytest.raises(AppendOnlyError):
        OrderEvent.objects.for_tenant(tenant).filter(pk=event.pk).update(reason="x")
    assert _event_state(event) == before


def test_queryset_delete_is_refused(tenant, journaled):
    order, _ = journaled
    before = counts(tenant)
    with pytest.raises(AppendOnlyError):
        OrderEvent.objects.for_tenant(tenant).filter(order=order).delete()
    assert counts(tenant) == before


def test_related_manager_update_and_delete_are_refused(tenant, journaled):
    order, event = journaled
    before = (counts(tenant), _event_state(event))
    with pytest.raises(AppendOnlyError):
        order.events.update(reason="x")
    with pytest.raises(AppendOnlyError):
        order.events.all().delete()
    assert (counts(tenant), _event_state(event)) == before


def test_bulk_update_is_refused(tenant, journaled):
    _, event = journaled
    before = _event_state(event)
    event.reason = "x"
    with pytest.raises(AppendOnlyError), transaction.atomic():
        OrderEvent.objects.for_tenant(tenant).bulk_update([event], ["reason"])
    assert _event_state(event) == before


def test_a_journaled_order_cannot_be_deleted(tenant, journaled):
    # given an order with events
    order, _ = journaled
    before = counts(tenant)
    # when the order row is deleted
    with pytest.raises(ProtectedError), transaction.atomic():
        Order.objects.for_tenant(tenant).get(pk=order.pk).delete()
    # then the order and its journal remain
    assert counts(tenant) == before


@pytest.mark.postgres
def test_postgres_trigger_refuses_a_raw_update(tenant, journaled):
    # given a journaled event
    _, event = journaled
    before = _event_state(event)
    # when raw SQL updates it
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_orderevent SET reason = 'rewritten' WHERE id = %s", [event.pk]
        )
    # then the trigger refuses and the row is unchanged
    assert "Cannot update or delete rows from orders_orderevent table" in str(exc.value)
    assert _event_state(event) == before


@pytest.mark.postgres
def test_postgres_trigger_refuses_a_raw_delete(tenant, journaled):
    order, event = journaled
    before = (counts(tenant), _event_state(event))
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM orders_orderevent WHERE order_id = %s", [order.pk])
    assert "Cannot update or delete rows from orders_orderevent table" in str(exc.value)
    assert (counts(tenant), _event_state(event)) == before


@pytest.mark.postgres
def test_postgres_trigger_refuses_the_plain_base_manager(tenant, journaled):
    # given the unguarded base manager (it bypasses the Python-level refusal)
    _, event = journaled
    before = _event_state(event)
    # when it updates the row
    with pytest.raises(DatabaseError), transaction.atomic():
        OrderEvent._base_manager.filter(pk=event.pk).update(reason="x")
    # then the database itself refuses
    assert _event_state(event) == before
