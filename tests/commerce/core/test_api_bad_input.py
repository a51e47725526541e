"""Bad input to the commerce core API in shapes a JSON client can send (a list where a string
belongs, a key named like a service argument, text no database can store, a date that does
not exist): each answers 400 naming the field the way it was sent, and nothing is stored or
changed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.services.allocation import sales_order_route
from tests.commerce.core.helpers import BERLIN, order_enter, rows_snapshot, stock_of, warehouse_in
from tests.commerce.factories import (
    AddressFactory,
    ChannelFactory,
    CustomerFactory,
    ProductFactory,
    ProductPriceFactory,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
BASE = "/api/v1/commerce"
JSON = "application/json"
BAD = "@bad@"  # where a test puts its raw JSON value
NUL = "Null characters are not allowed."
SURROGATE = "Surrogate characters are not allowed: U+D800."
UNKNOWN = ["Unknown field."]


@pytest.fixture
def client(operations: Any) -> Any:
    return client_for(operations)


@pytest.fixture
def shop(tenant: Any, operations: Any) -> dict[str, Any]:
    """A product with stock and a list price, a web channel, a customer with an address, and
    a routed order (so there is an allocation to move)."""
    product = ProductFactory(tenant=tenant, sku="A")
    ProductPriceFactory(tenant=tenant, product=product, currency="USD")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, product, 10)
    stock_of(tenant, munich, product, 10)
    channel = ChannelFactory(tenant=tenant, code="WEB", currency="USD")
    customer = CustomerFactory(tenant=tenant)
    AddressFactory(tenant=tenant, customer=customer)
    sales = order_enter(tenant, operations, channel=channel, lines=[(product, 1)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    return {
        "product": product.pk,
        "warehouse": berlin.pk,
        "munich": munich.pk,
        "customer": customer.pk,
        "order": sales.pk,
        "allocation": sales.allocations.get().pk,
        "soon": (timezone.now() + timedelta(minutes=20)).isoformat(),
    }


def _order(**change: Any) -> dict[str, Any]:
    return {
        "channel": "WEB",
        "external_id": "W-1",
        "currency": "USD",
        "shipping_address": BERLIN,
        "lines": [{"sku": "A", "quantity": "1", "unit_price": "10.00"}],
        **change,
    }


def _send(client: Any, method: str, url: str, payload: Any, raw: str | None = None) -> Any:
    """``payload`` as JSON; ``raw``, when given, is the JSON text that replaces ``BAD``."""
    text = json.dumps(payload)
    if raw is not None:
        assert text.count(f'"{BAD}"') == 1
        text = text.replace(f'"{BAD}"', raw)
    return getattr(client, method)(f"{BASE}/{url}", data=text, content_type=JSON)


# --- a line's SKU that is not a string ------------------------------------------------------


@pytest.mark.parametrize("sku", [["A"], {"sku": "A"}, 7, True])
def test_line_sku_that_is_not_a_string_is_400_naming_it(
    client: Any, tenant: Any, shop: Any, sku: Any
) -> None:
    before = rows_snapshot(tenant)
    lines = [
        {"sku": "A", "quantity": "1", "unit_price": "1"},
        {"sku": sku, "quantity": "1", "unit_price": "1"},
    ]

    response = _send(client, "post", "orders/", _order(lines=lines))

    assert response.status_code == 400
    assert response.json()["errors"] == {"lines[1].sku": ["Must be a string."]}
    assert rows_snapshot(tenant) == before


# --- body keys named like a service's own arguments ------------------------------------------

SERVICE_ARGUMENTS = ["tenant", "actor", "product_id", "customer_id", "warehouse_id"]
ENDPOINTS = [
    ("post", "products/", {"sku": "B", "name": "B"}),
    ("patch", "products/{product}/", {"name": "Renamed"}),
    ("post", "customers/", {"name": "Ada", "email": "ada@example.com", "country": "GB"}),
    ("patch", "customers/{customer}/", {"name": "Renamed"}),
    ("post", "customers/{customer}/addresses/", BERLIN),
    ("post", "warehouses/", {"code": "HAM", "name": "H", "city": "Hamburg", "country": "DE"}),
    ("patch", "warehouses/{warehouse}/", {"name": "Renamed"}),
    ("post", "stock/receive/", {"warehouse": "{warehouse}", "product": "{product}", "quantity": 1}),
    ("post", "stock/adjust/", {"warehouse": "{warehouse}", "product": "{product}", "on_hand": 9}),
    (
        "post",
        "reservations/",
        {
            "warehouse": "{warehouse}",
            "product": "{product}",
            "quantity": "1",
            "expires_at": "{soon}",
        },
    ),
    ("post", "orders/", _order(external_id="W-2")),
    ("post", "orders/{order}/cancel/", {"reason": "changed mind"}),
    ("post", "allocations/{allocation}/move/", {"warehouse": "{munich}"}),
]


def _filled(value: Any, ids: dict[str, Any]) -> Any:
    """``"{name}"`` placeholders replaced by the fixture's values."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "url", "payload"), ENDPOINTS)
