"""Admin: payments and invoices read-only, FX rates through the services, the returns desk
buttons, the invoice PDF download; another tenant's rows answer 404."""

from __future__ import annotations

import pytest
from django.utils import timezone

from commerce.models import FxRate, Invoice, Payment, Return
from commerce.services.returns import ReturnLineInput, return_create
from tests.commerce.money.helpers import D, line, order_of, paid, ship
from tests.conftest import admin_client_for, member

pytestmark = pytest.mark.django_db
ADMIN = "/admin/commerce"
YEAR = timezone.now().year


def test_payment_page_shows_operations_and_cannot_be_changed(tenant, seller):
    sales = order_of(tenant)
    payment = paid(sales)
    client = admin_client_for(seller)
    page = client.get(f"{ADMIN}/payment/{payment.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "capture" in body
    assert "authorize" in body
    assert 'name="_save"' not in body
    client.post(f"{ADMIN}/payment/{payment.pk}/change/", {"captured": "1"})
    assert Payment.objects.for_tenant(tenant).get().captured == D("115.00")
    assert client.get(f"{ADMIN}/payment/").status_code == 200


def test_invoice_pdf_download_from_the_admin(tenant, seller):
    sales = order_of(tenant)
    paid(sales)
    invoice = Invoice.objects.for_tenant(tenant).get()
    client = admin_client_for(seller)
    page = client.get(f"{ADMIN}/invoice/{invoice.pk}/change/")
    assert page.status_code == 200
    assert f'href="{ADMIN}/invoice/{invoice.pk}/pdf/"' in page.content.decode()
    assert "Download" in client.get(f"{ADMIN}/invoice/").content.decode()
    pdf = client.get(f"{ADMIN}/invoice/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_another_tenants_invoice_and_return_answer_404(tenant, other_tenant, seller):
    foreign = order_of(other_tenant)
    paid(foreign)
    ship(foreign, {1: 1})
    ret = return_create(
        tenant=other_tenant,
        actor=None,
        sales_order_id=foreign.pk,
        lines=[ReturnLineInput(line(foreign, 1).pk, "1")],
    )
    invoice = Invoice.objects.for_tenant(other_tenant).get()
    client = admin_client_for(seller)
    assert client.get(f"{ADMIN}/invoice/{invoice.pk}/pdf/").status_code == 404
    assert client.get(f"{ADMIN}/invoice/{invoice.pk}/change/").status_code == 404
    assert client.post(f"{ADMIN}/return/{ret.pk}/transition/approve/").status_code == 404
    assert Return.objects.for_tenant(other_tenant).get().state == "requested"


def test_returns_desk_buttons_move_the_return(tenant, seller):
    sales = order_of(
        tenant,
        ship_line1="Unter den Linden 1",
        ship_city="Berlin",
        ship_country="DE",
        ship_latitude=D("52.52"),
        ship_longitude=D("13.40"),
    )
    ship(sales, {1: 2})
    ret = return_create(
        tenant=tenant,
        actor=None,
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line(sales, 1).pk, "2")],
    )
    client = admin_client_for(seller)
    page = client.get(f"{ADMIN}/return/{ret.pk}/change/").content.decode()
    assert 'name="approve"' in page
    assert 'name="decline"' in page
    assert 'name="receive"' not in page
    response = client.post(f"{ADMIN}/return/{ret.pk}/transition/approve/", {"note": "ok"})
    assert response.status_code == 302
    assert Return.objects.for_tenant(tenant).get().state == "approved"
    # an illegal step is refused with a message, nothing changes
    client.post(f"{ADMIN}/return/{ret.pk}/transition/restock/")
    assert Return.objects.for_tenant(tenant).get().state == "approved"
    client.post(f"{ADMIN}/return/{ret.pk}/exchange/")
    assert Return.objects.for_tenant(tenant).get().exchange_order is not None


def test_viewers_see_no_desk_buttons_and_cannot_post(tenant):
    viewer = member(tenant, "viewer")
    sales = order_of(tenant)
    ship(sales, {1: 1})
    ret = return_create(
        tenant=tenant,
        actor=None,
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line(sales, 1).pk, "1")],
    )
    client = admin_client_for(viewer)
    assert 'name="approve"' not in client.get(f"{ADMIN}/return/{ret.pk}/change/").content.decode()
    client.post(f"{ADMIN}/return/{ret.pk}/transition/approve/")
    assert Return.objects.for_tenant(tenant).get().state == "requested"


def test_fx_rates_through_the_admin(tenant, operations, seller):
    client = admin_client_for(operations)
    form = {"date": "2026-01-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.0850"}
    response = client.post(f"{ADMIN}/fxrate/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    row = FxRate.objects.for_tenant(tenant).get()
    assert (row.from_currency, row.rate) == ("EUR", D("1.0850"))
    client.post(f"{ADMIN}/fxrate/{row.pk}/change/", {"rate": "1.0900"})
    assert FxRate.objects.for_tenant(tenant).get().rate == D("1.0900")
    bad = client.post(f"{ADMIN}/fxrate/add/", {**form, "from_currency": "eur"})
    assert bad.status_code == 200
    assert FxRate.objects.for_tenant(tenant).count() == 1
    assert admin_client_for(seller).post(f"{ADMIN}/fxrate/add/", form).status_code == 403
