"""Reads of the sales order API: the list filters select exactly their orders, and the detail
shows an order's lines, allocations, shipments, payments and returns as stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import Allocation, Fulfilment, Payment, Return, SalesOrderLine
from commerce.services.allocation import sales_order_route
from commerce.services.fulfilment import (
    fulfilment_pack,
    fulfilment_pick,
    fulfilment_ship,
    fulfilments_create_for_order,
)
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.returns import ReturnLineInput, return_create, return_transition
from tests.commerce.core.helpers import (
    HAMBURG,
    commerce_snapshot,
    order_enter,
    stock_of,
    warehouse_in,
)
from tests.commerce.factories import ChannelFactory, ProductFactory, sales_order_make
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
BASE = "/api/v1/commerce"


@pytest.fixture
def client(seller: Any) -> Any:
    return client_for(seller)


# --- list filters ---------------------------------------------------------------------------


@pytest.fixture
def inbox(tenant: Any, other_tenant: Any) -> dict[str, Any]:
    """Six orders of two channels whose status, payment and fulfilment differ so that every
    filter value picks a known subset; another tenant's order matches every filter used."""
    web = ChannelFactory(tenant=tenant, code="WEB", kind="web")
    amz = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon")
    rows = {
        "o1": (web, "open", "unpaid", "unfulfilled"),
        "o2": (web, "open", "paid", "unfulfilled"),
        "o3": (web, "partial", "paid", "partially_fulfilled"),
        "o4": (amz, "open", "paid", "unfulfilled"),
        "o5": (amz, "completed", "paid", "fulfilled"),
        "o6": (amz, "canceled", "unpaid", "unfulfilled"),
    }
    product = ProductFactory(tenant=tenant, sku="A")
    made = {
        name: sales_order_make(
            tenant=tenant,
            lines=[(product, 1, "10.00")],
            channel=channel,
            status=status,
            payment_status=paid,
            fulfilment_status=shipped,
        )
        for name, (channel, status, paid, shipped) in rows.items()
    }
    theirs = ChannelFactory(tenant=other_tenant, code="WEB", kind="web")
    sales_order_make(
        tenant=other_tenant,
        lines=[(ProductFactory(tenant=other_tenant, sku="A"), 1, "10.00")],
        channel=theirs,
        status="open",
        payment_status="paid",
        fulfilment_status="unfulfilled",
    )
    return made


FILTERS = [
    ("status=open", ["o1", "o2", "o4"]),
    ("status=partial", ["o3"]),
    ("status=completed", ["o5"]),
    ("status=canceled", ["o6"]),
    ("status=held", []),
    ("channel=WEB", ["o1", "o2", "o3"]),
    ("channel=AMZ", ["o4", "o5", "o6"]),
    ("channel=NOPE", []),
    ("fulfilment_status=unfulfilled", ["o1", "o2", "o4", "o6"]),
    ("fulfilment_status=partially_fulfilled", ["o3"]),
    ("fulfilment_status=fulfilled", ["o5"]),
    ("fulfilment_status=delivered", []),
    ("payment_status=unpaid", ["o1", "o6"]),
    ("payment_status=paid", ["o2", "o3", "o4", "o5"]),
    ("payment_status=refunded", []),
    ("status=open&channel=WEB", ["o1", "o2"]),
    ("channel=AMZ&payment_status=paid", ["o4", "o5"]),
    ("status=open&payment_status=paid&fulfilment_status=unfulfilled", ["o2", "o4"]),
    ("status=open&channel=WEB&payment_status=paid&fulfilment_status=unfulfilled", ["o2"]),
    ("channel=WEB&fulfilment_status=fulfilled", []),
    ("", ["o1", "o2", "o3", "o4", "o5", "o6"]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_order_list_filter_selects_exactly_its_orders(
    client: Any, inbox: dict[str, Any], query: str, expected: list[str]
) -> None:
    # given the inbox above (and another tenant's order matching every filter)
    # when the list is read with the filter
    response = client.get(f"{BASE}/orders/?{query}")

    # then exactly the expected orders come back, newest first
    assert response.status_code == 200
    wanted = sorted((inbox[name].pk for name in expected), reverse=True)
    assert [o["id"] for o in response.json()["results"]] == wanted


@pytest.mark.parametrize(
    "parameter", ["status", "fulfilment_status", "payment_status", "allocation_state"]
)
def test_order_list_bad_filter_value_is_400_naming_the_parameter(
    client: Any, inbox: dict[str, Any], parameter: str
) -> None:
    # given the inbox
    before = commerce_snapshot()

    # when a filter is given a value that is none of its choices
    response = client.get(f"{BASE}/orders/?{parameter}=lost&channel=WEB")

    # then 400 naming that parameter only, and nothing changed
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]
    assert commerce_snapshot() == before


# --- detail -------------------------------------------------------------------------------


def _order_shipped_paid_and_returned(tenant: Any, seller: Any) -> dict[str, Any]:
    """3 x A + 1 x B at 10.00 from Berlin to Hamburg (255.376 km): routed, captured in full,
    shipped by DHL with a tracking number, and one A returned (approved, received)."""
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    stock_of(tenant, berlin, b, 5)
    channel = ChannelFactory(tenant=tenant, code="WEB", kind="web")
    sales = order_enter(tenant, seller, channel=channel, lines=[(a, 3), (b, 1)], ship=HAMBURG)
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    auth = payment_authorize(
        tenant=tenant,
        actor=seller,
        sales_order_id=sales.pk,
        amount="40.00",
        idempotency_key="auth-1",
    )
    payment_capture(
        tenant=tenant,
        actor=seller,
        payment_id=auth.payment_id,
        amount="40.00",
        idempotency_key="cap-1",
    )
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    fulfilment_pack(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    shipped_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    fulfilment_ship(
        tenant=tenant,
        actor=seller,
        fulfilment_id=fulfilment.pk,
        carrier="DHL",
        tracking_number="JD014600003828",
        shipped_at=shipped_at,
    )
    line_a = SalesOrderLine.objects.for_tenant(tenant).get(sales_order=sales, line_no=1)
    ret = return_create(
        tenant=tenant,
        actor=seller,
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line_id=line_a.pk, quantity="1", restock=True)],
        reason="Too big",
    )
    for step in ("approve", "receive"):
        return_transition(tenant=tenant, actor=seller, return_id=ret.pk, transition=step)
    return {"sales": sales, "shipped_at": shipped_at}


