from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import Allocation, Product, ProductPrice, Warehouse
from commerce.services.allocation import sales_order_route
from tests.commerce.core.helpers import (
    BERLIN,
    commerce_snapshot,
    order_enter,
    stock_of,
    warehouse_in,
)
from tests.commerce.factories import (
    ChannelFactory,
    CustomerFactory,
    ProductFactory,
    WarehouseFactory,
)
from tests.conftest import client_for, member

pytestmark = pytest.mark.django_db
BASE = "/api/v1/commerce"


@pytest.fixture
def client(seller: Any) -> Any:
    return client_for(seller)


@pytest.fixture
def ops_client(operations: Any) -> Any:
    return client_for(operations)


def test_product_create_list_detail_and_patch(client: Any, tenant: Any) -> None:
    created = client.post(
        f"{BASE}/products/",
        {
            "sku": "MUG-1",
            "name": "Mug",
            "weight_kg": "0.350",
            "lead_time_days": 5,
            "prices": [
                {"currency": "EUR", "amount": "9.90"},
                {"currency": "USD", "amount": "10.90"},
            ],
        },
        format="json",
    )
    pk = created.json()["id"]
    patched = client.patch(
        f"{BASE}/products/{pk}/",
        {"name": "Big mug", "prices": [{"currency": "USD", "amount": "11.00"}]},
        format="json",
    )
    listed = client.get(f"{BASE}/products/?sku=MUG-1")

    assert created.status_code == 201
    assert created.json()["prices"] == [
        {"currency": "EUR", "amount": "9.9000"},
        {"currency": "USD", "amount": "10.9000"},
    ]
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["prices"]) == (
        "Big mug",
        [{"currency": "USD", "amount": "11.0000"}],
    )
    assert [p["sku"] for p in listed.json()["results"]] == ["MUG-1"]


