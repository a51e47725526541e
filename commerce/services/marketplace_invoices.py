"""The invoices of a page of imported marketplace orders, written set-based.

An imported order arrives captured (``commerce.services.marketplace_insert``), and a capture
issues an invoice wherever it comes from: each order gets the invoice that
``invoices.invoice_issue_for_capture`` issues for a capture of the whole order (the order lines
with their product names, the order's shipping, totals in the order currency), billed to the
buyer the marketplace names (or the ship-to name) at the shipping address. The page's invoice
numbers are reserved from the tenant's gapless counter in one statement, in the import's
transaction (a rolled-back page gives them back); invoices and their lines are one ``COPY``
each on PostgreSQL (``oms_site.rows``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from commerce.models import Invoice, InvoiceKind, InvoiceLine
from commerce.services.invoices import (
    bill_to_of,
    document_numbers_reserve,
    invoice_number,
    invoice_year,
)
from commerce.services.marketplace_prepare import ZERO, Prepared, line_total
from oms_site.rows import db_json, db_time, rows_insert, rows_insert_with_ids
from tenancy.models import Tenant

INVOICE_COLUMNS = (
    "sales_order_id",
    "number",
    "sequence",
    "operation_id",
    "currency",
    "subtotal",
    "tax_total",
    "shipping_total",
    "total",
    "bill_to",
)
LINE_COLUMNS = (
    "invoice_id",
    "line_no",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount",
    "tax",
    "total",
)
DESCRIPTION_LENGTH = InvoiceLine._meta.get_field("description").max_length or 300


def invoices_write(
    *,
    tenant: Tenant,
    issued_at: datetime,
    stamps: Mapping[str, Any],
    orders: Sequence[tuple[int, int, Prepared]],
    product_names: Mapping[int, str],
) -> list[tuple[str, Decimal]]:
    """Write the invoice of each (sales order id, capture operation id, prepared order);
    returns each one's (number, total) in order. ``stamps``: the page's tenant and times."""
    kind = InvoiceKind.INVOICE
    year = invoice_year(tenant=tenant, issued_at=issued_at)
    first = document_numbers_reserve(tenant_id=tenant.pk, kind=kind, year=year, count=len(orders))
    rows = []
    issued: list[tuple[str, Decimal]] = []
    for sequence, (order_id, operation_id, p) in enumerate(orders, start=first):
        m = p.market
        number = invoice_number(kind=kind, year=year, sequence=sequence)
        bill_to = bill_to_of(
            name=m.customer_name or m.ship_name,
            email=m.customer_email,
            line1=m.ship_line1,
            line2=m.ship_line2,
            city=m.ship_city,
            postal_code=m.ship_postal_code,
            country=m.ship_country,
        )
        goods = sum((line_total(ln) for _, ln in p.lines), ZERO)
        tax = sum((ln.tax for _, ln in p.lines), ZERO)
        total = goods + m.shipping_total
        rows.append(
            (
                *(order_id, number, sequence, operation_id, p.currency),
                *(goods - tax, tax, m.shipping_total, total, db_json(bill_to)),
            )
        )
        issued.append((number, total))
    invoice_ids = rows_insert_with_ids(
        Invoice,
        INVOICE_COLUMNS,
        rows,
        key="number",
        common={
            **stamps,
            "kind": str(kind),
            "year": year,
            "issued_at": db_time(issued_at),
            "credited_invoice_id": None,
        },
    )
    rows_insert(
        InvoiceLine,
        LINE_COLUMNS,
        [
            (
                *(invoice_id, line_no, ln.sku, product_names[product_id][:DESCRIPTION_LENGTH]),
                *(ln.quantity, ln.unit_price, ln.discount, ln.tax, line_total(ln)),
            )
            for invoice_id, (_, _, p) in zip(invoice_ids, orders, strict=True)
            for line_no, (product_id, ln) in enumerate(p.lines, start=1)
        ],
        stamps,
    )
    return issued
