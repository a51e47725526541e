"""Invoices on capture, credit notes on refund: numbering, lines, totals, PDF."""

from __future__ import annotations

import pytest
from django.utils import timezone

from commerce.models import DocumentSequence, Invoice, InvoiceLine
from commerce.services.invoices import document_number_next, invoice_html, invoice_pdf
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.refunds import refund_create
from oms_site.errors import Conflict, NotFound
from tests.commerce.factories import CustomerFactory
from tests.commerce.money.helpers import D, order_of, paid

pytestmark = pytest.mark.django_db
YEAR = timezone.now().year


def test_full_capture_invoices_the_order_lines(tenant):
    customer = CustomerFactory(tenant=tenant, name="Ada Lovelace", email="ada@example.com")
    sales = order_of(tenant, customer=customer, ship_city="London", ship_country="GB")
    paid(sales)
    invoice = Invoice.objects.for_tenant(tenant).get()
    assert (invoice.number, invoice.year, invoice.sequence, invoice.kind, invoice.currency) == (
        f"INV-{YEAR}-000001",
        YEAR,
        1,
        "invoice",
        "USD",
    )
    assert (invoice.subtotal, invoice.tax_total, invoice.shipping_total, invoice.total) == (
        D("100.00"),
        D("10.00"),
        D("5.00"),
        D("115.00"),
    )
    assert list(
        InvoiceLine.objects.for_tenant(tenant)
        .filter(invoice=invoice)
        .values_list("line_no", "sku", "quantity", "unit_price", "tax", "total")
    ) == [
        (1, sales.lines.get(line_no=1).sku, D("2"), D("30.00"), D("6.00"), D("66.00")),
        (2, sales.lines.get(line_no=2).sku, D("1"), D("40.00"), D("4.00"), D("44.00")),
    ]
    assert invoice.bill_to["name"] == "Ada Lovelace"
    assert invoice.bill_to["city"] == "London"


def test_partial_captures_invoice_payments_on_account_that_add_up(tenant):
    # given 115.00 with 10.00 tax, captured as 50.00 then 65.00
    sales = order_of(tenant)
    auth = payment_authorize(
        tenant=tenant, actor=None, sales_order_id=sales.pk, amount="115", idempotency_key="a"
    )
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="50", idempotency_key="c1"
    )
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="65", idempotency_key="c2"
    )
    rows = list(
        Invoice.objects.for_tenant(tenant)
        .order_by("sequence")
        .values_list("number", "subtotal", "tax_total", "total")
    )
    # then tax is 50 x 10/115 = 4.35, the rest 5.65 goes with the completing capture
    assert rows == [
        (f"INV-{YEAR}-000001", D("45.65"), D("4.35"), D("50.00")),
        (f"INV-{YEAR}-000002", D("59.35"), D("5.65"), D("65.00")),
    ]


def test_numbers_are_gapless_per_kind_and_tenant(tenant, other_tenant):
    a, b = order_of(tenant), order_of(tenant)
    c = order_of(other_tenant)
    for sales in (a, b, c):
        paid(sales)
    refund_create(
        tenant=tenant, actor=None, sales_order_id=a.pk, idempotency_key="r", adjustment="1"
    )
    assert list(
        Invoice.objects.for_tenant(tenant).order_by("pk").values_list("number", flat=True)
    ) == [
        f"INV-{YEAR}-000001",
        f"INV-{YEAR}-000002",
        f"CN-{YEAR}-000001",
    ]
    assert list(Invoice.objects.for_tenant(other_tenant).values_list("number", flat=True)) == [
        f"INV-{YEAR}-000001"
    ]


def test_a_refused_capture_gives_its_number_back(tenant):
    sales = order_of(tenant)
    auth = payment_authorize(
        tenant=tenant, actor=None, sales_order_id=sales.pk, amount="115", idempotency_key="a"
    )
    with pytest.raises(Conflict):
        payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auth.payment_id,
            amount="116",
            idempotency_key="c0",
        )
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="115", idempotency_key="c1"
    )
    assert Invoice.objects.for_tenant(tenant).get().number == f"INV-{YEAR}-000001"


def test_sequence_counter_starts_per_year(tenant):
    assert [
        document_number_next(tenant=tenant, kind="invoice", year=y) for y in (2030, 2030, 2031)
    ] == [1, 2, 1]
    assert DocumentSequence.objects.for_tenant(tenant).filter(year=2030).get().last_value == 2


def test_pdf_is_a_pdf_and_the_html_names_the_number(tenant):
    sales = order_of(tenant)
    paid(sales)
    invoice = Invoice.objects.for_tenant(tenant).get()
    html = invoice_html(invoice=invoice)
    assert f"<strong>{invoice.number}</strong>" in html
    assert "115.00 USD" in html
    assert sales.order.reference in html
    found, pdf = invoice_pdf(tenant=tenant, invoice_id=invoice.pk)
    assert found == invoice
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_credit_note_html_names_the_credited_invoice(tenant):
    sales = order_of(tenant)
    paid(sales)
    refund_create(
        tenant=tenant, actor=None, sales_order_id=sales.pk, idempotency_key="r", adjustment="5"
    )
    note = Invoice.objects.for_tenant(tenant).get(kind="credit_note")
    html = invoice_html(invoice=note)
    assert "Credit note" in html
    assert f"against invoice INV-{YEAR}-000001" in html


def test_another_tenants_invoice_pdf_is_not_found(tenant, other_tenant):
    foreign = order_of(other_tenant)
    paid(foreign)
    invoice = Invoice.objects.for_tenant(other_tenant).get()
    with pytest.raises(NotFound):
        invoice_pdf(tenant=tenant, invoice_id=invoice.pk)
