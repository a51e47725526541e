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
from tests.commerce.marketplace.test_sync import WorkerKilled


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


# --- partial shipments: one confirmation per package, in each marketplace's shape -------------


def package(tenant: Any, sales: SalesOrder, units: dict[str, int], tracking: str) -> Fulfilment:
    """A shipped fulfilment of ``units`` per SKU of the order (one package)."""
    fulfilment = Fulfilment.objects.create(
        tenant=tenant,
        sales_order=sales,
        warehouse=WarehouseFactory(tenant=tenant),
        carrier="UPS",
        tracking_number=tracking,
        shipped_at=timezone.now(),
    )
    fulfilment.ship()
    fulfilment.save(update_fields=["state"])
    for line in sales.lines.filter(sku__in=units):
        quantity = Decimal(units[line.sku])
        FulfilmentLine.objects.create(
            tenant=tenant,
            fulfilment=fulfilment,
            line=line,
            quantity=quantity,
            shipped_quantity=quantity,
        )
    return fulfilment


def imported_order(tenant: Any, market: Any, channel: Any) -> SalesOrder:
    """Order 1001: SKU-A x 1 (line 1) and SKU-B x 2 (line 2), imported by a sync."""
    fill(market, 1)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    return SalesOrder.objects.for_tenant(tenant).get()


def sent(market: Any, index: int) -> Any:
    """The body (JSON, or AliExpress's business parameters) of the index-th confirmation."""
    request = market.confirmations[index]
    if market.kind == "aliexpress":
        return json.loads(request.query["param0"])
    return json.loads(request.body)


def test_two_packages_of_one_order_are_confirmed_as_two_in_the_marketplace_shape(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given an order of SKU-A x 1 and SKU-B x 2 shipped in two packages
    sales = imported_order(tenant, market, channel)
    first = package(tenant, sales, {"SKU-B": 1}, "1Z001")
    second = package(tenant, sales, {"SKU-A": 1, "SKU-B": 1}, "1Z002")
    # when each is confirmed
    assert fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=first.pk) is True
    assert fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=second.pk) is True
    # then the marketplace holds two packages, each with its own units and tracking number
    assert len(market.confirmations) == 2
    CHECKS[market.kind](market, sent(market, 0), sent(market, 1), (first.pk, second.pk))
    kinds = list(sales.order.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.SHIPMENT_CONFIRMED) == 2


def _amazon(market: Any, one: Any, two: Any, ids: tuple[int, int]) -> None:
    assert one["packageDetail"]["packageReferenceId"] == str(ids[0])
    assert one["packageDetail"]["trackingNumber"] == "1Z001"
    assert one["packageDetail"]["orderItems"] == [{"orderItemId": "1001-2", "quantity": 1}]
    assert two["packageDetail"]["packageReferenceId"] == str(ids[1])
    assert two["packageDetail"]["orderItems"] == [
        {"orderItemId": "1001-1", "quantity": 1},
        {"orderItemId": "1001-2", "quantity": 1},
    ]
    assert sorted(market.packages["1001"]) == sorted([str(ids[0]), str(ids[1])])


def _ebay(market: Any, one: Any, two: Any, ids: tuple[int, int]) -> None:
    assert (one["trackingNumber"], one["lineItems"]) == (
        "1Z001",
        [{"lineItemId": "1001-2", "quantity": 1}],
    )
    assert (two["trackingNumber"], two["lineItems"]) == (
        "1Z002",
        [{"lineItemId": "1001-1", "quantity": 1}, {"lineItemId": "1001-2", "quantity": 1}],
    )
    assert one["shippingCarrierCode"] == "UPS"
    assert [f["shipmentTrackingNumber"] for f in market.fulfillments["1001"]] == [
        "1Z001",
        "1Z002",
    ]


def _aliexpress(market: Any, one: Any, two: Any, ids: tuple[int, int]) -> None:
    assert (one["out_ref"], one["send_type"], one["logistics_no"]) == ("1001", "part", "1Z001")
    assert (two["out_ref"], two["send_type"], two["logistics_no"]) == ("1001", "all", "1Z002")
    assert market.orders["1001"]["order_status"] == "WAIT_BUYER_ACCEPT_GOODS"


def _shopify(market: Any, one: Any, two: Any, ids: tuple[int, int]) -> None:
    groups = [b["fulfillment"]["line_items_by_fulfillment_order"] for b in (one, two)]
    assert groups == [
        [
            {
                "fulfillment_order_id": 100100,
                "fulfillment_order_line_items": [{"id": 1001200, "quantity": 1}],
            }
        ],
        [
            {
                "fulfillment_order_id": 100100,
                "fulfillment_order_line_items": [
                    {"id": 1001100, "quantity": 1},
                    {"id": 1001200, "quantity": 1},
                ],
            }
        ],
    ]
    assert [b["fulfillment"]["tracking_info"]["number"] for b in (one, two)] == ["1Z001", "1Z002"]
    assert market.fulfilled == {10011: 1, 10012: 2}


CHECKS = {"amazon": _amazon, "ebay": _ebay, "aliexpress": _aliexpress, "shopify": _shopify}


@pytest.mark.parametrize("market", ["aliexpress"], indirect=True)
def test_the_package_confirmed_last_completes_the_order_whatever_the_shipping_order(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given two packages shipped, the one shipped second confirmed first
    sales = imported_order(tenant, market, channel)
    first = package(tenant, sales, {"SKU-B": 2}, "1Z001")
    second = package(tenant, sales, {"SKU-A": 1}, "1Z002")
    # when they are confirmed
    assert fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=second.pk) is True
    assert fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=first.pk) is True
    # then only the last confirmation says the order is complete
    assert [sent(market, i)["send_type"] for i in (0, 1)] == ["part", "all"]
    assert [sent(market, i)["logistics_no"] for i in (0, 1)] == ["1Z002", "1Z001"]


@pytest.mark.parametrize("market", ["ebay"], indirect=True)
def test_an_ebay_confirmation_sent_again_after_a_lost_commit_creates_no_second_fulfillment(
    tenant: Any, products: Any, market: Any, channel: Any, monkeypatch: Any
) -> None:
    from commerce.services import sync

    # given a confirmation whose worker died after eBay took it, before our commit
    sales = imported_order(tenant, market, channel)
    fulfilment = package(tenant, sales, {"SKU-A": 1, "SKU-B": 2}, "1Z001")
    real_record = sync.event_record

    def die(**kwargs: Any) -> Any:
        raise WorkerKilled

    monkeypatch.setattr(sync, "event_record", die)
    with pytest.raises(WorkerKilled):
        fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=fulfilment.pk)
    assert (
        Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk).marketplace_confirmed_at is None
    )
    assert len(market.fulfillments["1001"]) == 1
    # when the task runs again
    monkeypatch.setattr(sync, "event_record", real_record)
    again = fulfilment_confirm_to_marketplace(tenant=tenant, fulfilment_id=fulfilment.pk)
    # then eBay still has one fulfillment (the tracking number was found, nothing posted)
    assert again is True
    assert len(market.fulfillments["1001"]) == 1
    posts = [r for r in market.requests if r.path.endswith("/shipping_fulfillment")]
    assert [r.method for r in posts] == ["GET", "POST", "GET"]
    stored = Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk)
    assert stored.marketplace_confirmed_at is not None
    assert (
        list(sales.order.events.values_list("kind", flat=True)).count(EventKind.SHIPMENT_CONFIRMED)
        == 1
    )
