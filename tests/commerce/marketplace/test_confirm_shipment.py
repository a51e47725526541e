"""Shipment confirmation back to each marketplace: once, with carrier, tracking and lines."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import Fulfilment, FulfilmentLine, SalesOrder
from commerce.services.sync import (
    channel_sync_start,
    fulfilment_confirm_to_marketplace,
    sync_run_execute,
)
from orders.models import EventKind
from tests.commerce.factories import WarehouseFactory
from tests.commerce.marketplace.conftest import fill


def shipped_fulfilment(tenant: Any, sales: SalesOrder) -> Fulfilment:
    fulfilment = Fulfilment.objects.create(
        tenant=tenant,
        sales_order=sales,
        warehouse=WarehouseFactory(tenant=tenant),
        carrier="UPS",
        tracking_number="1Z999",
        shipped_at=timezone.now(),
    )
    fulfilment.ship()
    fulfilment.save(update_fields=["state"])
    for line in sales.lines.all():
        FulfilmentLine.objects.create(
            tenant=tenant,
            fulfilment=fulfilment,
            line=line,
            quantity=line.quantity,
            shipped_quantity=line.quantity,
        )
    return fulfilment


def test_shipment_is_confirmed_once_to_the_marketplace(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given an imported order shipped from one warehouse
    fill(market, 1)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    sales = SalesOrder.objects.for_tenant(tenant).get()
    fulfilment = shipped_fulfilment(tenant, sales)
    # when the confirmation task runs twice
    first = fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=fulfilment.pk)
    second = fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=fulfilment.pk)
    # then the marketplace got exactly one confirmation naming the tracking number
    assert (first, second) == (True, False)
    assert len(market.confirmations) == 1
    sent = market.confirmations[0]
    assert "1Z999" in (sent.body.decode() + json.dumps(sent.query))
    stored = Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk)
    assert stored.marketplace_confirmed_at is not None
    kinds = list(sales.order.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.SHIPMENT_CONFIRMED) == 1


def test_a_web_channel_fulfilment_is_not_confirmed_anywhere(tenant: Any, products: Any) -> None:
    from tests.commerce.factories import sales_order_make

    sales = sales_order_make(tenant=tenant, lines=[(products["SKU-A"], 1, Decimal("3"))])
    fulfilment = shipped_fulfilment(tenant, sales)
    assert fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=fulfilment.pk) is False
    stored = Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk)
    assert stored.marketplace_confirmed_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("market", ["ebay"], indirect=True)
def test_a_confirmation_racing_a_delivery_of_the_same_order_does_both(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    from commerce.services.fulfilment import fulfilment_deliver
    from tests.orders.helpers import run_in_threads

    # given imported orders, each shipped from one warehouse
    fill(market, 10)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    for sales in SalesOrder.objects.for_tenant(tenant).order_by("pk"):
        fulfilment = shipped_fulfilment(tenant, sales)

        # when its marketplace confirmation and its delivery start at the same moment
        def work(i: int, f: Fulfilment = fulfilment) -> Any:
            if i == 0:
                return fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=f.pk)
            return fulfilment_deliver(tenant=tenant, actor=None, fulfilment_id=f.pk).state

        results = run_in_threads(2, work)
        # then both went through (every writer locks the order first: no deadlock)
        assert results == [True, "delivered"]
        stored = Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk)
        assert (stored.state, stored.marketplace_confirmed_at is not None) == ("delivered", True)
        kinds = set(
            sales.order.events.filter(
                kind__in=[EventKind.SHIPMENT_CONFIRMED, EventKind.DELIVERED]
            ).values_list("kind", flat=True)
        )
        assert kinds == {EventKind.SHIPMENT_CONFIRMED, EventKind.DELIVERED}
    assert len(market.confirmations) == 10
