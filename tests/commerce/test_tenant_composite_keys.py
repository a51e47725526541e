"""PostgreSQL: a sales order's channel, its lines, its payments, their operations and its
invoices are tied to their parent by (tenant, parent) foreign keys (commerce migrations 0002 and
0005): the parent must exist and belong to the same tenant. A row pointing across tenants is
refused by the database itself, whatever the code that writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from commerce.models import Invoice, Payment, PaymentOperation, SalesOrder, SalesOrderLine
from oms_site.rows import instances_insert
from tests.commerce.factories import ChannelFactory, ProductFactory, sales_order_make
from tests.factories import order_in_status

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="composite foreign keys: PostgreSQL only"
    ),
]


def _checked(write: Any) -> None:
    """Run ``write`` and the deferred constraint checks at once, in a savepoint."""
    with transaction.atomic():
        write()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_composite_keys_replace_the_single_ones() -> None:
    with connection.cursor() as cursor:
        found = {
            table: connection.introspection.get_constraints(cursor, table)
            for table in (
                "commerce_salesorder",
                "commerce_salesorderline",
                "commerce_payment",
                "commerce_paymentoperation",
                "commerce_invoice",
            )
        }
    keys = {
        table: sorted(
            (tuple(info["columns"]), info["foreign_key"])
            for info in constraints.values()
            if info["foreign_key"] and "tenant_id" in info["columns"]
        )
        for table, constraints in found.items()
    }
    assert keys == {
        "commerce_salesorder": [(("tenant_id", "channel_id"), ("commerce_channel", "tenant_id"))],
        "commerce_salesorderline": [
            (("tenant_id", "sales_order_id"), ("commerce_salesorder", "tenant_id"))
        ],
        "commerce_payment": [
            (("tenant_id", "sales_order_id"), ("commerce_salesorder", "tenant_id"))
        ],
        "commerce_paymentoperation": [
            (("tenant_id", "payment_id"), ("commerce_payment", "tenant_id"))
        ],
        "commerce_invoice": [
            (("tenant_id", "sales_order_id"), ("commerce_salesorder", "tenant_id"))
        ],
    }


def test_rows_pointing_at_another_tenants_parent_are_refused(
    tenant: Any, other_tenant: Any
) -> None:
    # given a sales order of another tenant, with a payment
    theirs = sales_order_make(tenant=other_tenant)
    payment = Payment.objects.create(
        tenant=other_tenant, sales_order=theirs, currency="USD", authorized=Decimal("1")
    )
    product = ProductFactory(tenant=tenant)
    # (and a capture of this tenant's own, for the invoice below)
    ours = sales_order_make(tenant=tenant)
    capture = PaymentOperation.objects.create(
        tenant=tenant,
        payment=Payment.objects.create(
            tenant=tenant, sales_order=ours, currency="USD", authorized=Decimal("1")
        ),
        kind="capture",
        idempotency_key="k-own",
        amount=Decimal("1"),
        currency="USD",
        base_currency="USD",
        fx_rate=Decimal("1"),
        amount_base=Decimal("1"),
    )

    def invoice_for(sales_order_id: int) -> Invoice:
        return Invoice(
            tenant=tenant,
            sales_order_id=sales_order_id,
            operation=capture,
            kind="invoice",
            number="INV-2026-000001",
            year=2026,
            sequence=1,
            issued_at=datetime(2026, 12, 7, tzinfo=UTC),
            currency="USD",
        )

    def counts() -> tuple[int, ...]:
        return tuple(
            model.objects.all_tenants(reason="test").count()
            for model in (SalesOrder, SalesOrderLine, Payment, PaymentOperation, Invoice)
        )

    before = counts()
    order = order_in_status(tenant=tenant, status="open", kind="sales", client_order_id="c-1")
    # (written as the set-based writers write, past the models' own tenant checks)
    writes = {
        "line": (
            SalesOrderLine,
            SalesOrderLine(
                tenant=tenant,
                sales_order_id=theirs.pk,
                line_no=1,
                product=product,
                sku=product.sku,
                quantity=Decimal("1"),
                unit_price=Decimal("1"),
                total=Decimal("1"),
            ),
        ),
        "payment": (
            Payment,
            Payment(tenant=tenant, sales_order_id=theirs.pk, currency="USD"),
        ),
        "operation": (
            PaymentOperation,
            PaymentOperation(
                tenant=tenant,
                payment_id=payment.pk,
                kind="capture",
                idempotency_key="k-1",
                amount=Decimal("1"),
                currency="USD",
                base_currency="USD",
                fx_rate=Decimal("1"),
                amount_base=Decimal("1"),
            ),
        ),
        "invoice": (
            Invoice,
            invoice_for(theirs.pk),
        ),
        "sales order": (
            SalesOrder,
            SalesOrder(
                tenant=tenant,
                order=order,
                channel_id=ChannelFactory(tenant=other_tenant).pk,
                external_id="E-1",
                currency="USD",
                base_currency="USD",
            ),
        ),
    }
    for name, (model, row) in writes.items():
        # when a row of this tenant names the other tenant's parent
        # then the database refuses it
        with pytest.raises(IntegrityError, match="violates foreign key constraint"):
            _checked(lambda model=model, row=row: instances_insert(model, [row]))
        # and nothing of it is stored
        assert counts() == before, name
    # while the same invoice for this tenant's own order is stored
    _checked(lambda: instances_insert(Invoice, [invoice_for(ours.pk)]))
    assert Invoice.objects.for_tenant(tenant).filter(sales_order=ours).count() == 1
