"""A Shopify webhook with a valid signature and a wrongly nested order: 400 naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from commerce.marketplaces.shopify import webhook_signature
from commerce.models import SalesOrder, WebhookEvent
from orders.models import Order, OrderEvent
from tests.commerce.marketplace.conftest import ago, channel_for
from tests.commerce.marketplace.servers import FakeShopify

Body = dict[str, Any]


@pytest.fixture
def shopify(tenant: Any, products: Any) -> Any:
    fake = FakeShopify().start()
    yield channel_for(tenant, fake)
    fake.stop()


def order_json() -> Body:
    fake = FakeShopify.__new__(FakeShopify)
    return fake.order_json("5001", updated=ago(10), lines=[("SKU-A", 1, "10.00")])


def deliver(channel: Any, body: bytes) -> Any:
    return APIClient(enforce_csrf_checks=True).post(
        f"/api/v1/commerce/webhooks/shopify/{channel.pk}/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
        HTTP_X_SHOPIFY_WEBHOOK_ID="wh-shape",
        HTTP_X_SHOPIFY_HMAC_SHA256=webhook_signature(body, FakeShopify.WEBHOOK_SECRET),
    )


def _tax_line_text(body: Body) -> None:
    body["line_items"][0]["tax_lines"] = ["7.00"]


def _line_items_object(body: Body) -> None:
    body["line_items"] = {"sku": "SKU-A"}


def _set(key: str, value: Any) -> Callable[[Body], None]:
    return lambda body: body.__setitem__(key, value)


CASES = [
    (_set("shipping_address", "4 Shop Way, Berlin"), "shipping_address", "is not a JSON object."),
    (_set("customer", "Sam Poe"), "customer", "is not a JSON object."),
    (_tax_line_text, "line_items[0].tax_lines[0]", "is not a JSON object."),
    (_line_items_object, "line_items", "is not a JSON array."),
    (_set("shipping_lines", [{"price": {"amount": "1"}}]), "shipping_lines[0].price", None),
    (_set("email", {"address": "sam@shop.example"}), "email", "is not text."),
]


@pytest.mark.parametrize(
    ("breaks", "field", "message"), CASES, ids=[field for _, field, _ in CASES]
)
def test_a_signed_webhook_with_a_wrongly_nested_order_is_400_naming_the_field(
    tenant: Any, shopify: Any, breaks: Callable[[Body], None], field: str, message: str | None
) -> None:
    # given a correctly signed orders/create body whose order is wrongly nested
    body = order_json()
    breaks(body)
    # when it is delivered
    answer = deliver(shopify, json.dumps(body).encode())
    # then it is refused with 400 naming the field
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [f"{field} {message}"]
    else:
        assert errors[field] == [f"{field} {{'amount': '1'}} is not a number."]
    # and nothing is stored, not even the delivery (a corrected redelivery is processed)
    assert WebhookEvent.objects.for_tenant(tenant).count() == 0
    assert SalesOrder.objects.for_tenant(tenant).count() == 0
    assert Order.objects.for_tenant(tenant).count() == 0
    assert OrderEvent.objects.for_tenant(tenant).count() == 0


def test_the_corrected_redelivery_of_a_refused_webhook_is_imported(
    tenant: Any, shopify: Any
) -> None:
    # given a delivery refused for a wrongly nested address
    body = order_json()
    wrong = {**body, "shipping_address": "4 Shop Way, Berlin"}
    assert deliver(shopify, json.dumps(wrong).encode()).status_code == 400
    # when the corrected order is delivered under the same webhook id
    answer = deliver(shopify, json.dumps(body).encode())
    # then it is imported
    assert answer.status_code == 200
    assert answer.json()["created"] == 1
    assert SalesOrder.objects.for_tenant(tenant).get().ship_city == "Berlin"
