"""Invoices (on capture) and credit notes (on refund), numbered gaplessly per tenant and year."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models

from commerce.models.fields import money_field, qty_field
from commerce.models.payments import PaymentOperation
from commerce.models.sales import SalesOrder
from tenancy.models import Tenant, TenantOwned, currency_validator
from tenancy.scoping import TenantManager


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


INVOICE_PREFIX = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}


class DocumentKind(models.TextChoices):
    """What a :class:`DocumentSequence` numbers: invoices, credit notes and return RMAs."""

    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"
    RMA = "rma", "Return (RMA)"


class DocumentSequence(TenantOwned):
    """Gapless counter per (tenant, kind, year), incremented in the issuing transaction."""

    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    objects: ClassVar[TenantManager[DocumentSequence]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "year"], name="document_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_value}"


class Invoice(TenantOwned):
    # No index of the tenant column alone nor of the creation time (one less each to write per
    # imported order): the tenant's invoices are listed newest first through
    # ``invoice_tenant_issued`` and found by number through ``invoice_unique_number``.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices)
    number = models.CharField(max_length=32)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    operation = models.OneToOneField(
        PaymentOperation,
        on_delete=models.PROTECT,
        related_name="invoice",
        help_text="The capture (invoice) or refund (credit note) that issued it.",
    )
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal = money_field(default=Decimal("0"))
    tax_total = money_field(default=Decimal("0"))
    shipping_total = money_field(default=Decimal("0"))
    total = money_field(default=Decimal("0"))
    bill_to = models.JSONField(default=dict, blank=True)

    objects: ClassVar[TenantManager[Invoice]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-issued_at", "-id")
        indexes = [
            models.Index(fields=["tenant", "-issued_at", "-id"], name="invoice_tenant_issued"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="invoice_unique_number"),
            models.UniqueConstraint(
                fields=["tenant", "kind", "year", "sequence"], name="invoice_unique_sequence"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(TenantOwned):
    # Read through its invoice only: the tenant column is the lead of ``invoice_line_unique_no``
    # and the creation time is never searched.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=300)
    quantity = qty_field()
    unit_price = money_field()
    discount = money_field(default=Decimal("0"))
    tax = money_field(default=Decimal("0"))
    total = money_field()

    objects: ClassVar[TenantManager[InvoiceLine]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("invoice_id", "line_no")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "invoice", "line_no"], name="invoice_line_unique_no"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} x {self.quantity}"