def test_duplicate_sku_is_400_naming_sku(client: Any, tenant: Any) -> None:
    ProductFactory(tenant=tenant, sku="MUG-1")

    response = client.post(f"{BASE}/products/", {"sku": "MUG-1", "name": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"sku": ["A product with this SKU already exists."]}
    assert Product.objects.for_tenant(tenant).count() == 1


def test_same_sku_in_another_tenant_is_fine(client: Any, tenant: Any, other_tenant: Any) -> None:
    ProductFactory(tenant=other_tenant, sku="MUG-1")

    response = client.post(f"{BASE}/products/", {"sku": "MUG-1", "name": "x"}, format="json")

    assert response.status_code == 201


PRODUCT_BAD = [
    ({"name": "x"}, "sku"),
    ({"sku": "", "name": "x"}, "sku"),
    ({"sku": "A B", "name": "x"}, "sku"),
    ({"sku": 12, "name": "x"}, "sku"),
    ({"sku": "A", "name": "x", "weight_kg": "-1"}, "weight_kg"),
    ({"sku": "A", "name": "x", "lead_time_days": -1}, "lead_time_days"),
    ({"sku": "A", "name": "x", "lead_time_days": "5"}, "lead_time_days"),
    (
        {"sku": "A", "name": "x", "prices": [{"currency": "XYZ", "amount": "1"}]},
        "prices[0].currency",
    ),
    (
        {"sku": "A", "name": "x", "prices": [{"currency": "USD", "amount": "-1"}]},
        "prices[0].amount",
    ),
    (
        {
            "sku": "A",
            "name": "x",
            "prices": [{"currency": "USD", "amount": "1"}, {"currency": "USD", "amount": "2"}],
        },
        "prices[1].currency",
    ),
    ({"sku": "A", "name": "x", "colour": "red"}, "colour"),
    ({"sku": "A", "name": "x", "id": 5}, "id"),
]


@pytest.mark.parametrize(("payload", "field"), PRODUCT_BAD)
def test_product_bad_input(client: Any, tenant: Any, payload: Any, field: str) -> None:
    response = client.post(f"{BASE}/products/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Product.objects.for_tenant(tenant).count() == 0
    assert ProductPrice.objects.for_tenant(tenant).count() == 0


def test_list_body_is_400(client: Any) -> None:
    response = client.post(f"{BASE}/products/", [1, 2], format="json")

    assert response.status_code == 400


def test_customer_with_addresses_gets_coordinates(client: Any) -> None:
    response = client.post(
        f"{BASE}/customers/",
        {
            "name": "Ada",
            "email": "ada@example.com",
            "country": "GB",
            "addresses": [{"line1": "1 Strand", "city": "London", "country": "GB"}],
        },
        format="json",
    )
    pk = response.json()["id"]
    added = client.post(
        f"{BASE}/customers/{pk}/addresses/",
        {"line1": "Hauptstr. 1", "city": "Köln", "country": "DE"},
        format="json",
    )

    assert response.status_code == 201
    address = response.json()["addresses"][0]
    assert (address["latitude"], address["longitude"]) == ("51.508530", "-0.125740")
    assert added.status_code == 201
    assert added.json()["city"] == "Köln"
    assert added.json()["latitude"] is not None


CUSTOMER_BAD = [
    ({"name": "A", "email": "not-an-email", "country": "DE"}, "email"),
    ({"name": "A", "email": "a@example.com", "country": "de"}, "country"),
    ({"email": "a@example.com", "country": "DE"}, "name"),
    (
        {"name": "A", "email": "a@example.com", "country": "DE", "addresses": [{"city": "Berlin"}]},
        "addresses[0].line1",
    ),
    (
        {"name": "A", "email": "a@example.com", "country": "DE", "addresses": "Berlin"},
        "addresses",
    ),
]


@pytest.mark.parametrize(("payload", "field"), CUSTOMER_BAD)
def test_customer_bad_input(client: Any, tenant: Any, payload: Any, field: str) -> None:
    before = commerce_snapshot()

    response = client.post(f"{BASE}/customers/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert commerce_snapshot() == before


def test_warehouse_create_geocodes_and_refuses_unknown_city(ops_client: Any, tenant: Any) -> None:
    ok = ops_client.post(
        f"{BASE}/warehouses/",
        {"code": "FRA", "name": "Frankfurt DC", "city": "Frankfurt am Main", "country": "DE"},
        format="json",
    )
    bad = ops_client.post(
        f"{BASE}/warehouses/",
        {"code": "ATL", "name": "Lost", "city": "Atlantis", "country": "DE"},
        format="json",
    )
    duplicate = ops_client.post(
        f"{BASE}/warehouses/",
        {"code": "FRA", "name": "again", "city": "Berlin", "country": "DE"},
        format="json",
    )

    assert ok.status_code == 201
    assert (ok.json()["latitude"], ok.json()["longitude"]) == ("50.115520", "8.684170")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["city"]
    assert duplicate.status_code == 400
    assert list(duplicate.json()["errors"]) == ["code"]
    assert Warehouse.objects.for_tenant(tenant).count() == 1


WAREHOUSE_BAD = [
    ({"code": "X", "name": "x", "city": "Berlin", "country": "DE", "priority": -1}, "priority"),
    ({"code": "X", "name": "x", "city": "Berlin", "country": "DE", "is_store": "yes"}, "is_store"),
    (
        {
            "code": "X",
            "name": "x",
            "city": "Berlin",
            "country": "DE",
            "latitude": "95",
            "longitude": "1",
        },
        "latitude",
    ),
    ({"code": "X", "name": "x", "city": "Berlin"}, "country"),
    ({"name": "x", "city": "Berlin", "country": "DE"}, "code"),
]


@pytest.mark.parametrize(("payload", "field"), WAREHOUSE_BAD)
def test_warehouse_bad_input(ops_client: Any, tenant: Any, payload: Any, field: str) -> None:
    response = ops_client.post(f"{BASE}/warehouses/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Warehouse.objects.for_tenant(tenant).count() == 0


def test_seller_may_not_create_warehouses(client: Any, tenant: Any) -> None:
    response = client.post(
        f"{BASE}/warehouses/",
        {"code": "X", "name": "x", "city": "Berlin", "country": "DE"},
        format="json",
    )

    assert response.status_code == 403


def test_stock_receive_adjust_and_list(ops_client: Any, tenant: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")

    received = ops_client.post(
        f"{BASE}/stock/receive/",
        {"warehouse": berlin.pk, "product": product.pk, "quantity": "5"},
        format="json",
    )
    adjusted = ops_client.post(
        f"{BASE}/stock/adjust/",
        {"warehouse": berlin.pk, "product": product.pk, "on_hand": "4"},
        format="json",
    )
    listed = ops_client.get(f"{BASE}/stock/?sku=A")

    assert received.status_code == 200
    assert received.json()["on_hand"] == "5.000"
    assert adjusted.json()["available"] == "4.000"
    assert [(r["warehouse"], r["sku"], r["on_hand"]) for r in listed.json()["results"]] == [
        ("BER", "A", "4.000")
    ]


STOCK_BAD = [
    ({"warehouse": "x", "product": 1, "quantity": "1"}, "warehouse"),
    ({"warehouse": 1, "quantity": "1"}, "product"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "1", "extra": 1}, "extra"),
]


@pytest.mark.parametrize(("payload", "field"), STOCK_BAD)
def test_stock_receive_bad_input(ops_client: Any, tenant: Any, payload: Any, field: str) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    data = {"warehouse": berlin.pk, "product": product.pk, **payload}
    if "product" not in payload and payload.get("warehouse") == 1:
        data.pop("product")

    response = ops_client.post(f"{BASE}/stock/receive/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert commerce_snapshot()["Stock"] == 0


def test_reservation_create_and_release(client: Any, tenant: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, product, 3)
    soon = (timezone.now() + timedelta(minutes=20)).isoformat()

    created = client.post(
        f"{BASE}/reservations/",
        {
            "warehouse": berlin.pk,
            "product": product.pk,
            "quantity": "2",
            "expires_at": soon,
            "reference": "cart-9",
        },
        format="json",
    )
    too_much = client.post(
        f"{BASE}/reservations/",
        {"warehouse": berlin.pk, "product": product.pk, "quantity": "2", "expires_at": soon},
        format="json",
    )
    released = client.post(f"{BASE}/reservations/{created.json()['id']}/release/", format="json")

    assert created.status_code == 201
    assert (created.json()["quantity"], created.json()["status"]) == ("2.000", "active")
    assert too_much.status_code == 409
    assert released.json()["status"] == "released"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2999-01-01"}, "expires_at"),
        ({"expires_at": None}, "expires_at"),
        ({"quantity": "0"}, "quantity"),
        ({"sales_order": 999999}, "sales_order"),
        ({"warehouse": None}, "warehouse"),
    ],
)
def test_reservation_bad_input(client: Any, tenant: Any, change: Any, field: str) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, product, 3)
    soon = (timezone.now() + timedelta(minutes=20)).isoformat()
    payload = {"warehouse": berlin.pk, "product": product.pk, "quantity": "1", "expires_at": soon}
    before = commerce_snapshot()

    response = client.post(f"{BASE}/reservations/", {**payload, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert commerce_snapshot() == before


def _order_payload(**change: Any) -> dict[str, Any]:
    return {
        "channel": "WEB",
        "external_id": "W-1",
        "currency": "USD",
        "shipping_address": BERLIN,
        "lines": [{"sku": "A", "quantity": "2", "unit_price": "10.00", "tax": "1.90"}],
        "shipping_total": "5",
        **change,
    }


@pytest.fixture
def shop(tenant: Any) -> Any:
    product = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), product, 10)
    return ChannelFactory(tenant=tenant, code="WEB", currency="USD")


def test_order_create_returns_201_then_200_on_replay(
    client: Any, tenant: Any, shop: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(f"{BASE}/orders/", _order_payload(), format="json")
    replay = client.post(f"{BASE}/orders/", _order_payload(), format="json")

    assert created.status_code == 201
    body = created.json()
    assert (
        body["reference"],
        body["status"],
        body["payment_status"],
        body["fulfilment_status"],
    ) == (
        "S-000001",
        "open",
        "unpaid",
        "unfulfilled",
    )
    assert (body["subtotal"], body["tax_total"], body["grand_total"]) == (
        "20.0000",
        "1.9000",
        "26.9000",
    )
    assert [(line["sku"], line["total"]) for line in body["lines"]] == [("A", "21.9000")]
    assert replay.status_code == 200
    assert replay.json()["id"] == body["id"]
    detail = client.get(f"{BASE}/orders/{body['id']}/").json()
    assert detail["allocation_state"] == "allocated"
    assert [(a["warehouse"], a["quantity"]) for a in detail["allocations"]] == [("BER", "2.000")]
    assert (detail["shipments"], detail["payments"], detail["returns"]) == ([], [], [])


ORDER_BAD = [
    ({"channel": "NOPE"}, "channel"),
    ({"lines": [{"sku": "ZZZ", "quantity": "1", "unit_price": "1"}]}, "lines[0].sku"),
    (
        {
            "lines": [
                {"sku": "A", "quantity": "1", "unit_price": "1"},
                {"sku": "A", "quantity": "0", "unit_price": "1"},
            ]
        },
        "lines[1].quantity",
    ),
    ({"lines": [{"sku": "A", "quantity": -3, "unit_price": "1"}]}, "lines[0].quantity"),
    ({"currency": "ABC"}, "currency"),
    ({"currency": "EUR"}, "currency"),
    (
        {"shipping_address": {"line1": "x", "city": "Nowhere Town", "country": "DE"}},
        "shipping_address.city",
    ),
    ({"shipping_address": "Berlin"}, "shipping_address"),
    ({"customer": 999999}, "customer"),
    ({"customer": "1"}, "customer"),
    ({"shipping_address_id": 999999, "shipping_address": None}, "shipping_address_id"),
    ({"placed_at": "yesterday"}, "placed_at"),
    ({"ip_address": "999.1.1.1"}, "ip_address"),
    ({"priority": "high"}, "priority"),
    ({"note": 5}, "note"),
]


@pytest.mark.parametrize(("change", "field"), ORDER_BAD)
def test_order_bad_input(client: Any, tenant: Any, shop: Any, change: Any, field: str) -> None:
    before = commerce_snapshot()

    response = client.post(f"{BASE}/orders/", _order_payload(**change), format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert commerce_snapshot() == before


def test_order_list_filters(client: Any, tenant: Any, seller: Any, shop: Any) -> None:
    product = Product.objects.for_tenant(tenant).get(sku="A")
    other = ChannelFactory(tenant=tenant, code="POSX", currency="USD")
    web = order_enter(tenant, seller, channel=shop, lines=[(product, 1)])
    order_enter(tenant, seller, channel=other, lines=[(product, 1)])

    by_channel = client.get(f"{BASE}/orders/?channel=WEB").json()["results"]
    by_status = client.get(f"{BASE}/orders/?status=open&payment_status=unpaid").json()["results"]
    bad = client.get(f"{BASE}/orders/?fulfilment_status=lost")

    assert [o["id"] for o in by_channel] == [web.pk]
    assert len(by_status) == 2
    assert bad.status_code == 400


def test_cancel_endpoint_releases_stock(client: Any, tenant: Any, seller: Any, shop: Any) -> None:
    product = Product.objects.for_tenant(tenant).get(sku="A")
    sales = order_enter(tenant, seller, channel=shop, lines=[(product, 3)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)

    response = client.post(
        f"{BASE}/orders/{sales.pk}/cancel/", {"reason": "changed mind"}, format="json"
    )
    again = client.post(f"{BASE}/orders/{sales.pk}/cancel/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert [a["status"] for a in response.json()["allocations"]] == ["released"]
    assert again.status_code == 409


def test_allocation_move_endpoint(client: Any, tenant: Any, seller: Any, shop: Any) -> None:
    product = Product.objects.for_tenant(tenant).get(sku="A")
    munich = warehouse_in(tenant, "Munich")
    stock_of(tenant, munich, product, 5)
    sales = order_enter(tenant, seller, channel=shop, lines=[(product, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    allocation = Allocation.objects.for_tenant(tenant).get()

    bad = client.post(
        f"{BASE}/allocations/{allocation.pk}/move/", {"warehouse": "MUN"}, format="json"
    )
    moved = client.post(
        f"{BASE}/allocations/{allocation.pk}/move/", {"warehouse": munich.pk}, format="json"
    )

    assert bad.status_code == 400
    assert moved.status_code == 200
    assert [(a["warehouse"], a["quantity"]) for a in moved.json()["allocations"]] == [
        ("MUN", "2.000")
    ]


def test_other_tenants_objects_answer_404(client: Any, other_tenant: Any) -> None:
    theirs = member(other_tenant, "seller", username="beta.seller")
    product = ProductFactory(tenant=other_tenant, sku="A")
    warehouse = WarehouseFactory(tenant=other_tenant)
    customer = CustomerFactory(tenant=other_tenant)
    sales = order_enter(other_tenant, theirs, lines=[(product, 1)])
    stock_of(other_tenant, warehouse, product, 5)
    sales_order_route(tenant_id=other_tenant.pk, order_id=sales.pk)
    allocation = Allocation.objects.for_tenant(other_tenant).first()

    answers = [
        client.get(f"{BASE}/products/{product.pk}/").status_code,
        client.patch(f"{BASE}/products/{product.pk}/", {"name": "x"}, format="json").status_code,
        client.get(f"{BASE}/warehouses/{warehouse.pk}/").status_code,
        client.get(f"{BASE}/customers/{customer.pk}/").status_code,
        client.post(f"{BASE}/customers/{customer.pk}/addresses/", {}, format="json").status_code,
        client.get(f"{BASE}/orders/{sales.pk}/").status_code,
        client.post(f"{BASE}/orders/{sales.pk}/cancel/", {}, format="json").status_code,
    ]
    move = client.post(
        f"{BASE}/allocations/{allocation.pk if allocation else 1}/move/",
        {"warehouse": warehouse.pk},
        format="json",
    )

    assert answers == [404] * 7
    assert move.status_code in (400, 404)
    assert client.get(f"{BASE}/products/").json()["results"] == []


def test_readers_may_not_enter_orders(tenant: Any, shop: Any) -> None:
    viewer = member(tenant, "trader", username="alpha.trader2")

    response = client_for(viewer).post(f"{BASE}/orders/", _order_payload(), format="json")

    assert response.status_code == 403
    assert commerce_snapshot()["Order"] == 0


def test_amounts_are_decimal_strings(client: Any, tenant: Any, shop: Any) -> None:
    response = client.post(
        f"{BASE}/orders/",
        _order_payload(lines=[{"sku": "A", "quantity": 3, "unit_price": 0.1}]),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["subtotal"] == "0.3000"
    assert Decimal(response.json()["grand_total"]) == Decimal("5.3")
