"""Derived payment and fulfilment statuses (pure rules, then from stored rows)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commerce.models import (
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    FulfilmentStatus,
    Payment,
    PaymentState,
    PaymentStatus,
)
from commerce.services.status import (
    Goods,
    Money,
    fulfilment_status_of,
    payment_status_of,
    sales_order_status_refresh,
)
from tests.commerce.factories import ProductFactory, WarehouseFactory, sales_order_make

D = Decimal


@pytest.mark.parametrize(
    ("authorized", "captured", "refunded", "expected"),
    [
        ("0", "0", "0", PaymentStatus.UNPAID),
        ("100", "0", "0", PaymentStatus.AUTHORIZED),
        ("100", "40", "0", PaymentStatus.PARTIALLY_PAID),
        ("100", "100", "0", PaymentStatus.PAID),
        ("100", "100", "30", PaymentStatus.PARTIALLY_REFUNDED),
        ("100", "100", "100", PaymentStatus.REFUNDED),
    ],
)
def test_payment_status_rules(authorized: str, captured: str, refunded: str, expected: str) -> None:
    money = Money(D(authorized), D(captured), D(refunded))
    assert payment_status_of(grand_total=D("100"), money=money) == expected


@pytest.mark.parametrize(
    ("authorized", "captured", "refunded", "expected"),
    [
        ("0", "0", "0", PaymentStatus.PAID),
        ("10", "0", "0", PaymentStatus.PAID),
        ("10", "10", "0", PaymentStatus.PAID),
        ("10", "10", "10", PaymentStatus.REFUNDED),
    ],
)
def test_an_order_with_nothing_to_pay_is_paid(
    authorized: str, captured: str, refunded: str, expected: str
) -> None:
    money = Money(D(authorized), D(captured), D(refunded))
    assert payment_status_of(grand_total=D("0"), money=money) == expected


def test_refresh_of_a_zero_order_without_payments_marks_it_paid(tenant: Any) -> None:
    sales = sales_order_make(tenant=tenant, lines=[(ProductFactory(tenant=tenant), 2, "0")])
    assert (sales.grand_total, sales.payment_status) == (D("0"), PaymentStatus.UNPAID)

    sales_order_status_refresh(sales_order=sales)

    sales.refresh_from_db()
    assert (sales.payment_status, sales.fulfilment_status) == (
        PaymentStatus.PAID,
        FulfilmentStatus.UNFULFILLED,
    )


@pytest.mark.parametrize(
    ("shipped", "delivered_all", "returned", "expected"),
    [
        ("0", True, "0", FulfilmentStatus.UNFULFILLED),
        ("2", False, "0", FulfilmentStatus.PARTIALLY_FULFILLED),
        ("5", False, "0", FulfilmentStatus.FULFILLED),
        ("5", True, "0", FulfilmentStatus.DELIVERED),
        ("5", True, "1", FulfilmentStatus.PARTIALLY_RETURNED),
        ("5", True, "5", FulfilmentStatus.RETURNED),
    ],
)
def test_fulfilment_status_rules(
    shipped: str, delivered_all: bool, returned: str, expected: str
) -> None:
    goods = Goods(
        ordered=D("5"), shipped=D(shipped), delivered_all=delivered_all, returned=D(returned)
    )
    assert fulfilment_status_of(goods) == expected


def test_refresh_reads_payments_and_shipments(tenant: Any) -> None:
    product = ProductFactory(tenant=tenant)
    warehouse = WarehouseFactory(tenant=tenant)
    sales = sales_order_make(tenant=tenant, lines=[(product, 4, "25.00")])
    Payment.objects.create(
        tenant=tenant,
        sales_order=sales,
        currency="USD",
        authorized=D("100"),
        captured=D("100"),
        state=PaymentState.CAPTURED,
    )
    Payment.objects.create(
        tenant=tenant, sales_order=sales, currency="USD", authorized=D("50"), state="voided"
    )
    fulfilment = Fulfilment.objects.create(tenant=tenant, sales_order=sales, warehouse=warehouse)
    Fulfilment.objects.for_tenant(tenant).filter(pk=fulfilment.pk).update(
        state=FulfilmentState.SHIPPED
    )
    FulfilmentLine.objects.create(
        tenant=tenant,
        fulfilment=fulfilment,
        line=sales.lines.get(),
        quantity=D("4"),
        shipped_quantity=D("3"),
    )

    sales_order_status_refresh(sales_order=sales)

    sales.refresh_from_db()
    assert (sales.payment_status, sales.fulfilment_status) == (
        PaymentStatus.PAID,
        FulfilmentStatus.PARTIALLY_FULFILLED,
    )
