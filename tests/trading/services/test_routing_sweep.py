"""A broker down at publish time loses no accepted order: the request answers with what it
committed, and the routing sweep later routes and sends what was never published."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from celery.app.task import Task
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.conftest import client_for
from tests.trading.order_helpers import ORDERS, market, order_body, state, trade_by_client_id
from trading.models import VenueOrder
from trading.services.sweeper import routing_sweep
from trading.venues.simulated import SimulatedVenue

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)
    return monkeypatch


def _later(seconds: int = 31):
    return timezone.now() + timedelta(seconds=seconds)


def test_an_order_entered_while_the_broker_is_down_is_accepted_and_routed_by_the_sweep(
    tenant, trader, broker_down, django_capture_on_commit_callbacks
):
    market(tenant)
    # when an order is entered while the broker refuses connections
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trader).post(ORDERS, order_body(), format="json")
    # then the client gets its 201 and the order is stored, pending, with no child
    assert response.status_code == 201
    trade = trade_by_client_id(tenant, "cl-1")
    assert state(trade)[:2] == ("pending", "PendingNew")
    assert VenueOrder.objects.for_tenant(tenant).count() == 0
    # and once the broker is back, the sweep routes it (exactly once)
    broker_down.undo()
    with django_capture_on_commit_callbacks(execute=True):
        swept = routing_sweep(tenant_id=tenant.pk, now=_later())
    assert (swept.routed, swept.sent) == ([trade.pk], [])
    assert state(trade) == ("open", "New", D(60), D(0), D(60), D(0))
    assert VenueOrder.objects.for_tenant(tenant).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = routing_sweep(tenant_id=tenant.pk, now=_later())
    assert (again.routed, again.sent) == ([], [])


def test_the_sweep_leaves_orders_younger_than_the_grace_period(
    tenant, trader, broker_down, django_capture_on_commit_callbacks
):
    market(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(trader).post(ORDERS, order_body(), format="json")
    broker_down.undo()
    swept = routing_sweep(tenant_id=tenant.pk, now=_later(5))
    assert (swept.routed, swept.sent) == ([], [])


def test_a_child_whose_send_was_lost_is_sent_by_the_sweep(
    tenant, trader, monkeypatch, django_capture_on_commit_callbacks
):
    market(tenant)
    # (the simulator answers in process, so the router sends to it inside the routing
    # transaction: here it is made to send from its own task, as a FIX adapter does)
    monkeypatch.setattr(SimulatedVenue, "sends_in_transaction", False)
    # given an order routed while the venue send could not be published
    original = Task.apply_async

    def refuse_sends(self, *args, **kwargs):
        if self.name == "trading.tasks.venue_order_send":
            raise OperationalError("Connection refused.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", refuse_sends)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(trader).post(ORDERS, order_body(), format="json")
    child = VenueOrder.objects.for_tenant(tenant).get()
    assert (child.state, child.sent_at) == ("pending_new", None)
    # when the sweep runs with the broker back
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        swept = routing_sweep(tenant_id=tenant.pk, now=_later())
    # then the child is sent once and acknowledged
    assert (swept.routed, swept.sent) == ([], [child.pk])
    child.refresh_from_db()
    assert child.state == "new"
    assert state(trade_by_client_id(tenant, "cl-1"))[:2] == ("open", "New")
