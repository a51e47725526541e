"""The money API: payments, refunds, returns, invoices (+ PDF), FX rates, the sales report."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from commerce.models import FxRate, Invoice, Payment, Return
from tests.commerce.factories import StockFactory, WarehouseFactory
from tests.commerce.money.helpers import D, line, money_snapshot, order_of, paid, ship
from tests.conftest import client_for, member

pytestmark = pytest.mark.django_db
BASE = "/api/v1/commerce"
YEAR = timezone.now().year


@pytest.fixture
def seller_api(seller):
    return client_for(seller)


def _authorize(api: Any, sales: Any, **body: Any) -> Any:
    return api.post(
        f"{BASE}/orders/{sales.pk}/payments/",
        {"amount": "115.00", "idempotency_key": "a1", **body},
        format="json",
    )


def test_authorize_capture_refund_over_http(tenant, seller_api):
    sales = order_of(tenant)
    # authorize
    response = _authorize(seller_api, sales, currency="USD")
    assert response.status_code == 201, response.data
    payment_id = response.data["payment"]["id"]
    assert response.data["operation"]["kind"] == "authorize"
    assert response.data["payment"]["state"] == "authorized"
    # replay answers the same operation
    again = _authorize(seller_api, sales, currency="USD")
    assert again.status_code == 201
    assert again.data["operation"]["id"] == response.data["operation"]["id"]
    # capture
    response = seller_api.post(
        f"{BASE}/payments/{payment_id}/capture/",
        {"amount": "115.00", "idempotency_key": "c1"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["payment"]["captured"] == "115.0000"
    # refund through the order
    response = seller_api.post(
        f"{BASE}/orders/{sales.pk}/refunds/",
        {
            "lines": [{"line": line(sales, 2).pk, "quantity": "1"}],
            "shipping": "5.00",
            "idempotency_key": "r1",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["amount"] == "49.0000"
    assert response.data["credit_note"]["number"] == f"CN-{YEAR}-000001"
    # lists
    payments = seller_api.get(f"{BASE}/orders/{sales.pk}/payments/")
    assert [op["kind"] for op in payments.data[0]["operations"]] == [
        "authorize",
        "capture",
        "refund",
    ]
    refunds = seller_api.get(f"{BASE}/orders/{sales.pk}/refunds/")
    assert [r["amount"] for r in refunds.data] == ["49.0000"]


def test_capture_beyond_authorized_is_409_and_changes_nothing(tenant, seller_api):
    sales = order_of(tenant)
    payment_id = _authorize(seller_api, sales).data["payment"]["id"]
    before = money_snapshot(tenant)
    response = seller_api.post(
        f"{BASE}/payments/{payment_id}/capture/",
        {"amount": "115.01", "idempotency_key": "c1"},
        format="json",
    )
    assert response.status_code == 409
    assert response.data["detail"] == (
        "Cannot capture 115.01: only 115.00 USD of the authorisation is uncaptured."
    )
    assert money_snapshot(tenant) == before


def test_same_key_other_values_is_409(tenant, seller_api):
    sales = order_of(tenant)
    _authorize(seller_api, sales)
    response = _authorize(seller_api, sales, amount="100.00")
    assert response.status_code == 409
    assert response.data["code"] == "idempotency_conflict"
    assert list(response.data["errors"]) == ["amount"]


def test_refund_beyond_captured_is_409(tenant, seller_api):
    sales = order_of(tenant)
    paid(sales)
    before = money_snapshot(tenant)
    response = seller_api.post(
        f"{BASE}/orders/{sales.pk}/refunds/",
        {"adjustment": "115.01", "idempotency_key": "r1"},
        format="json",
    )
    assert response.status_code == 409
    assert money_snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.00001"}, "amount"),
        ({"amount": "1e400"}, "amount"),
        ({"amount": 10**30}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": 5}, "idempotency_key"),
        ({"idempotency_key": "k" * 129}, "idempotency_key"),
        ({"method": ""}, "method"),
        ({"surprise": 1}, "surprise"),
        ({"amount": None}, "amount"),
    ],
)
def test_authorize_bad_input_is_400_naming_the_field(tenant, seller_api, body, field):
    sales = order_of(tenant)
    before = money_snapshot(tenant)
    response = _authorize(seller_api, sales, **body)
    assert response.status_code == 400, response.data
    assert field in response.data["errors"]
    assert money_snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"line": "x", "quantity": "1"}]}, "lines[0].line"),
        ({"lines": [{"line": 1, "quantity": "0"}]}, "lines[0].quantity"),
        ({"lines": [{"line": 1, "quantity": "-1"}]}, "lines[0].quantity"),
        ({"lines": [{"line": 1}]}, "lines[0].quantity"),
        ({"lines": [{"line": 1, "quantity": "1", "extra": 1}]}, "lines[0].extra"),
        ({"lines": "nope"}, "lines"),
        ({"shipping": "-1"}, "shipping"),
        ({"shipping": "99"}, "shipping"),
        ({"adjustment": "x"}, "adjustment"),
        ({"return": 0}, "return"),
        ({"return": 99999, "adjustment": "1"}, "return"),
        ({"payment": 99999, "adjustment": "1"}, "payment"),
        ({}, "lines"),
        ({"currency": "EUR", "adjustment": "1"}, "currency"),
    ],
)
def test_refund_bad_input_is_400_naming_the_field(tenant, seller_api, body, field):
    sales = order_of(tenant)
    paid(sales)
    if body.get("lines") and isinstance(body["lines"], list) and body["lines"][0].get("line") == 1:
        body["lines"][0]["line"] = line(sales, 1).pk
        if body["lines"][0].get("quantity") in ("0", "-1"):
            pass
    before = money_snapshot(tenant)
    response = seller_api.post(
        f"{BASE}/orders/{sales.pk}/refunds/", {"idempotency_key": "r", **body}, format="json"
    )
    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert money_snapshot(tenant) == before


def test_refund_line_beyond_ordered_names_lines_i_quantity(tenant, seller_api):
    sales = order_of(tenant)
    paid(sales)
    response = seller_api.post(
        f"{BASE}/orders/{sales.pk}/refunds/",
        {"lines": [{"line": line(sales, 1).pk, "quantity": "3"}], "idempotency_key": "r"},
        format="json",
    )
    assert response.status_code == 400
    assert response.data["errors"] == {
        "lines[0].quantity": ["At most 2: 2 ordered, 0 refunded already."]
    }


def test_returns_desk_over_http(tenant, seller_api):
    warehouse = WarehouseFactory(tenant=tenant, code="BER")
    sales = order_of(tenant)
    ship(sales, {1: 2}, warehouse=warehouse)
    stock = StockFactory(
        tenant=tenant, warehouse=warehouse, product=line(sales, 1).product, on_hand=D("3")
    )
    response = seller_api.post(
        f"{BASE}/orders/{sales.pk}/returns/",
        {"lines": [{"line": line(sales, 1).pk, "quantity": "2"}], "reason": "too small"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert (response.data["rma_number"], response.data["state"], response.data["warehouse"]) == (
        f"RMA-{YEAR}-000001",
        "requested",
        "BER",
    )
    return_id = response.data["id"]
    for name, state in (("approve", "approved"), ("receive", "received"), ("restock", "restocked")):
        response = seller_api.post(f"{BASE}/returns/{return_id}/{name}/", {}, format="json")
        assert response.status_code == 200, response.data
        assert response.data["state"] == state
    stock.refresh_from_db()
    assert stock.on_hand == D("5")
    response = seller_api.post(f"{BASE}/returns/{return_id}/approve/", {}, format="json")
    assert response.status_code == 409
    listing = seller_api.get(f"{BASE}/returns/", {"state": "restocked"})
    assert [r["id"] for r in listing.data["results"]] == [return_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"line": "L", "quantity": "1"}]}, "lines[0].line"),
        ({"lines": [{"line": 1, "quantity": "0"}]}, "lines[0].quantity"),
        ({"lines": [{"line": 1, "quantity": "3"}]}, "lines[0].quantity"),
        ({"lines": [{"line": 1, "quantity": "1"}], "warehouse": "NOPE"}, "warehouse"),
        ({"lines": [{"line": 1, "quantity": "1"}], "reason": 5}, "reason"),
        ({"lines": [{"line": 1, "quantity": "1"}], "state": "approved"}, "state"),
    ],
)
def test_return_bad_input_is_400_naming_the_field(tenant, seller_api, body, field):
    sales = order_of(tenant)
    ship(sales, {1: 2})
    for item in body.get("lines", []):
        if item.get("line") == 1:
            item["line"] = line(sales, 1).pk
    before = money_snapshot(tenant)
    response = seller_api.post(f"{BASE}/orders/{sales.pk}/returns/", body, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert money_snapshot(tenant) == before
    assert Return.objects.for_tenant(tenant).count() == 0


def test_invoices_list_detail_and_pdf(tenant, seller_api):
    sales = order_of(tenant)
    paid(sales)
    invoice = Invoice.objects.for_tenant(tenant).get()
    listing = seller_api.get(f"{BASE}/invoices/", {"kind": "invoice"})
    assert [i["number"] for i in listing.data["results"]] == [f"INV-{YEAR}-000001"]
    detail = seller_api.get(f"{BASE}/invoices/{invoice.pk}/")
    assert (detail.data["total"], len(detail.data["lines"])) == ("115.0000", 2)
    pdf = seller_api.get(f"{BASE}/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="INV-{YEAR}-000001.pdf"'
    assert pdf.content.startswith(b"%PDF-")


def test_another_tenants_objects_answer_404(tenant, other_tenant, seller_api):
    foreign = order_of(other_tenant)
    payment = paid(foreign)
    invoice = Invoice.objects.for_tenant(other_tenant).get()
    urls_get = [
        f"{BASE}/orders/{foreign.pk}/payments/",
        f"{BASE}/orders/{foreign.pk}/refunds/",
        f"{BASE}/orders/{foreign.pk}/returns/",
        f"{BASE}/payments/{payment.pk}/",
        f"{BASE}/invoices/{invoice.pk}/",
        f"{BASE}/invoices/{invoice.pk}/pdf/",
        f"{BASE}/invoices/99999999/pdf/",
        f"{BASE}/orders/999999999999999999/payments/",
    ]
    for url in urls_get:
        assert seller_api.get(url).status_code == 404, url
    before = money_snapshot(other_tenant)
    posts = [
        (f"{BASE}/orders/{foreign.pk}/payments/", {"amount": "1", "idempotency_key": "x"}),
        (f"{BASE}/payments/{payment.pk}/capture/", {"amount": "1", "idempotency_key": "x"}),
        (f"{BASE}/payments/{payment.pk}/void/", {"idempotency_key": "x"}),
        (f"{BASE}/payments/{payment.pk}/refund/", {"amount": "1", "idempotency_key": "x"}),
        (f"{BASE}/orders/{foreign.pk}/refunds/", {"adjustment": "1", "idempotency_key": "x"}),
    ]
    for url, body in posts:
        assert seller_api.post(url, body, format="json").status_code == 404, url
    assert money_snapshot(other_tenant) == before


@pytest.mark.parametrize("role", ["viewer", "trader", "compliance_officer", "portfolio_manager"])
def test_roles_outside_sales_entry_read_but_move_no_money(tenant, role):
    api = client_for(member(tenant, role))
    sales = order_of(tenant)
    payment = paid(sales)
    assert api.get(f"{BASE}/orders/{sales.pk}/payments/").status_code == 200
    before = money_snapshot(tenant)
    assert _authorize(api, sales).status_code == 403
    response = api.post(
        f"{BASE}/payments/{payment.pk}/refund/",
        {"amount": "1", "idempotency_key": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert money_snapshot(tenant) == before


def test_fx_rates_crud_and_roles(tenant, seller_api, operations):
    ops = client_for(operations)
    body = {"date": "2026-01-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.0850"}
    assert seller_api.post(f"{BASE}/fx-rates/", body, format="json").status_code == 403
    created = ops.post(f"{BASE}/fx-rates/", body, format="json")
    assert created.status_code == 201, created.data
    assert ops.post(f"{BASE}/fx-rates/", body, format="json").status_code == 409
    rate_id = created.data["id"]
    changed = ops.patch(f"{BASE}/fx-rates/{rate_id}/", {"rate": "1.0900"}, format="json")
    assert changed.data["rate"] == "1.0900000000"
    assert seller_api.get(f"{BASE}/fx-rates/").data["results"][0]["rate"] == "1.0900000000"
    assert ops.delete(f"{BASE}/fx-rates/{rate_id}/").status_code == 204
    assert FxRate.objects.for_tenant(tenant).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_currency": "eur"}, "from_currency"),
        ({"to_currency": "EUR"}, "to_currency"),
        ({"rate": "0"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"date": "2026-13-01"}, "date"),
        ({"id": 5}, "id"),
    ],
)
def test_fx_rate_bad_input(tenant, operations, body, field):
    ops = client_for(operations)
    base = {"date": "2026-01-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.0850"}
    response = ops.post(f"{BASE}/fx-rates/", {**base, **body}, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["errors"]
    assert FxRate.objects.for_tenant(tenant).count() == 0


def test_sales_report_bad_dates_are_400(tenant, seller_api):
    response = seller_api.get(f"{BASE}/reports/sales/", {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "date_from" in response.data["errors"]


def test_payment_listing_is_tenant_scoped(tenant, other_tenant, seller_api):
    paid(order_of(tenant))
    paid(order_of(other_tenant))
    listing = seller_api.get(f"{BASE}/payments/")
    assert len(listing.data["results"]) == 1
    assert Payment.objects.for_tenant(tenant).get().pk == listing.data["results"][0]["id"]
