"""Valid JSON of the wrong shape from a marketplace: a wrongly nested order is rejected alone,
a wrongly nested envelope fails the run with the reason (each connector, its local server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from commerce.models import SyncStatus
from tests.commerce.marketplace.conftest import fill
from tests.commerce.marketplace.test_sync import counts, run_sync, stored

Order = dict[str, Any]


def _set(key: str, value: Any) -> Callable[[Order], None]:
    return lambda order: order.__setitem__(key, value)


def _amazon_item_price_text(order: Order) -> None:
    order["_items"][0]["ItemPrice"] = "10.00"


def _ebay_tax_text(order: Order) -> None:
    order["lineItems"][0]["taxes"] = ["7.00"]


def _shopify_tax_line_text(order: Order) -> None:
    order["line_items"][0]["tax_lines"] = ["7.00"]


WRONGLY_NESTED = [
    (
        "amazon",
        _set("ShippingAddress", "1 Main St, Berlin"),
        "ShippingAddress is not a JSON object.",
    ),
    ("amazon", _set("BuyerInfo", ["jane@marketplace.example"]), "BuyerInfo is not a JSON object."),
    ("amazon", _amazon_item_price_text, "OrderItems[0].ItemPrice is not a JSON object."),
    ("amazon", _set("OrderStatus", {"code": "Unshipped"}), "OrderStatus is not text."),
    ("ebay", _set("cancelStatus", "NONE_REQUESTED"), "cancelStatus is not a JSON object."),
    (
        "ebay",
        _set("fulfillmentStartInstructions", {"shippingStep": {}}),
        "fulfillmentStartInstructions is not a JSON array.",
    ),
    ("ebay", _ebay_tax_text, "lineItems[0].taxes[0] is not a JSON object."),
    ("ebay", _set("lineItems", {"sku": "SKU-A"}), "lineItems is not a JSON array."),
    ("aliexpress", _set("receipt_address", "3 Ring Rd"), "receipt_address is not a JSON object."),
    ("aliexpress", _set("product_list", []), "product_list is not a JSON object."),
    ("aliexpress", _set("logistics_amount", "4.99"), "logistics_amount is not a JSON object."),
    ("shopify", _set("shipping_address", "4 Shop Way"), "shipping_address is not a JSON object."),
    ("shopify", _set("customer", "Sam Poe"), "customer is not a JSON object."),
    ("shopify", _shopify_tax_line_text, "line_items[0].tax_lines[0] is not a JSON object."),
]


@pytest.mark.parametrize(
    ("market", "breaks", "reason"),
    WRONGLY_NESTED,
    indirect=["market"],
    ids=[f"{kind}-{reason.split(' ')[0]}" for kind, _, reason in WRONGLY_NESTED],
)
def test_a_wrongly_nested_order_is_rejected_with_its_reason_and_the_rest_is_stored(
    tenant: Any,
    products: Any,
    market: Any,
    channel: Any,
    sleeps: Any,
    breaks: Callable[[Order], None],
    reason: str,
) -> None:
    # given three orders, the middle one valid JSON but wrongly nested
    fill(market, 3)
    breaks(market.orders["1002"])
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then the run is done, the two others are stored and the bad one is an error with its id
    assert (run.status, run.created, run.errors) == (SyncStatus.DONE, 2, 1)
    assert run.error_detail == f"1002: {reason}\n"
    assert sorted(stored(tenant, channel)) == ["1001", "1003"]
    channel.refresh_from_db()
    assert channel.watermark == run.window_end


@pytest.mark.parametrize("market", ["ebay"], indirect=True)
def test_an_order_entry_that_is_not_an_object_is_rejected_without_an_id(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given a page listing a number where an order belongs
    body = json.dumps({"total": 1, "limit": 200, "offset": 0, "orders": [42]}).encode()
    market.fail(market.list_path, 200, body=body, headers={"Content-Type": "application/json"})
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then that entry is one error, and nothing is stored
    assert (run.status, run.created, run.errors) == (SyncStatus.DONE, 0, 1)
    assert run.error_detail == "?: The order is not a JSON object.\n"
    assert counts(tenant) == (0, 0, 0, 0, 0)


WRONG_ENVELOPES = {
    "amazon": (
        {"payload": {"Orders": {"AmazonOrderId": "1001"}}},
        "SP-API response.payload.Orders is not a JSON array.",
    ),
    "ebay": (
        {"total": 1, "orders": {"orderId": "1001"}},
        "getOrders response.orders is not a JSON array.",
    ),
    "aliexpress": (
        {
            "aliexpress_solution_order_get_response": {
                "result": {"success": True, "target_list": [{"order_id": 1001}]}
            }
        },
        "AliExpress response.aliexpress_solution_order_get_response.result.target_list"
        " is not a JSON object.",
    ),
    "shopify": ({"orders": "1001"}, "orders.json response.orders is not a JSON array."),
}


def test_a_wrongly_nested_envelope_fails_the_run_with_the_reason_and_stores_nothing(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given the order list answers valid JSON whose envelope has the wrong shape
    fill(market, 3)
    envelope, reason = WRONG_ENVELOPES[market.kind]
    body = json.dumps(envelope).encode()
    market.fail(market.list_path, 200, body=body, headers={"Content-Type": "application/json"})
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then the run failed saying why, stored nothing, and the watermark did not move
    assert (run.status, run.pages, run.created, run.retries) == (SyncStatus.FAILED, 0, 0, 0)
    assert run.error_detail == f"page 1: {reason}\n"
    assert counts(tenant) == (0, 0, 0, 0, 0)
    channel.refresh_from_db()
    assert channel.watermark is None
