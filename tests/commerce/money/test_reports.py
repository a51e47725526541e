"""The sales report: sums per channel and currency and in the base currency, by hand."""

from __future__ import annotations

from datetime import date

import pytest

from commerce.models import Channel, SalesOrder
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


def test_canceled_orders_leave_the_order_totals_but_their_money_counts(book, seller):
    from orders.services import order_transition

    # given the book, plus a WEB order E of 70.00 paid, canceled and refunded in full, and a
    # SHOP (GBP, 1 GBP = 1.25 USD) order F of 40.00 GBP paid, canceled and refunded 10.00
    rate(book, "GBP", "USD", "1.25")
    web = Channel.objects.for_tenant(book).get(code="WEB")
    shop = ChannelFactory(tenant=book, code="SHOP", currency="GBP")
    e = order_of(book, channel=web, lines=[(ProductFactory(tenant=book), 1, "70.00")])
    f = order_of(
        book, channel=shop, currency="GBP", lines=[(ProductFactory(tenant=book), 1, "40.00")]
    )
    for sales, refunded in ((e, "70"), (f, "10")):
        paid(sales)
        order_transition(tenant=book, order_id=sales.pk, transition="cancel", actor=seller)
        refund_create(
            tenant=book,
            actor=None,
            sales_order_id=sales.pk,
            idempotency_key=f"cancel-{sales.pk}",
            adjustment=refunded,
        )
    # when the report runs
    report = sales_report(tenant=book).as_dict()
    # then E and F are not orders of the report, but every capture and refund is counted
    assert report["rows"] == [
        EXPECTED_ROWS[0],
        {
            "channel": "SHOP",
            "currency": "GBP",
            "orders": 0,
            "order_total": "0.0000",
            "captured": "40.0000",
            "refunded": "10.0000",
            "net": "30.0000",
            "order_total_base": "0.0000",
            "captured_base": "50.0000",
            "refunded_base": "12.5000",
            "net_base": "37.5000",
        },
        {
            **EXPECTED_ROWS[1],
            "captured": "185.0000",
            "refunded": "85.0000",
            "net": "100.0000",
            "captured_base": "185.0000",
            "refunded_base": "85.0000",
            "net_base": "100.0000",
        },
    ]
    assert report["totals_base"] == {
        "orders": 3,
        "order_total": "275.0000",
        "captured": "345.0000",
        "refunded": "119.5000",
        "net": "225.5000",
    }
