"""A marketplace cancellation of an order whose goods have (partly) shipped."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from commerce.marketplaces.base import MarketLine, MarketOrder, MarketState
from commerce.models import SalesOrder
from commerce.services.allocation import sales_order_route
from commerce.services.fulfilment import ShipLine, fulfilment_ship, fulfilments_create_for_order
from commerce.services.marketplace_import import orders_upsert
from orders.models import EventKind, OrderEvent
from tests.commerce.core.helpers import stock_of, stock_state, warehouse_in
from tests.commerce.factories import ChannelFactory, ProductFactory
from tests.commerce.fulfilment.helpers import allocation_rows, order_status

pytestmark = pytest.mark.django_db

D = Decimal
T0 = timezone.now() - timedelta(hours=2)


def version(minutes: int, state: MarketState, status: str) -> MarketOrder:
    return MarketOrder(
        external_id="AMZ-1",
        state=state,
        marketplace_status=status,
        updated_at=T0 + timedelta(minutes=minutes),
        placed_at=T0,
        currency="USD",
        lines=(MarketLine("L1", "A", D("5"), D("4.00")),),
        ship_city="Berlin",
        ship_country="DE",
    )


def _upsert(tenant: Any, channel: Any, order: MarketOrder) -> Any:
    with transaction.atomic():
        return orders_upsert(tenant=tenant, channel=channel, orders=[order])


@pytest.fixture
def shipped_two_of_five(tenant: Any, seller: Any) -> SalesOrder:
    """An imported order of 5 x A, routed to Berlin, of which Berlin shipped 2."""
    product = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), product, 5)
    channel = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")
    _upsert(tenant, channel, version(0, MarketState.OPEN, "Unshipped"))
    sales = SalesOrder.objects.for_tenant(tenant).get(external_id="AMZ-1")
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    with transaction.atomic():
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=fulfilment.pk,
            carrier="DHL",
            lines=[ShipLine(sales.lines.get().pk, D("2"))],
        )
    return SalesOrder.objects.for_tenant(tenant).get(pk=sales.pk)


def test_a_cancellation_closes_the_unshipped_remainder(
    tenant: Any, shipped_two_of_five: SalesOrder
) -> None:
    # given an imported order of which 2 of 5 shipped, the other 3 waiting for Berlin
    sales = shipped_two_of_five
    assert order_status(sales) == ("partial", "partially_fulfilled")
    # when the marketplace reports it canceled
    result = _upsert(tenant, sales.channel, version(5, MarketState.CANCELED, "Canceled"))
    # then the 3 unshipped are released and the order completes with what shipped
    assert result.updated == 1
    assert order_status(sales) == ("completed", "partially_fulfilled")
    assert allocation_rows(sales) == [
        (1, "BER", D("2.000"), "shipped"),
        (1, "BER", D("3.000"), "released"),
    ]
    assert stock_state(tenant) == [("BER", "A", D("3.000"), D("0.000"), D("0"))]
    completed = OrderEvent.objects.for_tenant(tenant).get(
        order_id=sales.pk, kind=EventKind.COMPLETED
    )
    assert (completed.actor_id, completed.reason) == (
        None,
        "Canceled at the marketplace (Canceled).",
    )
    assert completed.data["remainder_canceled"] == [{"line": 1, "sku": "A", "quantity": "3.000"}]


def test_a_cancellation_of_an_order_shipped_in_full_is_a_note(
    tenant: Any, seller: Any, shipped_two_of_five: SalesOrder
) -> None:
    # given the imported order's remaining 3 routed again and shipped (the order is completed)
    sales = shipped_two_of_five
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    for fulfilment in fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    ):
        with transaction.atomic():
            fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="DHL")
    assert order_status(sales) == ("completed", "fulfilled")
    before = stock_state(tenant)
    # when the marketplace reports it canceled
    _upsert(tenant, sales.channel, version(5, MarketState.CANCELED, "Canceled"))
    # then nothing changes but a note for staff
    assert order_status(sales) == ("completed", "fulfilled")
    assert stock_state(tenant) == before
    note = OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk).latest("id")
    assert (note.kind, note.reason) == (
        EventKind.NOTE,
        "Canceled at the marketplace (Canceled). Goods have already shipped: not canceled here.",
    )
