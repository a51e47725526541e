"""Imported orders are invoiced like any captured order, set-based and gapless."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.marketplaces.base import MarketLine, MarketOrder, MarketState
from commerce.models import DocumentSequence, Invoice, InvoiceLine, PaymentOperation, SalesOrder
from commerce.services.marketplace_import import orders_upsert
from commerce.services.refunds import refund_create
from orders.models import EventKind, OrderEvent
from tests.commerce.factories import ChannelFactory, ProductFactory
from tests.commerce.money.helpers import order_of, paid

D = Decimal
pytestmark = pytest.mark.django_db


def market_order(external_id: str, *lines: MarketLine, **extra: Any) -> MarketOrder:
    when = timezone.now() - timedelta(minutes=5)
    return MarketOrder(
        external_id=external_id,
        state=MarketState.OPEN,
        marketplace_status="Unshipped",
        updated_at=when,
        placed_at=when,
        currency="USD",
        lines=lines or (MarketLine("L1", "MUG", D("1"), D("8.00")),),
        **extra,
    )


@pytest.fixture
def channel(tenant: Any) -> Any:
    ProductFactory(tenant=tenant, sku="MUG", name="Blue mug")
    ProductFactory(tenant=tenant, sku="TEA", name="Green tea, 100 g")
    return ChannelFactory(tenant=tenant, code="EBAY", kind="ebay", currency="USD")


def _import(tenant: Any, channel: Any, *orders: MarketOrder) -> Any:
    with transaction.atomic():
        return orders_upsert(tenant=tenant, channel=channel, orders=list(orders))


def _year() -> int:
    return timezone.now().year  # the test tenant's time zone is UTC


def test_each_imported_order_gets_the_invoice_of_its_capture(tenant: Any, channel: Any) -> None:
    # given a page of two orders: one with two lines (tax, a discount) and shipping
    first = market_order(
        "E-1",
        MarketLine("L1", "MUG", D("2"), D("8.00"), tax=D("3.04"), discount=D("1.00")),
        MarketLine("L2", "TEA", D("1"), D("4.50"), tax=D("0.86")),
        shipping_total=D("4.95"),
        customer_name="Ada Buyer",
        customer_email="ada@example.com",
        ship_name="Ada B.",
        ship_line1="1 Main St",
        ship_city="Berlin",
        ship_postal_code="10115",
        ship_country="DE",
    )
    second = market_order("E-2", ship_name="Bo", ship_city="Paris", ship_country="FR")
    # when the page is imported
    result = _import(tenant, channel, first, second)
    # then each order has one invoice, numbered in page order from the gapless counter
    assert result.created == 2
    year = _year()
    invoices = {
        i.sales_order.external_id: i
        for i in Invoice.objects.for_tenant(tenant).select_related("sales_order", "operation")
    }
    one, two = invoices["E-1"], invoices["E-2"]
    assert (one.number, one.sequence, two.number, two.sequence) == (
        f"INV-{year}-000001",
        1,
        f"INV-{year}-000002",
        2,
    )
    # and its amounts are the order's, in the order currency: goods 16.00 - 1.00 + 3.04 and
    # 4.50 + 0.86, tax 3.90, shipping 4.95
    assert (one.kind, one.currency, one.subtotal, one.tax_total) == (
        "invoice",
        "USD",
        D("19.50"),
        D("3.90"),
    )
    assert (one.shipping_total, one.total) == (D("4.95"), D("28.35"))
    assert one.total == one.sales_order.grand_total
    assert (two.subtotal, two.tax_total, two.shipping_total, two.total) == (
        D("8.00"),
        D("0"),
        D("0"),
        D("8.00"),
    )
    # and it is the invoice of the order's capture, billed to the buyer at the ship-to address
    assert one.operation.kind == "capture"
    assert one.operation.payment.sales_order_id == one.sales_order_id
    assert one.bill_to == {
        "name": "Ada Buyer",
        "email": "ada@example.com",
        "line1": "1 Main St",
        "line2": "",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
    assert (two.bill_to["name"], two.bill_to["email"]) == ("Bo", "")
    assert (one.credited_invoice_id, one.year) == (None, year)
    # and its lines are the order lines, with the product names
    lines = list(
        InvoiceLine.objects.for_tenant(tenant)
        .filter(invoice=one)
        .order_by("line_no")
        .values_list("line_no", "sku", "description", "quantity", "unit_price", "discount")
    )
    assert lines == [
        (1, "MUG", "Blue mug", D("2"), D("8.00"), D("1.00")),
        (2, "TEA", "Green tea, 100 g", D("1"), D("4.50"), D("0")),
    ]
    assert list(
        InvoiceLine.objects.for_tenant(tenant)
        .filter(invoice=one)
        .order_by("line_no")
        .values_list("tax", "total")
    ) == [(D("3.04"), D("18.04")), (D("0.86"), D("5.36"))]
    # and the one IMPORTED journal row of each order names its invoice
    data = (
        OrderEvent.objects.for_tenant(tenant)
        .get(order=one.sales_order.order_id, kind=EventKind.IMPORTED)
        .data
    )
    assert data["invoice"] == {
        "number": f"INV-{year}-000001",
        "total": "28.3500",
        "currency": "USD",
    }
    assert not OrderEvent.objects.for_tenant(tenant).filter(kind=EventKind.INVOICE_ISSUED).exists()


def test_numbering_is_shared_with_captures_and_has_no_gap(tenant: Any, channel: Any) -> None:
    # given an imported order, then a hand-entered order captured, then another import
    _import(tenant, channel, market_order("E-1"))
    sales = order_of(tenant)
    paid(sales)
    _import(tenant, channel, market_order("E-2"), market_order("E-3"))
    # then the invoice numbers run 1..4 with no gap, in the order they were issued
    year = _year()
    numbers = list(
        Invoice.objects.for_tenant(tenant).order_by("sequence").values_list("number", flat=True)
    )
    assert numbers == [f"INV-{year}-{n:06d}" for n in (1, 2, 3, 4)]
    assert DocumentSequence.objects.for_tenant(tenant).get(kind="invoice").last_value == 4


def test_a_page_rolled_back_gives_its_invoice_numbers_back(tenant: Any, channel: Any) -> None:
    # given an imported order whose external id is then moved (so the next page collides)
    _import(tenant, channel, market_order("E-1"))
    SalesOrder.objects.for_tenant(tenant).filter(external_id="E-1").update(external_id="moved")
    before = (
        Invoice.objects.for_tenant(tenant).count(),
        InvoiceLine.objects.for_tenant(tenant).count(),
    )
    # when a page with a new order and the colliding one is refused by the unique constraint
    with pytest.raises(IntegrityError):
        _import(tenant, channel, market_order("E-2"), market_order("E-1"))
    # then no invoice was stored and the counter is where it was
    assert (
        Invoice.objects.for_tenant(tenant).count(),
        InvoiceLine.objects.for_tenant(tenant).count(),
    ) == before
    assert DocumentSequence.objects.for_tenant(tenant).get(kind="invoice").last_value == 1
    # and the next page takes the next number
    _import(tenant, channel, market_order("E-3"))
    assert Invoice.objects.for_tenant(tenant).get(sales_order__external_id="E-3").number == (
        f"INV-{_year()}-000002"
    )


def test_a_refund_of_an_imported_order_credits_its_invoice(tenant: Any, channel: Any) -> None:
    # given an imported order of 8.00
    _import(tenant, channel, market_order("E-1"))
    sales = SalesOrder.objects.for_tenant(tenant).get(external_id="E-1")
    invoice = Invoice.objects.for_tenant(tenant).get(sales_order=sales)
    # when 3.00 of it is refunded
    refund = refund_create(
        tenant=tenant,
        actor=None,
        sales_order_id=sales.pk,
        idempotency_key="r-1",
        adjustment="3.00",
        reason="late",
    )
    # then the credit note points to the import's invoice
    note = Invoice.objects.for_tenant(tenant).get(kind="credit_note")
    assert (note.credited_invoice_id, note.total, note.number) == (
        invoice.pk,
        D("3.00"),
        f"CN-{_year()}-000001",
    )
    assert note.operation_id == refund.operation_id
    assert PaymentOperation.objects.for_tenant(tenant).filter(kind="refund").count() == 1


def test_an_order_without_an_exchange_rate_is_refused_with_the_reason(
    tenant: Any, channel: Any
) -> None:
    # given an order in a currency with no rate to the tenant's base currency (USD)
    when = timezone.now() - timedelta(minutes=5)
    order = MarketOrder(
        external_id="E-1",
        state=MarketState.OPEN,
        marketplace_status="Unshipped",
        updated_at=when,
        placed_at=when,
        currency="NOK",
        lines=(MarketLine("L1", "MUG", D("1"), D("8.00")),),
    )
    # when it is imported
    result = _import(tenant, channel, order)
    # then it is refused with the reason, and nothing (not even an invoice number) is used
    assert (result.created, result.errors) == (
        0,
        [("E-1", f"No NOK/USD exchange rate on or before {when.date()}.")],
    )
    assert not Invoice.objects.for_tenant(tenant).exists()
    assert not DocumentSequence.objects.for_tenant(tenant).exists()