def test_order_detail_shows_allocations_shipments_payments_and_returns(
    client: Any, tenant: Any, seller: Any
) -> None:
    # given an order routed, paid, shipped with tracking and partly returned
    built = _order_shipped_paid_and_returned(tenant, seller)
    sales = built["sales"]
    lines = {
        line.line_no: line.pk
        for line in SalesOrderLine.objects.for_tenant(tenant).filter(sales_order=sales)
    }
    allocations = list(
        Allocation.objects.for_tenant(tenant).filter(sales_order=sales).order_by("line__line_no")
    )
    fulfilment = Fulfilment.objects.for_tenant(tenant).get(sales_order=sales)
    payment = Payment.objects.for_tenant(tenant).get(sales_order=sales)
    ret = Return.objects.for_tenant(tenant).get(sales_order=sales)
    year = timezone.now().year

    # when its detail is read
    response = client.get(f"{BASE}/orders/{sales.pk}/")

    # then every section shows the stored rows: ids, quantities, amounts as strings, states
    assert response.status_code == 200
    body = response.json()
    assert (
        body["status"],
        body["payment_status"],
        body["fulfilment_status"],
        body["allocation_state"],
    ) == ("completed", "paid", "partially_returned", "allocated")
    assert (body["subtotal"], body["grand_total"]) == ("40.0000", "40.0000")
    assert [(ln["id"], ln["line_no"], ln["sku"], ln["quantity"]) for ln in body["lines"]] == [
        (lines[1], 1, "A", "3.000"),
        (lines[2], 2, "B", "1.000"),
    ]
    assert body["allocations"] == [
        {
            "id": allocations[0].pk,
            "line_no": 1,
            "warehouse": "BER",
            "quantity": "3.000",
            "distance_km": "255.376",
            "status": "shipped",
        },
        {
            "id": allocations[1].pk,
            "line_no": 2,
            "warehouse": "BER",
            "quantity": "1.000",
            "distance_km": "255.376",
            "status": "shipped",
        },
    ]
    assert body["shipments"] == [
        {
            "id": fulfilment.pk,
            "warehouse": "BER",
            "state": "shipped",
            "carrier": "DHL",
            "tracking_number": "JD014600003828",
            "shipped_at": built["shipped_at"].isoformat().replace("+00:00", "Z"),
            "delivered_at": None,
            "lines": [
                {"line_no": 1, "quantity": "3.000", "shipped_quantity": "3.000"},
                {"line_no": 2, "quantity": "1.000", "shipped_quantity": "1.000"},
            ],
        }
    ]
    assert body["payments"] == [
        {
            "id": payment.pk,
            "method": "card",
            "currency": "USD",
            "authorized": "40.0000",
            "captured": "40.0000",
            "refunded": "0.0000",
            "state": "captured",
        }
    ]
    assert body["returns"] == [
        {
            "id": ret.pk,
            "rma_number": f"RMA-{year}-000001",
            "state": "received",
            "reason": "Too big",
            "lines": [{"line_no": 1, "quantity": "1.000", "restock": True}],
        }
    ]


def test_order_detail_of_another_tenant_is_404_like_a_missing_one(
    client: Any, other_tenant: Any
) -> None:
    # given another tenant's order
    theirs = sales_order_make(
        tenant=other_tenant, lines=[(ProductFactory(tenant=other_tenant), 1, "10.00")]
    )

    # when it and a missing id are read
    foreign = client.get(f"{BASE}/orders/{theirs.pk}/")
    missing = client.get(f"{BASE}/orders/{theirs.pk + 1000}/")

    # then both answer 404 with the same body
    assert (foreign.status_code, missing.status_code) == (404, 404)
    assert foreign.json() == missing.json()
