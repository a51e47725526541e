"""FX rates, payments and their idempotent operations, refunds."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import F, Q

from commerce.models.fields import money_field, rate_field
from commerce.models.sales import SalesOrder
from tenancy.models import Tenant, TenantOwned, currency_validator
from tenancy.scoping import TenantManager


class FxRate(TenantOwned):
    """``1 from_currency = rate to_currency`` on ``date``; lookups take the latest rate on or
    before the day (an inverse rate is used when only the other direction is stored)."""

    date = models.DateField()
    from_currency = models.CharField(max_length=3, validators=[currency_validator])
    to_currency = models.CharField(max_length=3, validators=[currency_validator])
    rate = rate_field()

    objects: ClassVar[TenantManager[FxRate]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-date", "from_currency", "to_currency")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "date", "from_currency", "to_currency"], name="fx_rate_unique"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.from_currency}/{self.to_currency} {self.rate}"


class PaymentState(models.TextChoices):
    AUTHORIZED = "authorized", "Authorized"
    PARTIALLY_CAPTURED = "partially_captured", "Partially captured"
    CAPTURED = "captured", "Captured"
    VOIDED = "voided", "Voided"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Payment(TenantOwned):
    """One payment instrument's money for an order, in the order currency.

    ``captured <= authorized`` and ``refunded <= captured`` are database constraints; the
    services lock the row before moving money."""

    # No index of the tenant column alone (one less to write per row): the tenant's rows
    # are found through the leading tenant column of ``payment_unique_tenant_id``.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Nor of the creation time (read through its parent, never by time across parents).
    created_at = models.DateTimeField(auto_now_add=True)
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=32, default="card")  # card, cash, marketplace, ...
    provider_reference = models.CharField(max_length=128, blank=True, default="")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    authorized = money_field(default=Decimal("0"))
    captured = money_field(default=Decimal("0"))
    refunded = money_field(default=Decimal("0"))
    state = models.CharField(
        max_length=20, choices=PaymentState.choices, default=PaymentState.AUTHORIZED
    )

    objects: ClassVar[TenantManager[Payment]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sales_order_id", "id")
        constraints = [
            # The key of the (tenant, payment) foreign key of operations (PostgreSQL: see
            # commerce/migrations/0002_tenant_composite_keys.py).
            models.UniqueConstraint(fields=["tenant", "id"], name="payment_unique_tenant_id"),
            models.CheckConstraint(condition=Q(authorized__gte=0), name="payment_auth_gte0"),
            models.CheckConstraint(
                condition=Q(captured__gte=0) & Q(captured__lte=F("authorized")),
                name="payment_capture_le_auth",
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=F("captured")),
                name="payment_refund_le_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} {self.captured}/{self.authorized} {self.currency}"


class PaymentOperationKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    VOID = "void", "Void"
    REFUND = "refund", "Refund"


class PaymentOperation(TenantOwned):
    """An operation on a payment, idempotent by ``idempotency_key`` (unique per tenant): a
    replay returns the stored operation; the same key with other values is a conflict.
    Amounts are stored in the order currency and in the tenant's base currency with the rate
    used."""

    # No index of the tenant column alone (one less to write per row): the tenant's rows
    # are found through the leading tenant column of ``payment_operation_unique_key``.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Nor of the creation time (read through its parent, never by time across parents).
    created_at = models.DateTimeField(auto_now_add=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="operations")
    kind = models.CharField(max_length=10, choices=PaymentOperationKind.choices)
    idempotency_key = models.CharField(max_length=128)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    base_currency = models.CharField(max_length=3, validators=[currency_validator])
    fx_rate = rate_field()
    amount_base = money_field()
    payload = models.JSONField(
        default=dict, blank=True, help_text="The canonical request, compared on a replay."
    )

    objects: ClassVar[TenantManager[PaymentOperation]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("payment_id", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="payment_operation_unique_key"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_operation_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class Refund(TenantOwned):
    """Money given back on a payment: never more than captured minus refunded. Lines may be
    restocked or not (``RefundLine.restock``); ``shipping`` refunds shipping charges."""

    sales_order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    operation = models.OneToOneField(
        PaymentOperation, on_delete=models.PROTECT, related_name="refund"
    )
    return_request = models.ForeignKey(
        "commerce.Return", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = money_field()
    shipping = money_field(default=Decimal("0"))
    currency = models.CharField(max_length=3, validators=[currency_validator])
    base_currency = models.CharField(max_length=3, validators=[currency_validator])
    fx_rate = rate_field()
    amount_base = money_field()
    reason = models.CharField(max_length=500, blank=True, default="")

    objects: ClassVar[TenantManager[Refund]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sales_order_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt0"),
            models.CheckConstraint(condition=Q(shipping__gte=0), name="refund_shipping_gte0"),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.amount} {self.currency}"


class RefundLine(TenantOwned):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(
        "commerce.SalesOrderLine", on_delete=models.PROTECT, related_name="refund_lines"
    )
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    amount = money_field()
    discount = money_field(default=Decimal("0"), help_text="The refunded share of the discount.")
    tax = money_field(default=Decimal("0"), help_text="The refunded share of the tax.")
    restock = models.BooleanField(default=False)

    objects: ClassVar[TenantManager[RefundLine]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("refund_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_qty_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x {self.quantity}"