def test_keys_named_like_service_arguments_are_unknown_fields(
    client: Any, tenant: Any, shop: Any, method: str, url: str, payload: dict[str, Any]
) -> None:
    before = rows_snapshot(tenant)

    answers = [
        _send(client, method, url.format(**shop), {**_filled(payload, shop), key: 1})
        for key in SERVICE_ARGUMENTS
    ]

    assert [(a.status_code, a.json()["errors"]) for a in answers] == [
        (400, {key: UNKNOWN}) for key in SERVICE_ARGUMENTS
    ]
    assert rows_snapshot(tenant) == before


@pytest.mark.parametrize(("method", "url", "payload"), ENDPOINTS)
def test_the_same_bodies_without_those_keys_are_accepted(
    client: Any, tenant: Any, shop: Any, method: str, url: str, payload: dict[str, Any]
) -> None:
    response = _send(client, method, url.format(**shop), _filled(payload, shop))

    assert response.status_code in (200, 201), response.json()


# --- text holding a NUL or a lone surrogate ---------------------------------------------------

TEXT_FIELDS = [
    ("post", "orders/", _order(channel=BAD), "channel"),
    ("post", "orders/", _order(external_id=BAD), "external_id"),
    ("post", "orders/", _order(note=BAD), "note"),
    (
        "post",
        "orders/",
        _order(lines=[{"sku": BAD, "quantity": "1", "unit_price": "1"}]),
        "lines[0].sku",
    ),
    (
        "post",
        "orders/",
        _order(lines=[{"sku": "A", "quantity": "1", "external_line_id": BAD}]),
        "lines[0].external_line_id",
    ),
    *[
        (
            "post",
            "orders/",
            _order(shipping_address={**BERLIN, name: BAD}),
            f"shipping_address.{name}",
        )
        for name in ("name", "line1", "line2", "city", "region", "postal_code")
    ],
    ("post", "products/", {"sku": BAD, "name": "B"}, "sku"),
    ("post", "products/", {"sku": "B", "name": BAD}, "name"),
    ("patch", "products/{product}/", {"name": BAD}, "name"),
    ("post", "customers/", {"name": BAD, "email": "a@example.com", "country": "DE"}, "name"),
    ("post", "customers/", {"name": "Ada", "email": BAD, "country": "DE"}, "email"),
    (
        "post",
        "customers/",
        {
            "name": "Ada",
            "email": "a@example.com",
            "country": "DE",
            "addresses": [{**BERLIN, "line1": BAD}],
        },
        "addresses[0].line1",
    ),
    ("patch", "customers/{customer}/", {"email": BAD}, "email"),
    ("post", "customers/{customer}/addresses/", {**BERLIN, "line2": BAD}, "line2"),
    ("post", "warehouses/", {"code": BAD, "name": "H", "city": "Hamburg", "country": "DE"}, "code"),
    (
        "post",
        "warehouses/",
        {"code": "HAM", "name": BAD, "city": "Hamburg", "country": "DE"},
        "name",
    ),
    ("patch", "warehouses/{warehouse}/", {"line1": BAD}, "line1"),
    (
        "post",
        "reservations/",
        {
            "warehouse": "{warehouse}",
            "product": "{product}",
            "quantity": "1",
            "expires_at": "{soon}",
            "reference": BAD,
        },
        "reference",
    ),
    ("post", "orders/{order}/cancel/", {"reason": BAD}, "reason"),
    ("post", "allocations/{allocation}/move/", {"warehouse": "{munich}", "reason": BAD}, "reason"),
    ("post", "channels/", {"code": BAD, "name": "Shop", "kind": "web"}, "code"),
    ("post", "channels/", {"code": "SHOP", "name": BAD, "kind": "web"}, "name"),
]


