"""oms_site.rows.instances_insert: model instances written set-based (a COPY on PostgreSQL)
with what bulk_create gives them: primary keys, insert time, JSON, one-to-one keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from oms_site.rows import instances_insert
from orders.models import Order, OrderEvent
from tests.trading.factories import AccountFactory, InstrumentFactory
from trading.models import TradeOrder

pytestmark = pytest.mark.django_db


def _order(tenant: Any, n: int, **kw: Any) -> Order:
    return Order(
        tenant=tenant,
        kind="trade",
        client_order_id=f"rows-{n}",
        reference=f"T-9{n:05d}",
        submission={"quantity": "1.50", "note": 'tab\there, "quoted" \\ and\nnewline'},
        **kw,
    )


def test_instances_are_stored_with_their_keys_times_and_json(tenant: Any) -> None:
    # given two unsaved orders and their trade details
    orders = [_order(tenant, 1), _order(tenant, 2, note="second")]
    # when they are inserted set-based
    instances_insert(Order, orders)
    account, instrument = AccountFactory(tenant=tenant), InstrumentFactory(tenant=tenant)
    trades = [
        TradeOrder(
            tenant=tenant,
            order=order,
            account=account,
            instrument=instrument,
            side="buy",
            quantity=Decimal("10"),
            order_type="market",
            time_in_force="day",
            leaves_qty=Decimal("10"),
        )
        for order in orders
    ]
    instances_insert(TradeOrder, trades)
    events = [OrderEvent(tenant=tenant, order=order, kind="created", data={}) for order in orders]
    instances_insert(OrderEvent, events)
    # then each instance has its key, is marked saved, and reads back as it was written
    assert all(o.pk and not o._state.adding for o in [*orders, *events])
    stored = list(Order.objects.for_tenant(tenant).order_by("pk"))
    assert [(o.pk, o.reference, o.note, o.status) for o in stored] == [
        (orders[0].pk, "T-900001", "", "draft"),
        (orders[1].pk, "T-900002", "second", "draft"),
    ]
    assert stored[0].submission == orders[0].submission
    assert [o.created_at for o in stored] == [o.created_at for o in orders]
    assert None not in [o.created_at for o in orders]
    details = TradeOrder.objects.for_tenant(tenant).order_by("order_id")
    assert [(t.order_id, t.quantity, t.leaves_qty, t.cum_qty) for t in details] == [
        (orders[0].pk, Decimal("10"), Decimal("10"), Decimal("0")),
        (orders[1].pk, Decimal("10"), Decimal("10"), Decimal("0")),
    ]
    assert list(
        OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", "order_id", "data")
    ) == [(events[0].pk, orders[0].pk, {}), (events[1].pk, orders[1].pk, {})]


def test_a_unique_violation_stores_nothing(tenant: Any) -> None:
    # given a stored order
    instances_insert(Order, [_order(tenant, 1)])
    before = list(Order.objects.for_tenant(tenant).values_list("pk", "reference"))
    # when a set repeating its reference is inserted
    with pytest.raises(IntegrityError), transaction.atomic():
        instances_insert(Order, [_order(tenant, 2), _order(tenant, 1)])
    # then nothing of the set is stored
    assert list(Order.objects.for_tenant(tenant).values_list("pk", "reference")) == before


def test_nothing_to_insert_writes_nothing(tenant: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        instances_insert(Order, [])
