"""orders.tasks.orders_expire_due: the beat task that expires due live orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from orders import services
from orders.models import OrderEvent
from orders.tasks import orders_expire_due
from tests.factories import TenantFactory, order_in_status
from tests.orders.helpers import event_rows, reload

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_mix(tenant, other_tenant):
    """Orders of every live status, due or not, in two active tenants and an inactive one."""
    past = datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    future = timezone.now() + timedelta(days=1)
    dormant: Any = TenantFactory(slug="dormant")
    orders = {
        "open_due": order_in_status(tenant=tenant, status="open", expires_at=past),
        "partial_due": order_in_status(tenant=tenant, status="partial", expires_at=past),
        "open_not_due": order_in_status(tenant=tenant, status="open", expires_at=future),
        "open_no_expiry": order_in_status(tenant=tenant, status="open"),
        "draft_due": order_in_status(tenant=tenant, status="draft", expires_at=past),
        "pending_due": order_in_status(tenant=tenant, status="pending", expires_at=past),
        "held_due": order_in_status(tenant=tenant, status="held", expires_at=past),
        "completed_due": order_in_status(tenant=tenant, status="completed", expires_at=past),
        "canceled_due": order_in_status(tenant=tenant, status="canceled", expires_at=past),
        "beta_open_due": order_in_status(
            tenant=other_tenant, status="open", kind="sales", expires_at=past
        ),
        "dormant_open_due": order_in_status(tenant=dormant, status="open", expires_at=past),
    }
    dormant.active = False
    dormant.save(update_fields=["active"])
    return orders


def _statuses(orders):
    return {name: reload(order).status for name, order in orders.items()}


def _event_count(orders):
    return sum(
        OrderEvent.objects.for_tenant(o.tenant_id).filter(order=o).count() for o in orders.values()
    )


def test_expires_only_due_open_and_partial_orders_of_active_tenants(due_mix):
    # given the mix
    # when the task runs
    expired = orders_expire_due()
    # then exactly the three due open/partial orders of active tenants expired
    assert expired == 3
    assert _statuses(due_mix) == {
        "open_due": "expired",
        "partial_due": "expired",
        "open_not_due": "open",
        "open_no_expiry": "open",
        "draft_due": "draft",
        "pending_due": "pending",
        "held_due": "held",
        "completed_due": "completed",
        "canceled_due": "canceled",
        "beta_open_due": "expired",
        "dormant_open_due": "open",
    }


def test_expiry_is_journaled_once_per_order(due_mix):
    # given the mix
    # when the task runs
    orders_expire_due()
    # then each expired order has one system 'expired' event with its expiry time
    order = due_mix["partial_due"]
    assert event_rows(order)[-1] == (
        "expired",
        "partial",
        "expired",
        "system",
        "Expiry time reached.",
    )
    last = OrderEvent.objects.for_tenant(order.tenant_id).filter(order=order).latest("id")
    assert (last.actor_id, last.data) == (None, {"expires_at": "2020-01-01T12:00:00.123Z"})
    assert reload(order).status_reason == "Expiry time reached."
    assert [row[0] for row in event_rows(due_mix["open_due"])].count("expired") == 1


def test_running_twice_changes_nothing_the_second_time(due_mix):
    # given the task has run once
    assert orders_expire_due() == 3
    before = (_statuses(due_mix), _event_count(due_mix))
    # when it runs again
    again = orders_expire_due()
    # then nothing more is expired or journaled
    assert again == 0
    assert (_statuses(due_mix), _event_count(due_mix)) == before


def test_the_task_runs_through_celery_apply(due_mix):
    # given eager Celery (the test settings)
    # when the task is sent
    result = orders_expire_due.delay()
    # then it ran inline with the same outcome
    assert result.get() == 3
    assert reload(due_mix["open_due"]).status == "expired"


def test_service_expires_at_exactly_the_due_time(tenant):
    # given an order due at noon
    noon = datetime(2030, 6, 1, 12, tzinfo=UTC)
    order = order_in_status(tenant=tenant, status="open", expires_at=noon)
    # when the service runs a microsecond early, then exactly at noon
    early = services.orders_expire_due(tenant_id=tenant.pk, now=noon - timedelta(microseconds=1))
    on_time = services.orders_expire_due(tenant_id=tenant.pk, now=noon)
    # then it expires at noon, not before
    assert (early, on_time) == ([], [order.pk])
    assert reload(order).status == "expired"


def test_service_only_touches_the_given_tenant(tenant, other_tenant):
    past = timezone.now() - timedelta(minutes=1)
    mine = order_in_status(tenant=tenant, status="open", expires_at=past)
    theirs = order_in_status(tenant=other_tenant, status="open", expires_at=past)
    assert services.orders_expire_due(tenant_id=tenant.pk) == [mine.pk]
    assert (reload(mine).status, reload(theirs).status) == ("expired", "open")


def test_the_task_is_routed_to_the_default_queue():
    from oms_site.celery import app

    route = app.amqp.router.route({}, "orders.tasks.orders_expire_due")
    assert route["queue"].name == "default"
    assert app.conf.beat_schedule["orders-expire-due"]["task"] == "orders.tasks.orders_expire_due"
