"""Invoices (issued by a capture) and credit notes (issued by a refund); their PDF.

Numbering: ``INV-<year>-000001`` / ``CN-<year>-000001``, gapless per tenant, kind and year (the
year of the issue time in the tenant's time zone). The ``DocumentSequence`` row is incremented
with ``UPDATE ... RETURNING`` inside the issuing transaction: concurrent issuers queue on its
row lock, and a rolled-back capture or refund gives its number back, so numbers have neither
gaps nor duplicates (the unique constraints on number and sequence are the last line).

Lines, all amounts in the order currency, rounded to cents:

- Invoice of a capture of the whole order at once (the usual case): the order lines
  (quantity, unit price, discount, tax, total) and the order's shipping; totals equal the
  order's.
- Invoice of a partial capture (instalments): one line "Payment on account" for the captured
  amount, its tax the order's tax share of it (``amount x tax_total / grand_total``); the
  capture that completes the order takes the remaining tax, so the invoices of an order add up
  to its totals exactly.
- Credit note of a refund: one line per refunded order line (quantity, unit price, the refunded
  share of discount and tax), the refunded shipping, and a "Refund adjustment" line for an
  amount refunded without goods. It points to the latest invoice of the refunded payment.

Locks: documents are issued inside the capture's or refund's transaction, which holds the
order's rows (``commerce.services.locks.sales_order_lock``) and its payments; the tenant-wide
``DocumentSequence`` row is the last lock taken, as in the global order of that module.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone

from commerce.models import (
    INVOICE_PREFIX,
    DocumentSequence,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    PaymentOperation,
    Refund,
    SalesOrder,
    SalesOrderLine,
)
from oms_site.errors import NotFound
from orders.models import EventKind
from orders.services import event_record
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def document_number_next(*, tenant: Tenant, kind: str, year: int) -> int:
    """The next value of the (tenant, kind, year) counter, in the caller's transaction."""
    return document_numbers_reserve(tenant_id=tenant.pk, kind=kind, year=year, count=1)


def document_numbers_reserve(*, tenant_id: int, kind: str, year: int, count: int) -> int:
    """Reserve ``count`` consecutive values of the (tenant, kind, year) counter in the
    caller's transaction (one statement); returns the first. A rollback gives them all back."""
    value = _increment(tenant_id=tenant_id, kind=kind, year=year, count=count)
    if value is None:
        DocumentSequence.objects.bulk_create(
            [DocumentSequence(tenant_id=tenant_id, kind=kind, year=year, last_value=0)],
            ignore_conflicts=True,
        )
        value = _increment(tenant_id=tenant_id, kind=kind, year=year, count=count)
    assert value is not None
    return value - count + 1


