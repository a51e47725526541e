"""The API isolation matrix: every order route, called by a user of another tenant.

Another tenant's order answers exactly like an id that does not exist (same status, same body),
lists come back empty, and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pytest

from orders.models import Order, OrderStatus
from tests.conftest import client_for, member, tenancy_snapshot
from tests.factories import MembershipFactory, order_in_status

NOT_FOUND = {"code": "not_found", "detail": "Not found."}
ORDER_NOT_FOUND = {"code": "not_found", "detail": "Order not found."}
EMPTY_PAGE: dict[str, Any] = {"next": None, "previous": None, "results": []}

# name -> (method, path, the alpha order it acts on, the body of its 404)
ROUTES = {
    "retrieve": ("get", "/api/v1/orders/{id}/", "open", NOT_FOUND),
    "events": ("get", "/api/v1/orders/{id}/events/", "open", ORDER_NOT_FOUND),
    "submit": ("post", "/api/v1/orders/{id}/submit/", "draft", ORDER_NOT_FOUND),
    "approve": ("post", "/api/v1/orders/{id}/approve/", "held", ORDER_NOT_FOUND),
    "reject": ("post", "/api/v1/orders/{id}/reject/", "held", ORDER_NOT_FOUND),
    "cancel": ("post", "/api/v1/orders/{id}/cancel/", "open", ORDER_NOT_FOUND),
}


@pytest.fixture
def alpha_orders(tenant):
    """One alpha order in each status a route can act on."""
    return {
        "draft": order_in_status(tenant=tenant, status=OrderStatus.DRAFT),
        "held": order_in_status(tenant=tenant, status=OrderStatus.HELD),
        "open": order_in_status(tenant=tenant, status=OrderStatus.OPEN),
    }


@pytest.fixture
def outsiders(tenant, other_tenant):
    """Callers whose tenant is beta: a beta admin, and an alpha+beta member naming beta."""
    beta_admin = member(other_tenant, "admin", username="beta.admin")
    both = member(other_tenant, "admin", username="both.admin")
    MembershipFactory(tenant=tenant, user=both, role="admin")
    return {"beta_admin": client_for(beta_admin), "member_of_both": client_for(both, "beta")}


def _call(api, method, path, pk):
    url = path.format(id=pk)
    if method == "get":
        return api.get(url)
    return api.post(url, {"reason": "isolation probe"}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["beta_admin", "member_of_both"])
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_another_tenants_order_answers_like_a_missing_one(alpha_orders, outsiders, route, caller):
    # given alpha's order in a status where the route's action would be allowed, and a beta
    # caller whose role (admin) would allow it
    method, path, status_key, body = route
    api = outsiders[caller]
    target = alpha_orders[status_key]
    missing_id = max(o.pk for o in alpha_orders.values()) + 1000
    before = tenancy_snapshot()
    # when the beta caller uses alpha's id, and then an id that does not exist
    foreign = _call(api, method, path, target.pk)
    missing = _call(api, method, path, missing_id)
    # then both are the same 404, byte for byte, and nothing changed
    assert (foreign.status_code, foreign.json()) == (404, body)
    assert (missing.status_code, missing.content) == (404, foreign.content)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_the_owner_reaches_the_same_order(alpha_orders, tenant, route):
    # given alpha's admin and the same order (control for the matrix above)
    method, path, status_key, _ = route
    api = client_for(member(tenant, "admin", username="alpha.admin"))
    # when they use the route
    response = _call(api, method, path, alpha_orders[status_key].pk)
    # then it is found and served
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["beta_admin", "member_of_both"])
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?kind=trade",
        "?status=open&status=held&status=draft",
        "?reference=T-000001",
        "?client_order_id={client_order_id}",
        "?page_size=500",
    ],
)
def test_list_of_another_tenant_is_empty(alpha_orders, outsiders, caller, query):
    # given alpha's orders and a beta caller whose tenant has none
    api = outsiders[caller]
    query = query.format(client_order_id=alpha_orders["open"].client_order_id)
    # when they list orders, with or without filters matching alpha's rows
    response = api.get(f"/api/v1/orders/{query}")
    # then the list is empty
    assert (response.status_code, response.json()) == (200, EMPTY_PAGE)


@pytest.mark.django_db
def test_list_shows_only_the_callers_tenant_when_both_have_orders(
    alpha_orders, outsiders, other_tenant
):
    # given orders in both tenants, with overlapping references (each tenant has T-000001)
    beta_order = order_in_status(tenant=other_tenant, status=OrderStatus.OPEN)
    api = outsiders["beta_admin"]
    # when the beta caller lists and filters by that reference
    listing = api.get("/api/v1/orders/")
    by_reference = api.get("/api/v1/orders/?reference=T-000001")
    # then only beta's order is there
    assert [row["id"] for row in listing.json()["results"]] == [beta_order.pk]
    assert [row["id"] for row in by_reference.json()["results"]] == [beta_order.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("note", ["same payload", "different payload"])
def test_another_tenants_client_order_id_is_a_new_order_not_a_replay(
    alpha_orders, outsiders, tenant, other_tenant, note
):
    # given alpha's order with its client order id
    alpha_order = alpha_orders["open"]
    alpha_before = tenancy_snapshot()["orders"]
    payload = {"kind": "trade", "client_order_id": alpha_order.client_order_id}
    if note == "different payload":
        payload["note"] = "beta's own words"
    # when beta submits an order with the same client order id
    response = outsiders["beta_admin"].post("/api/v1/orders/", payload, format="json")
    # then beta gets its own new order (no replay, no 409 revealing alpha's order)
    body = response.json()
    created = Order.objects.for_tenant(other_tenant).get()
    assert response.status_code == 201
    assert (body["id"], body["reference"]) == (created.pk, "T-000001")
    assert created.client_order_id == alpha_order.client_order_id
    assert [row for row in tenancy_snapshot()["orders"] if row[1] == tenant.pk] == alpha_before


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders/abc/", "/api/v1/orders/1.5/events/"])
def test_malformed_ids_answer_the_same_404(alpha_orders, outsiders, path):
    # given a beta caller
    api = outsiders["beta_admin"]
    # when the id in the URL is not an id
    response = api.get(path)
    # then it is the API's plain 404
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
