"""Newer marketplace versions of stored orders, applied set-based by ``orders_upsert``: status
and time, one journal row each, cancellations, older versions ignored; a page's statements do
not grow with its orders; a failing page applies nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commerce.marketplaces.base import MarketLine, MarketOrder, MarketState
from commerce.models import SalesOrder
from commerce.services.marketplace_import import orders_upsert
from orders.models import EventKind, Order, OrderEvent, OrderStatus
from tests.commerce.factories import ChannelFactory, ProductFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(hours=2)


def version(
    external_id: str,
    minutes: int = 0,
    state: MarketState = MarketState.OPEN,
    status: str = "Unshipped",
) -> MarketOrder:
    """The order as the marketplace shows it ``minutes`` after T0."""
    return MarketOrder(
        external_id=external_id,
        state=state,
        marketplace_status=status,
        updated_at=T0 + timedelta(minutes=minutes),
        placed_at=T0,
        currency="USD",
        lines=(MarketLine("L1", "SKU-A", Decimal("1"), Decimal("4.00")),),
    )


@pytest.fixture
def channel(tenant: Any) -> Any:
    ProductFactory(tenant=tenant, sku="SKU-A")
    return ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")


def as_json(value: Any) -> Any:
    return DjangoJSONEncoder().default(value)


def upsert(tenant: Any, channel: Any, orders: list[MarketOrder]) -> Any:
    with transaction.atomic():
        return orders_upsert(tenant=tenant, channel=channel, orders=orders)


def state(tenant: Any) -> dict[str, tuple[Any, ...]]:
    """external id -> (order status, marketplace status, marketplace time, journal kinds)."""
    rows = SalesOrder.objects.for_tenant(tenant).select_related("order")
    return {
        s.external_id: (
            s.order.status,
            s.marketplace_status,
            s.marketplace_updated_at,
            list(s.order.events.order_by("id").values_list("kind", flat=True)),
        )
        for s in rows
    }


def test_a_page_of_newer_versions_is_applied_with_one_journal_row_each(
    tenant: Any, channel: Any
) -> None:
    # given four stored orders
    upsert(tenant, channel, [version(x) for x in ("A", "B", "C", "D")])
    # when a page brings two newer versions, a cancellation and an older version
    result = upsert(
        tenant,
        channel,
        [
            version("A", 5, status="Shipped-Partially"),
            version("B", 7, status="PendingReview"),
            version("C", 9, MarketState.CANCELED, status="Canceled"),
            version("D", -5, status="Stale"),
        ],
    )
    # then the newer ones are applied, the cancellation cancels, the older one is ignored
    assert (result.created, result.updated, result.skipped) == (0, 3, 1)
    imported, updated = EventKind.IMPORTED, EventKind.MARKETPLACE_UPDATED
    assert state(tenant) == {
        "A": (
            OrderStatus.OPEN,
            "Shipped-Partially",
            T0 + timedelta(minutes=5),
            [imported, updated],
        ),
        "B": (OrderStatus.OPEN, "PendingReview", T0 + timedelta(minutes=7), [imported, updated]),
        "C": (
            OrderStatus.CANCELED,
            "Canceled",
            T0 + timedelta(minutes=9),
            [imported, updated, EventKind.CANCELED],
        ),
        "D": (OrderStatus.OPEN, "Unshipped", T0, [imported]),
    }
    # and each journal row names the change, by the system
    rows = (
        OrderEvent.objects.for_tenant(tenant)
        .filter(kind=updated)
        .order_by("order__sales__external_id")
        .values_list("order__sales__external_id", "actor_id", "actor_name", "data")
    )
    assert list(rows) == [
        (
            "A",
            None,
            "system",
            {
                "from": "Unshipped",
                "to": "Shipped-Partially",
                "marketplace_updated_at": as_json(T0 + timedelta(minutes=5)),
            },
        ),
        (
            "B",
            None,
            "system",
            {
                "from": "Unshipped",
                "to": "PendingReview",
                "marketplace_updated_at": as_json(T0 + timedelta(minutes=7)),
            },
        ),
        (
            "C",
            None,
            "system",
            {
                "from": "Unshipped",
                "to": "Canceled",
                "marketplace_updated_at": as_json(T0 + timedelta(minutes=9)),
            },
        ),
    ]
    # and the same page again changes nothing
    again = upsert(
        tenant,
        channel,
        [version("A", 5), version("B", 7), version("C", 9, MarketState.CANCELED)],
    )
    assert (again.updated, again.skipped) == (0, 3)
    assert OrderEvent.objects.for_tenant(tenant).count() == 8


def test_the_statements_of_an_update_page_do_not_grow_with_its_orders(
    tenant: Any, channel: Any
) -> None:
    # given eight stored orders
    ids = [f"N-{n}" for n in range(8)]
    upsert(tenant, channel, [version(x) for x in ids])
    # when a page updates two of them, then a page updates the six others
    with CaptureQueriesContext(connection) as two:
        upsert(tenant, channel, [version(x, 1, status="Later") for x in ids[:2]])
    with CaptureQueriesContext(connection) as six:
        upsert(tenant, channel, [version(x, 1, status="Later") for x in ids[2:]])
    # then both took the same statements
    assert len(two) == len(six)
    assert {v[1] for v in state(tenant).values()} == {"Later"}
    assert OrderEvent.objects.for_tenant(tenant).count() == 16


def test_a_page_that_fails_applies_none_of_its_updates(tenant: Any, channel: Any) -> None:
    # given a stored order, and another whose client order id a new order would repeat
    upsert(tenant, channel, [version("A"), version("B")])
    SalesOrder.objects.for_tenant(tenant).filter(external_id="B").update(external_id="moved")
    before = state(tenant)
    events = OrderEvent.objects.for_tenant(tenant).count()
    # when a page holds a newer version of A and that new order
    with pytest.raises(IntegrityError), transaction.atomic():
        orders_upsert(
            tenant=tenant,
            channel=channel,
            orders=[version("A", 3, MarketState.CANCELED, status="Canceled"), version("B")],
        )
    # then nothing of the page is stored: A is as it was, with its journal
    assert state(tenant) == before
    assert OrderEvent.objects.for_tenant(tenant).count() == events
    assert Order.objects.for_tenant(tenant).count() == 2
