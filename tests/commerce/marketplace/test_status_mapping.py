"""Each documented marketplace order status maps onto the right state (Amazon's every
``OrderStatus``, eBay's payment, fulfilment and cancel statuses, a full refund included)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.marketplaces.base import MarketState, Window, connector_for
from tests.commerce.marketplace.conftest import ago
from tests.commerce.marketplace.fakes import iso
from tests.commerce.marketplace.test_sync import run_sync, stored

WINDOW = Window(start=timezone.now() - timedelta(days=1), end=timezone.now())

AMAZON = {
    # OrderStatus: (state, items fetched)
    "Pending": (MarketState.PENDING, False),
    "PendingAvailability": (MarketState.PENDING, False),
    "Unshipped": (MarketState.OPEN, True),
    "PartiallyShipped": (MarketState.OPEN, True),
    "Shipped": (MarketState.SHIPPED, False),
    "InvoiceUnconfirmed": (MarketState.SHIPPED, False),
    "Canceled": (MarketState.CANCELED, True),
    "Unfulfillable": (MarketState.CANCELED, True),
}


def fetch_all(channel: Any) -> Any:
    connector = connector_for(channel)
    try:
        return connector.fetch_page(WINDOW, None)
    finally:
        connector.close()


@pytest.mark.parametrize("market", ["amazon"], indirect=True)
def test_every_documented_amazon_order_status_maps_to_its_state(
    tenant: Any, market: Any, channel: Any
) -> None:
    # given one order in each documented OrderStatus, and one in a status Amazon does not have
    market.page_size = 20
    ids = {}
    for n, status in enumerate([*AMAZON, "Mystery"]):
        external_id = str(4001 + n)
        market.add(external_id, updated=ago(60 - n), lines=[("SKU-A", 2, "5.00")])
        market.orders[external_id]["OrderStatus"] = status
        ids[external_id] = status
    # when a page is fetched
    page = fetch_all(channel)
    # then each maps as documented, with the items read only where they are needed
    got = {o.marketplace_status: (o.state, len(o.lines) == 1) for o in page.orders}
    assert got == AMAZON
    asked = {r.path.split("/")[-2] for r in market.requests if r.path.endswith("/orderItems")}
    assert {ids[i] for i in asked} == {s for s, (_, items) in AMAZON.items() if items}
    # and a status Amazon does not document is a rejected order, not a guess
    assert page.rejected == [("4009", "Unknown OrderStatus 'Mystery'.")]


EBAY = [
    # (orderPaymentStatus, orderFulfillmentStatus, cancelState) -> (state, recorded status)
    (("PAID", "NOT_STARTED", "NONE_REQUESTED"), (MarketState.OPEN, "NOT_STARTED")),
    (("PAID", "IN_PROGRESS", "NONE_REQUESTED"), (MarketState.OPEN, "IN_PROGRESS")),
    (("PAID", "FULFILLED", "NONE_REQUESTED"), (MarketState.SHIPPED, "FULFILLED")),
    (("PENDING", "NOT_STARTED", "NONE_REQUESTED"), (MarketState.PENDING, "PENDING")),
    (("FAILED", "NOT_STARTED", "NONE_REQUESTED"), (MarketState.PENDING, "FAILED")),
    (("PARTIALLY_REFUNDED", "NOT_STARTED", "NONE_REQUESTED"), (MarketState.OPEN, "NOT_STARTED")),
    (("FULLY_REFUNDED", "NOT_STARTED", "NONE_REQUESTED"), (MarketState.CANCELED, "FULLY_REFUNDED")),
    (("FULLY_REFUNDED", "FULFILLED", "NONE_REQUESTED"), (MarketState.CANCELED, "FULLY_REFUNDED")),
    (("PAID", "NOT_STARTED", "CANCEL_REQUESTED"), (MarketState.OPEN, "NOT_STARTED")),
    (("PAID", "NOT_STARTED", "CANCELED"), (MarketState.CANCELED, "CANCELED")),
]


def ebay_status(order: dict[str, Any], payment: str, fulfilment: str, cancel: str) -> None:
    order["orderPaymentStatus"] = payment
    order["orderFulfillmentStatus"] = fulfilment
    order["cancelStatus"] = {"cancelState": cancel, "cancelRequests": []}


@pytest.mark.parametrize("market", ["ebay"], indirect=True)
def test_ebay_payment_fulfilment_and_cancel_statuses_map_to_their_state(
    tenant: Any, market: Any, channel: Any
) -> None:
    # given one order for each combination
    market.page_size = 20
    for n, (statuses, _) in enumerate(EBAY):
        external_id = str(5001 + n)
        market.add(external_id, updated=ago(60 - n), lines=[("SKU-A", 1, "5.00")])
        ebay_status(market.orders[external_id], *statuses)
    # when a page is fetched
    page = fetch_all(channel)
    # then each maps as the connector documents (a full refund: nothing left to ship)
    got = {o.external_id: (o.state, o.marketplace_status) for o in page.orders}
    assert got == {str(5001 + n): expected for n, (_, expected) in enumerate(EBAY)}
    assert page.rejected == []


@pytest.mark.parametrize("market", ["ebay"], indirect=True)
def test_a_fully_refunded_ebay_order_is_not_imported_and_cancels_an_imported_one(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given an open order imported, and an order refunded in full before we ever saw it
    market.add("6001", updated=ago(60), lines=[("SKU-A", 1, "5.00")])
    market.add("6002", updated=ago(50), lines=[("SKU-A", 1, "5.00")])
    ebay_status(market.orders["6002"], "FULLY_REFUNDED", "NOT_STARTED", "NONE_REQUESTED")
    first = run_sync(tenant, channel, sleeps)
    assert (first.created, first.skipped) == (1, 1)
    assert sorted(stored(tenant, channel)) == ["6001"]
    # when the imported one is refunded in full at eBay and the channel syncs again
    ebay_status(market.orders["6001"], "FULLY_REFUNDED", "NOT_STARTED", "NONE_REQUESTED")
    market.orders["6001"]["lastModifiedDate"] = iso(timezone.now())
    again = run_sync(tenant, channel, sleeps)
    # then it is canceled here (its stock released), and the other is still not imported
    assert (again.created, again.updated) == (0, 1)
    orders = stored(tenant, channel)
    assert sorted(orders) == ["6001"]
    assert (orders["6001"].order.status, orders["6001"].marketplace_status) == (
        "canceled",
        "FULLY_REFUNDED",
    )
