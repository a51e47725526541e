"""The sales report: sums per channel and currency and in the base currency, by hand."""

from __future__ import annotations

from datetime import date

import pytest

from commerce.models import SalesOrder
from commerce.selectors_money import sales_report
from commerce.services.payments import payment_authorize
from commerce.services.refunds import refund_create
from tests.commerce.factories import ChannelFactory, ProductFactory
from tests.commerce.money.helpers import D, order_of, paid, rate
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(tenant):
    """WEB (USD): A 115.00 paid, 15.00 refunded; B 50.00 only authorized.
    AMZ (EUR, 1 EUR = 1.10 USD): C 100.00 EUR paid (110.00 USD), 20.00 EUR refunded (22.00).
    A draft order D of 999.00 is left out."""
    rate(tenant, "EUR", "USD", "1.10")
    web = ChannelFactory(tenant=tenant, code="WEB", currency="USD")
    amz = ChannelFactory(tenant=tenant, code="AMZ", currency="EUR")
    a = order_of(tenant, channel=web)
    paid(a)
    refund_create(
        tenant=tenant, actor=None, sales_order_id=a.pk, idempotency_key="ra", adjustment="15"
    )
    b = order_of(tenant, channel=web, lines=[(ProductFactory(tenant=tenant), 1, "50.00")])
    payment_authorize(
        tenant=tenant, actor=None, sales_order_id=b.pk, amount="50", idempotency_key="ab"
    )
    c = order_of(
        tenant, channel=amz, currency="EUR", lines=[(ProductFactory(tenant=tenant), 1, "100.00")]
    )
    SalesOrder.objects.for_tenant(tenant).filter(pk=c.pk).update(
        fx_rate=D("1.10"), grand_total_base=D("110.00")
    )
    paid(c)
    refund_create(
        tenant=tenant, actor=None, sales_order_id=c.pk, idempotency_key="rc", adjustment="20"
    )
    order_of(
        tenant, channel=web, status="draft", lines=[(ProductFactory(tenant=tenant), 1, "999.00")]
    )
    return tenant


EXPECTED_ROWS = [
    {
        "channel": "AMZ",
        "currency": "EUR",
        "orders": 1,
        "order_total": "100.0000",
        "captured": "100.0000",
        "refunded": "20.0000",
        "net": "80.0000",
        "order_total_base": "110.0000",
        "captured_base": "110.0000",
        "refunded_base": "22.0000",
        "net_base": "88.0000",
    },
    {
        "channel": "WEB",
        "currency": "USD",
        "orders": 2,
        "order_total": "165.0000",
        "captured": "115.0000",
        "refunded": "15.0000",
        "net": "100.0000",
        "order_total_base": "165.0000",
        "captured_base": "115.0000",
        "refunded_base": "15.0000",
        "net_base": "100.0000",
    },
]
EXPECTED_TOTALS = {
    "orders": 3,
    "order_total": "275.0000",
    "captured": "225.0000",
    "refunded": "37.0000",
    "net": "188.0000",
}


def test_report_sums_per_channel_and_currency_and_in_base(book):
    report = sales_report(tenant=book).as_dict()
    assert report["base_currency"] == "USD"
    assert report["rows"] == EXPECTED_ROWS
    assert report["totals_base"] == EXPECTED_TOTALS


def test_report_filters_by_channel(book):
    report = sales_report(tenant=book, channel="AMZ").as_dict()
    assert report["rows"] == EXPECTED_ROWS[:1]
    assert report["totals_base"]["net"] == "88.0000"


def test_report_over_http(book, seller):
    response = client_for(seller).get("/api/v1/commerce/reports/sales/")
    assert response.status_code == 200
    assert response.data["rows"] == EXPECTED_ROWS
    assert response.data["totals_base"] == EXPECTED_TOTALS


def test_report_of_a_period_without_orders_is_empty(book):
    report = sales_report(tenant=book, date_to=date(2000, 1, 1))
    assert report.as_dict()["rows"] == []


def test_report_sees_only_its_tenant(book, other_tenant):
    assert sales_report(tenant=other_tenant).as_dict()["rows"] == []
