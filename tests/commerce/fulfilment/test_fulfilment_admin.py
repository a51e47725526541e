"""The fulfilment admin: changelist scoped to the working tenant, change page with lines and
tracking inline, transition buttons, shipment entry, tracking entry and creating an order's
missing fulfilments, all through the services."""

from __future__ import annotations

import pytest

from commerce.services.fulfilment import fulfilment_ship, fulfilments_create_for_order
from tests.commerce.fulfilment.helpers import (
    RELEASED,
    SHIPPED,
    D,
    allocate,
    allocation_rows,
    fresh,
    fulfilments_of,
    shop_make,
    snapshot,
)
from tests.conftest import admin_client_for, member

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/commerce/fulfilment/"


def _fulfilment(tenant, actor=None):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "3")])
    allocate(sales, 1, shop.wh_a, "3")
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=actor, sales_order_id=sales.pk
    )
    return sales, fulfilment


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_changelist_shows_the_working_tenants_fulfilments_only(tenant, other_tenant, seller):
    _sales, fulfilment = _fulfilment(tenant)
    _, foreign = _fulfilment(other_tenant)
    response = admin_client_for(seller).get(CHANGELIST)
    assert response.status_code == 200
    ids = {row.pk for row in response.context["cl"].result_list}
    assert ids == {fulfilment.pk}
    assert b"create-for-order" in response.content
    page = admin_client_for(seller).get(f"{CHANGELIST}{foreign.pk}/change/")
    assert page.status_code == 404


def test_the_change_page_offers_the_buttons_of_the_state(tenant, seller):
    _sales, fulfilment = _fulfilment(tenant)
    page = admin_client_for(seller).get(f"{CHANGELIST}{fulfilment.pk}/change/")
    assert page.status_code == 200
    assert [name for name, _ in page.context["steps"]] == ["pick", "cancel"]
    assert "ship_form" in page.context
    assert "tracking_form" not in page.context
    assert b'name="qty_' in page.content


def test_buttons_run_the_transitions(tenant, seller):
    sales, fulfilment = _fulfilment(tenant)
    client = admin_client_for(seller)
    picked = client.post(f"{CHANGELIST}{fulfilment.pk}/step/pick/", follow=True)
    assert _messages(picked) == [f"Fulfilment {fulfilment.pk}: start picking done."]
    assert fresh(fulfilment).state == "picking"
    packed = client.post(f"{CHANGELIST}{fulfilment.pk}/step/pack/", follow=True)
    assert _messages(packed) == [f"Fulfilment {fulfilment.pk}: mark packed done."]
    assert fresh(fulfilment).state == "packed"
    response = client.post(f"{CHANGELIST}{fulfilment.pk}/step/deliver/", follow=True)
    assert _messages(response) == [
        "Mark delivered refused: Cannot deliver a fulfilment that is packed."
    ]
    client.post(f"{CHANGELIST}{fulfilment.pk}/step/cancel/", {"reason": "Lost"})
    assert fresh(fulfilment).state == "canceled"
    assert allocation_rows(sales) == [(1, "A", D("3"), RELEASED)]


def test_shipment_entry_ships_the_quantities_given(tenant, seller):
    sales, fulfilment = _fulfilment(tenant)
    line = sales.lines.get()
    response = admin_client_for(seller).post(
        f"{CHANGELIST}{fulfilment.pk}/ship/",
        {"carrier": "DHL", "tracking_number": "JD9", f"qty_{line.pk}": "2"},
        follow=True,
    )
    assert _messages(response) == [f"Fulfilment {fulfilment.pk} shipped."]
    shipped = fresh(fulfilment)
    assert (shipped.state, shipped.carrier, shipped.tracking_number) == ("shipped", "DHL", "JD9")
    assert allocation_rows(sales) == [(1, "A", D("2"), SHIPPED), (1, "A", D("1"), RELEASED)]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"carrier": "", "qty": "1"}, "Ship refused: carrier: This field is required."),
        (
            {"carrier": "DHL", "qty": "4"},
            "Ship refused: lines[0].quantity: At most 3.000, the fulfilment's quantity of this "
            "line.",
        ),
        ({"carrier": "DHL", "qty": "abc"}, "Ship refused: qty_{line}: Enter a number."),
    ],
)
def test_bad_shipment_entry_is_refused_with_nothing_changed(tenant, seller, form, message):
    sales, fulfilment = _fulfilment(tenant)
    line = sales.lines.get()
    before = snapshot(sales)
    response = admin_client_for(seller).post(
        f"{CHANGELIST}{fulfilment.pk}/ship/",
        {"carrier": form["carrier"], f"qty_{line.pk}": form["qty"]},
        follow=True,
    )
    assert _messages(response) == [message.format(line=line.pk)]
    assert snapshot(sales) == before


def test_tracking_entry_on_a_shipped_fulfilment(tenant, seller):
    _sales, fulfilment = _fulfilment(tenant)
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    client = admin_client_for(seller)
    page = client.get(f"{CHANGELIST}{fulfilment.pk}/change/")
    assert [name for name, _ in page.context["steps"]] == ["deliver"]
    assert "tracking_form" in page.context
    response = client.post(
        f"{CHANGELIST}{fulfilment.pk}/tracking/",
        {"code": "delivered", "occurred_at": "2025-01-02 10:00", "location": "Door"},
        follow=True,
    )
    assert _messages(response) == ["Tracking event delivered recorded."]
    assert fresh(fulfilment).state == "delivered"


def test_create_for_order_from_the_changelist(tenant, seller):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "1")])
    allocate(sales, 1, shop.wh_b, "1")
    response = admin_client_for(seller).post(
        f"{CHANGELIST}create-for-order/", {"reference": sales.order.reference}, follow=True
    )
    assert _messages(response) == [f"{sales.order.reference}: 1 fulfilment(s) created."]
    assert [f.warehouse.code for f in fulfilments_of(sales)] == ["B"]
    unknown = admin_client_for(seller).post(
        f"{CHANGELIST}create-for-order/", {"reference": "S-999999"}, follow=True
    )
    assert _messages(unknown) == ["No sales order 'S-999999'."]


def test_a_viewer_sees_no_buttons_and_may_not_post(tenant, seller):
    sales, fulfilment = _fulfilment(tenant)
    viewer = member(tenant, "viewer", username="alpha.viewer")
    client = admin_client_for(viewer)
    page = client.get(f"{CHANGELIST}{fulfilment.pk}/change/")
    assert page.status_code == 200
    assert page.context["may_work"] is False
    before = snapshot(sales)
    response = client.post(f"{CHANGELIST}{fulfilment.pk}/step/pick/", follow=True)
    assert _messages(response) == ["Your role may not work fulfilments."]
    assert snapshot(sales) == before
