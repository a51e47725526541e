"""The fulfilment API: list / create per order, detail, pick, pack, ship, deliver, cancel,
tracking. 409 for a transition the state does not allow, 400 naming the field with nothing
stored, 404 for another tenant's order or fulfilment, 403 for a role that may not write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.services.fulfilment import fulfilments_create_for_order
from tests.commerce.fulfilment.helpers import (
    SHIPPED,
    D,
    allocate,
    allocation_rows,
    fresh,
    fulfilments_of,
    order_status,
    shop_make,
    snapshot,
)
from tests.conftest import client_for, member

pytestmark = pytest.mark.django_db

BASE = "/api/v1/commerce"


def _order(tenant, quantity="3"):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, quantity)])
    allocate(sales, 1, shop.wh_a, quantity)
    return sales


def _fulfilment(tenant, seller, quantity="3"):
    sales = _order(tenant, quantity)
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    return sales, fulfilment


def _iso(value):
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def test_create_then_list_the_orders_fulfilments(tenant, seller):
    sales = _order(tenant)
    client = client_for(seller)
    # when the missing fulfilments are created
    created = client.post(f"{BASE}/orders/{sales.pk}/fulfilments/", {}, format="json")
    # then 201 with the new fulfilment
    assert created.status_code == 201
    (fulfilment,) = fulfilments_of(sales)
    line = sales.lines.get()
    body = {
        "id": fulfilment.pk,
        "order": sales.pk,
        "reference": sales.order.reference,
        "warehouse": "A",
        "state": "pending",
        "carrier": "",
        "tracking_number": "",
        "shipped_at": None,
        "delivered_at": None,
        "marketplace_confirmed_at": None,
        "lines": [
            {
                "line": line.pk,
                "line_no": 1,
                "sku": "P1",
                "quantity": "3.000",
                "shipped_quantity": "0.000",
            }
        ],
        "tracking_events": [],
        "created_at": _iso(fulfilment.created_at),
        "updated_at": _iso(fulfilment.updated_at),
    }
    assert created.json() == [body]
    # a second POST creates nothing (200, empty)
    again = client.post(f"{BASE}/orders/{sales.pk}/fulfilments/")
    assert (again.status_code, again.json()) == (200, [])
    listed = client.get(f"{BASE}/orders/{sales.pk}/fulfilments/")
    assert (listed.status_code, listed.json()) == (200, [body])
    detail = client.get(f"{BASE}/fulfilments/{fulfilment.pk}/")
    assert (detail.status_code, detail.json()) == (200, body)


def test_the_full_lifecycle_over_the_api(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    client = client_for(seller)
    url = f"{BASE}/fulfilments/{fulfilment.pk}"
    assert client.post(f"{url}/pick/").json()["state"] == "picking"
    assert client.post(f"{url}/pack/").json()["state"] == "packed"
    shipped = client.post(
        f"{url}/ship/",
        {
            "carrier": "DHL",
            "tracking_number": "JD01",
            "lines": [{"line": sales.lines.get().pk, "quantity": "2"}],
        },
        format="json",
    )
    assert shipped.status_code == 200
    assert (shipped.json()["state"], shipped.json()["lines"][0]["shipped_quantity"]) == (
        "shipped",
        "2.000",
    )
    assert order_status(sales) == ("partial", "partially_fulfilled")
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    scan = client.post(
        f"{url}/tracking/",
        {"code": "delivered", "occurred_at": _iso(moment), "location": "Front door"},
        format="json",
    )
    assert scan.status_code == 201
    assert scan.json()["code"] == "delivered"
    repeat = client.post(
        f"{url}/tracking/", {"code": "delivered", "occurred_at": _iso(moment)}, format="json"
    )
    assert (repeat.status_code, repeat.json()["id"]) == (200, scan.json()["id"])
    listed = client.get(f"{url}/tracking/")
    assert [e["location"] for e in listed.json()] == ["Front door"]
    assert fresh(fulfilment).state == "delivered"


def test_ship_without_lines_ships_everything(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    response = client_for(seller).post(
        f"{BASE}/fulfilments/{fulfilment.pk}/ship/", {"carrier": "UPS"}, format="json"
    )
    assert response.status_code == 200
    assert allocation_rows(sales) == [(1, "A", D("3"), SHIPPED)]
    assert order_status(sales) == ("completed", "fulfilled")


def test_cancel_and_deliver(tenant, seller):
    _sales, fulfilment = _fulfilment(tenant, seller)
    client = client_for(seller)
    canceled = client.post(
        f"{BASE}/fulfilments/{fulfilment.pk}/cancel/", {"reason": "Customer"}, format="json"
    )
    assert (canceled.status_code, canceled.json()["state"]) == (200, "canceled")
    refused = client.post(f"{BASE}/fulfilments/{fulfilment.pk}/deliver/")
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "transition_not_allowed",
        "detail": "Cannot deliver a fulfilment that is canceled.",
        "state": "canceled",
    }


def test_shipping_twice_answers_409(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    client = client_for(seller)
    client.post(f"{BASE}/fulfilments/{fulfilment.pk}/ship/", {"carrier": "UPS"}, format="json")
    before = snapshot(sales)
    again = client.post(
        f"{BASE}/fulfilments/{fulfilment.pk}/ship/", {"carrier": "UPS"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed"
    assert snapshot(sales) == before


BAD_SHIP = [
    ({}, {"carrier": ["This field is required."]}),
    ({"carrier": 7}, {"carrier": ["Must be a string."]}),
    (
        {"carrier": "UPS", "lines": []},
        {"lines": {"non_field_errors": ["This list may not be empty."]}},
    ),
    (
        {"carrier": "UPS", "lines": "all"},
        {"lines": {"non_field_errors": ['Expected a list of items but got type "str".']}},
    ),
    (
        {"carrier": "UPS", "lines": [{"line": "x", "quantity": "1"}]},
        {"lines": {"0": {"line": ["A valid integer is required."]}}},
    ),
    (
        {"carrier": "UPS", "lines": [{"line": 1, "quantity": "-1"}]},
        {"lines": {"0": {"quantity": ["Ensure this value is greater than or equal to 0."]}}},
    ),
    (
        {"carrier": "UPS", "lines": [{"line": 1, "quantity": "1.0001"}]},
        {"lines": {"0": {"quantity": ["Ensure that there are no more than 3 decimal places."]}}},
    ),
    (
        {"carrier": "UPS", "lines": [{"line": 1, "quantity": "1", "sku": "P1"}]},
        {"lines": {"0": {"sku": ["Unknown field."]}}},
    ),
    ({"carrier": "UPS", "speed": "fast"}, {"speed": ["Unknown field."]}),
    ({"carrier": "UPS", "shipped_at": "yesterday"}, "shipped_at"),
]


@pytest.mark.parametrize(("body", "errors"), BAD_SHIP)
def test_bad_ship_bodies_answer_400_naming_the_field(tenant, seller, body, errors):
    sales, fulfilment = _fulfilment(tenant, seller)
    before = snapshot(sales)
    response = client_for(seller).post(
        f"{BASE}/fulfilments/{fulfilment.pk}/ship/", body, format="json"
    )
    assert response.status_code == 400
    if isinstance(errors, str):
        assert list(response.json()["errors"]) == [errors]
    else:
        assert response.json()["errors"] == errors
    assert snapshot(sales) == before


def test_a_quantity_above_the_line_answers_400_from_the_service(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    before = snapshot(sales)
    response = client_for(seller).post(
        f"{BASE}/fulfilments/{fulfilment.pk}/ship/",
        {"carrier": "UPS", "lines": [{"line": sales.lines.get().pk, "quantity": "4"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines[0].quantity": ["At most 3.000, the fulfilment's quantity of this line."]
    }
    assert snapshot(sales) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "beamed", "occurred_at": "2024-01-01T00:00:00Z"}, "code"),
        ({"code": "in_transit"}, "occurred_at"),
        ({"code": "in_transit", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"code": "in_transit", "occurred_at": "2024-01-01T00:00:00Z", "x": 1}, "x"),
    ],
)
def test_bad_tracking_bodies_answer_400(tenant, seller, body, field):
    sales, fulfilment = _fulfilment(tenant, seller)
    client = client_for(seller)
    client.post(f"{BASE}/fulfilments/{fulfilment.pk}/ship/", {"carrier": "UPS"}, format="json")
    before = snapshot(sales)
    response = client.post(f"{BASE}/fulfilments/{fulfilment.pk}/tracking/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert snapshot(sales) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "orders/{order}/fulfilments/"),
        ("post", "orders/{order}/fulfilments/"),
        ("get", "fulfilments/{f}/"),
        ("post", "fulfilments/{f}/pick/"),
        ("post", "fulfilments/{f}/pack/"),
        ("post", "fulfilments/{f}/ship/"),
        ("post", "fulfilments/{f}/deliver/"),
        ("post", "fulfilments/{f}/cancel/"),
        ("get", "fulfilments/{f}/tracking/"),
        ("post", "fulfilments/{f}/tracking/"),
    ],
)
def test_another_tenants_objects_answer_404(tenant, other_tenant, seller, method, path):
    sales, fulfilment = _fulfilment(other_tenant, None)
    before = snapshot(sales)
    url = f"{BASE}/" + path.format(order=sales.pk, f=fulfilment.pk)
    body = {"carrier": "UPS"} if url.endswith("ship/") else {}
    if url.endswith("tracking/") and method == "post":
        body = {"code": "in_transit", "occurred_at": "2024-01-01T00:00:00Z"}
    response = getattr(client_for(seller), method)(url, body, format="json")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": response.json()["detail"],
    }
    assert snapshot(sales) == before


def test_a_huge_id_answers_404(tenant, seller):
    response = client_for(seller).get(f"{BASE}/fulfilments/{'9' * 30}/")
    assert response.status_code == 404


def test_a_viewer_reads_but_may_not_ship(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    viewer = member(tenant, "viewer", username="alpha.viewer")
    client = client_for(viewer)
    assert client.get(f"{BASE}/fulfilments/{fulfilment.pk}/").status_code == 200
    before = snapshot(sales)
    response = client.post(
        f"{BASE}/fulfilments/{fulfilment.pk}/ship/", {"carrier": "UPS"}, format="json"
    )
    assert response.status_code == 403
    assert snapshot(sales) == before
