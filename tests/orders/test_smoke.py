from __future__ import annotations

import pytest

from orders.models import Order, OrderEvent
from tests.conftest import client_for


@pytest.mark.django_db
def test_create_list_cancel(tenant, trader):
    api = client_for(trader)
    response = api.post(
        "/api/v1/orders/", {"kind": "trade", "client_order_id": "c1", "note": "hi"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "T-000001"
    assert body["status"] == "open"
    again = api.post(
        "/api/v1/orders/", {"kind": "trade", "client_order_id": "c1", "note": "hi"}, format="json"
    )
    assert again.status_code == 200
    conflict = api.post(
        "/api/v1/orders/", {"kind": "trade", "client_order_id": "c1", "note": "ho"}, format="json"
    )
    assert conflict.status_code == 409
    assert conflict.json()["errors"] == {
        "note": ["Differs from the original submission with this client_order_id."]
    }
    listing = api.get("/api/v1/orders/")
    assert listing.status_code == 200
    assert [o["reference"] for o in listing.json()["results"]] == ["T-000001"]
    cancel = api.post(f"/api/v1/orders/{body['id']}/cancel/", {"reason": "x"}, format="json")
    assert cancel.status_code == 200, cancel.json()
    assert cancel.json()["status"] == "canceled"
    events = api.get(f"/api/v1/orders/{body['id']}/events/").json()["results"]
    assert [e["kind"] for e in events] == [
        "created",
        "submitted",
        "screened",
        "accepted",
        "canceled",
    ]
    assert Order.objects.for_tenant(tenant).count() == 1
    assert OrderEvent.objects.for_tenant(tenant).count() == 5