def _increment(*, tenant_id: int, kind: str, year: int, count: int) -> int | None:
    table = connection.ops.quote_name(DocumentSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + %s, updated_at = %s "  # values bound
            "WHERE tenant_id = %s AND kind = %s AND year = %s RETURNING last_value",
            [count, timezone.now(), tenant_id, kind, year],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def invoice_year(*, tenant: Tenant, issued_at: datetime) -> int:
    """The numbering year of a document issued at ``issued_at``: the tenant's local year."""
    return timezone.localtime(issued_at, zoneinfo.ZoneInfo(tenant.timezone)).year


def invoice_number(*, kind: str, year: int, sequence: int) -> str:
    return f"{INVOICE_PREFIX[InvoiceKind(kind)]}-{year}-{sequence:06d}"


def bill_to_of(
    *, name: str, email: str, line1: str, line2: str, city: str, postal_code: str, country: str
) -> dict[str, str]:
    return {
        "name": name,
        "email": email,
        "line1": line1,
        "line2": line2,
        "city": city,
        "postal_code": postal_code,
        "country": country,
    }


def _bill_to(sales: SalesOrder) -> dict[str, str]:
    customer = sales.customer
    return bill_to_of(
        name=customer.name if customer else sales.ship_name,
        email=customer.email if customer else "",
        line1=sales.ship_line1,
        line2=sales.ship_line2,
        city=sales.ship_city,
        postal_code=sales.ship_postal_code,
        country=sales.ship_country or sales.billing_country,
    )


def _issue(
    *,
    tenant: Tenant,
    actor: Actor,
    sales: SalesOrder,
    kind: str,
    operation: PaymentOperation,
    lines: list[InvoiceLine],
    shipping: Decimal,
    credited: Invoice | None = None,
) -> Invoice:
    issued_at = timezone.now()
    year = invoice_year(tenant=tenant, issued_at=issued_at)
    sequence = document_number_next(tenant=tenant, kind=kind, year=year)
    tax_total = sum((line.tax for line in lines), ZERO)
    line_total = sum((line.total for line in lines), ZERO)
    invoice = Invoice(
        tenant=tenant,
        sales_order=sales,
        kind=kind,
        number=invoice_number(kind=kind, year=year, sequence=sequence),
        year=year,
        sequence=sequence,
        issued_at=issued_at,
        operation=operation,
        credited_invoice=credited,
        currency=sales.currency,
        subtotal=line_total - tax_total,
        tax_total=tax_total,
        shipping_total=shipping,
        total=line_total + shipping,
        bill_to=_bill_to(sales),
    )
    invoice.save(force_insert=True)
    for number, line in enumerate(lines, start=1):
        line.tenant = tenant
        line.invoice = invoice
        line.line_no = number
    InvoiceLine.objects.bulk_create(lines)
    event_record(
        order=sales.order,
        kind=EventKind.INVOICE_ISSUED,
        actor=actor,
        data={
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "kind": kind,
            "total": str(invoice.total),
            "currency": invoice.currency,
        },
    )
    return invoice


def invoice_issue_for_capture(
    *, tenant: Tenant, actor: Actor, operation: PaymentOperation, sales_order: SalesOrder
) -> Invoice:
    """The invoice of one capture (see the module docstring for its lines)."""
    sales = sales_order
    amount = operation.amount
    invoiced = Invoice.objects.for_tenant(tenant).filter(
        sales_order=sales, kind=InvoiceKind.INVOICE
    )
    if amount == sales.grand_total and not invoiced.exists():
        order_lines = SalesOrderLine.objects.for_tenant(tenant).filter(sales_order=sales)
        lines = [
            InvoiceLine(
                sku=line.sku,
                description=line.product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
                total=line.total,
            )
            for line in order_lines.select_related("product").order_by("line_no")
        ]
        return _issue(
            tenant=tenant,
            actor=actor,
            sales=sales,
            kind=InvoiceKind.INVOICE,
            operation=operation,
            lines=lines,
            shipping=sales.shipping_total,
        )
    sums = invoiced.aggregate(total=Sum("total"), tax=Sum("tax_total"))
    invoiced_total, invoiced_tax = sums["total"] or ZERO, sums["tax"] or ZERO
    if invoiced_total + amount >= sales.grand_total:
        tax = max(sales.tax_total - invoiced_tax, ZERO)
    elif sales.grand_total > 0:
        tax = cents(amount * sales.tax_total / sales.grand_total)
    else:
        tax = ZERO
    tax = min(tax, amount)
    line = InvoiceLine(
        sku="",
        description=f"Payment on account, order {sales.order.reference}",
        quantity=Decimal("1"),
        unit_price=amount - tax,
        tax=tax,
        total=amount,
    )
    return _issue(
        tenant=tenant,
        actor=actor,
        sales=sales,
        kind=InvoiceKind.INVOICE,
        operation=operation,
        lines=[line],
        shipping=ZERO,
    )


def credit_note_issue_for_refund(*, tenant: Tenant, actor: Actor, refund: Refund) -> Invoice:
    """The credit note of one refund (see the module docstring for its lines)."""
    sales = refund.sales_order
    lines: list[InvoiceLine] = []
    goods = ZERO
    for refund_line in refund.lines.select_related("line__product").order_by("id"):
        order_line = refund_line.line
        lines.append(
            InvoiceLine(
                sku=order_line.sku,
                description=f"Refund: {order_line.product.name}",
                quantity=refund_line.quantity,
                unit_price=order_line.unit_price,
                discount=refund_line.discount,
                tax=refund_line.tax,
                total=refund_line.amount,
            )
        )
        goods += refund_line.amount
    adjustment = refund.amount - refund.shipping - goods
    if adjustment > 0:
        lines.append(
            InvoiceLine(
                sku="",
                description="Refund adjustment" + (f": {refund.reason}" if refund.reason else ""),
                quantity=Decimal("1"),
                unit_price=adjustment,
                total=adjustment,
            )
        )
    credited = (
        Invoice.objects.for_tenant(tenant)
        .filter(kind=InvoiceKind.INVOICE, operation__payment_id=refund.payment_id)
        .order_by("-issued_at", "-id")
        .first()
    )
    return _issue(
        tenant=tenant,
        actor=actor,
        sales=sales,
        kind=InvoiceKind.CREDIT_NOTE,
        operation=refund.operation,
        lines=lines,
        shipping=refund.shipping,
        credited=credited,
    )


# --- documents ------------------------------------------------------------------------------


def invoice_get(*, tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = (
        Invoice.objects.for_tenant(tenant)
        .select_related("sales_order__order", "sales_order__channel", "credited_invoice", "tenant")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


def invoice_html(*, invoice: Invoice) -> str:
    """The invoice document as HTML (``templates/commerce/invoice.html``)."""
    lines = list(
        InvoiceLine.objects.for_tenant(invoice.tenant_id)
        .filter(invoice=invoice)
        .order_by("line_no")
    )
    return render_to_string(
        "commerce/invoice.html",
        {
            "invoice": invoice,
            "tenant": invoice.tenant,
            "sales_order": invoice.sales_order,
            "lines": lines,
            "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
            "title": InvoiceKind(invoice.kind).label,
        },
    )


def invoice_pdf(*, tenant: Tenant, invoice_id: int) -> tuple[Invoice, bytes]:
    """The PDF of the tenant's invoice (another tenant's id answers 404 like a missing one)."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    invoice = invoice_get(tenant=tenant, invoice_id=invoice_id)
    pdf: bytes = HTML(string=invoice_html(invoice=invoice)).write_pdf()
    return invoice, pdf