@pytest.mark.parametrize(("raw", "message"), [('"\\ud800"', SURROGATE), ('"a\\u0000b"', NUL)])
@pytest.mark.parametrize(("method", "url", "payload", "field"), TEXT_FIELDS)
def test_text_with_a_nul_or_a_lone_surrogate_is_400_naming_the_field(
    client: Any,
    tenant: Any,
    shop: Any,
    method: str,
    url: str,
    payload: dict[str, Any],
    field: str,
    raw: str,
    message: str,
) -> None:
    before = rows_snapshot(tenant)

    response = _send(client, method, url.format(**shop), _filled(payload, shop), raw)

    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}
    assert rows_snapshot(tenant) == before


# --- other values no column can take ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"placed_at": "2024-13-01T00:00:00Z"},
            {"placed_at": ["An ISO 8601 date and time with an offset."]},
        ),
        ({"placed_at": "9999-12-31T23:59:59-14:00"}, {"placed_at": ["Out of range."]}),
        ({"placed_at": "0001-01-01T00:00:00+14:00"}, {"placed_at": ["Out of range."]}),
        ({"ip_address": 1}, {"ip_address": ["A valid IP address."]}),
        ({"ip_address": ["10.0.0.1"]}, {"ip_address": ["A valid IP address."]}),
        (
            {"currency": "\ud800"},
            {"currency": ["Use a three-letter ISO 4217 code in upper case, e.g. USD."]},
        ),
    ],
)
def test_order_values_no_column_can_take_are_400(
    client: Any, tenant: Any, shop: Any, change: dict[str, Any], errors: dict[str, Any]
) -> None:
    before = rows_snapshot(tenant)

    response = _send(client, "post", "orders/", _order(**change))

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert rows_snapshot(tenant) == before


# --- one coordinate without the other ---------------------------------------------------------

HALF_LOCATED = [
    (
        "post",
        "warehouses/",
        {"code": "HAM", "name": "H", "city": "Hamburg", "country": "DE", "latitude": "53.5"},
        "longitude",
    ),
    ("patch", "warehouses/{warehouse}/", {"longitude": "10"}, "latitude"),
    ("patch", "warehouses/{warehouse}/", {"latitude": "53.5", "longitude": None}, "longitude"),
    ("post", "customers/{customer}/addresses/", {**BERLIN, "latitude": "52.5"}, "longitude"),
    (
        "post",
        "customers/",
        {
            "name": "Ada",
            "email": "ada@example.com",
            "country": "DE",
            "addresses": [{**BERLIN, "longitude": "13.4"}],
        },
        "addresses[0].latitude",
    ),
    (
        "post",
        "orders/",
        _order(shipping_address={**BERLIN, "latitude": "52.5"}),
        "shipping_address.longitude",
    ),
]


@pytest.mark.parametrize(("method", "url", "payload", "missing"), HALF_LOCATED)
def test_one_coordinate_without_the_other_is_400_naming_the_missing_one(
    client: Any,
    tenant: Any,
    shop: Any,
    method: str,
    url: str,
    payload: dict[str, Any],
    missing: str,
) -> None:
    before = rows_snapshot(tenant)

    response = _send(client, method, url.format(**shop), payload)

    assert response.status_code == 400
    assert response.json()["errors"] == {missing: ["Give both latitude and longitude, or neither."]}
    assert rows_snapshot(tenant) == before
