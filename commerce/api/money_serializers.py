"""Serializers of the money API: payments, refunds, returns, invoices, FX rates.

Input is strict: a key the endpoint does not accept is a 400 naming it; numbers must fit the
columns; nested list errors are named like the input (``lines[1].quantity``). The business
rules (bounds, states, currencies) live in the services, which name the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from commerce.models import (
    FxRate,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentOperation,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    Warehouse,
)
from oms_site.api.fields import StrictCharField, StrictRegexField
from tenancy.api import TenantSlugRelatedField

CURRENCY = r"^[A-Z]{3}$"
CURRENCY_MESSAGE = "Use a three-letter ISO 4217 code, e.g. USD."


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, **kwargs)


def qty(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def currency_field(**kwargs: Any) -> StrictRegexField:
    return StrictRegexField(
        CURRENCY, max_length=3, error_messages={"invalid": CURRENCY_MESSAGE}, **kwargs
    )


def key_field() -> StrictCharField:
    return StrictCharField(max_length=128, help_text="Idempotency key, unique per tenant.")


def flatten(detail: Any, prefix: str = "") -> dict[str, Any]:
    """DRF's nested errors as flat keys: ``{"lines": [{}, {"quantity": [..]}]}`` ->
    ``{"lines[1].quantity": [..]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, Any] = {}
        for key, value in detail.items():
            if prefix and (isinstance(key, int) or str(key).isdigit()):
                name = f"{prefix}[{key}]"  # DRF keys list errors by index
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            flat.update(flatten(value, name))
        return flat
    if isinstance(detail, list) and detail and all(isinstance(d, (Mapping, list)) for d in detail):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(flatten(value, f"{prefix}[{index}]"))
        return flat
    return {prefix or "non_field_errors": detail}


class StrictInput(serializers.Serializer[Any]):
    """Refuses unknown keys (400 naming them) and flattens nested error names."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = {
            str(key): ["Unknown field."]
            for key in data
            if key not in self.fields or self.fields[key].read_only
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**flatten(exc.detail), **unknown}) from exc
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# --- payments -------------------------------------------------------------------------------


@extend_schema_serializer(component_name="PaymentOperationDetail")
class PaymentOperationSerializer(serializers.ModelSerializer[PaymentOperation]):
    class Meta:
        model = PaymentOperation
        fields = (
            "id",
            "kind",
            "idempotency_key",
            "amount",
            "currency",
            "base_currency",
            "fx_rate",
            "amount_base",
            "created_at",
        )
        read_only_fields = fields


@extend_schema_serializer(component_name="PaymentWithOperations")
class PaymentSerializer(serializers.ModelSerializer[Payment]):
    order = serializers.IntegerField(source="sales_order_id", read_only=True)
    operations = PaymentOperationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = (
            "id",
            "order",
            "method",
            "provider_reference",
            "currency",
            "authorized",
            "captured",
            "refunded",
            "state",
            "operations",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class PaymentResultSerializer(serializers.Serializer[Any]):
    """An operation's answer: the operation and the payment after it."""

    operation = PaymentOperationSerializer(read_only=True)
    payment = PaymentSerializer(read_only=True)


class AuthorizeSerializer(StrictInput):
    amount = money()
    currency = currency_field(required=False)
    method = StrictCharField(max_length=32, required=False, default="card")
    provider_reference = StrictCharField(
        max_length=128, required=False, allow_blank=True, default=""
    )
    idempotency_key = key_field()


class CaptureSerializer(StrictInput):
    amount = money()
    currency = currency_field(required=False)
    idempotency_key = key_field()


class VoidSerializer(StrictInput):
    currency = currency_field(required=False)
    idempotency_key = key_field()


class PaymentRefundSerializer(StrictInput):
    amount = money()
    currency = currency_field(required=False)
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    idempotency_key = key_field()


# --- refunds --------------------------------------------------------------------------------


class RefundLineInputSerializer(StrictInput):
    line = serializers.IntegerField(min_value=1)
    quantity = qty()
    restock = serializers.BooleanField(required=False, default=False)


class RefundCreateSerializer(StrictInput):
    lines = RefundLineInputSerializer(many=True, required=False, default=list)
    shipping = money(required=False, default="0")
    adjustment = money(required=False, default="0")
    payment = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    currency = currency_field(required=False)
    idempotency_key = key_field()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["return"] = serializers.IntegerField(
            min_value=1, required=False, allow_null=True, default=None
        )
        return fields


@extend_schema_serializer(component_name="RefundLineDetail")
class RefundLineSerializer(serializers.ModelSerializer[RefundLine]):
    sku = serializers.CharField(source="line.sku", read_only=True)

    class Meta:
        model = RefundLine
        fields = ("id", "line", "sku", "quantity", "amount", "discount", "tax", "restock")
        read_only_fields = fields


@extend_schema_serializer(component_name="RefundWithLines")
class RefundSerializer(serializers.ModelSerializer[Refund]):
    order = serializers.IntegerField(source="sales_order_id", read_only=True)
    lines = RefundLineSerializer(many=True, read_only=True)
    credit_note = serializers.SerializerMethodField()

    class Meta:
        model = Refund
        fields = (
            "id",
            "order",
            "payment",
            "operation",
            "return_request",
            "amount",
            "shipping",
            "currency",
            "base_currency",
            "fx_rate",
            "amount_base",
            "reason",
            "lines",
            "credit_note",
            "created_at",
        )
        read_only_fields = fields

    def get_credit_note(self, obj: Refund) -> dict[str, Any] | None:
        invoice = getattr(obj.operation, "invoice", None)
        return {"id": invoice.pk, "number": invoice.number} if invoice else None


# --- returns --------------------------------------------------------------------------------


class ReturnLineInputSerializer(StrictInput):
    line = serializers.IntegerField(min_value=1)
    quantity = qty()
    restock = serializers.BooleanField(required=False, default=True)


class ReturnCreateSerializer(StrictInput):
    lines = ReturnLineInputSerializer(many=True, allow_empty=False)
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    warehouse = TenantSlugRelatedField(
        model=Warehouse, slug_field="code", required=False, allow_null=True, default=None
    )


class ReturnTransitionSerializer(StrictInput):
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    warehouse = TenantSlugRelatedField(
        model=Warehouse, slug_field="code", required=False, allow_null=True, default=None
    )


class ReplacementSerializer(StrictInput):
    line = serializers.IntegerField(min_value=1)
    quantity = qty(required=False, allow_null=True, default=None)
    sku = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


class ExchangeSerializer(StrictInput):
    replacements = ReplacementSerializer(many=True, required=False, default=list)


@extend_schema_serializer(component_name="ReturnLineDetail")
class ReturnLineSerializer(serializers.ModelSerializer[ReturnLine]):
    sku = serializers.CharField(source="line.sku", read_only=True)

    class Meta:
        model = ReturnLine
        fields = ("id", "line", "sku", "quantity", "restock", "restocked_quantity")
        read_only_fields = fields


@extend_schema_serializer(component_name="ReturnWithLines")
class ReturnSerializer(serializers.ModelSerializer[Return]):
    order = serializers.IntegerField(source="sales_order_id", read_only=True)
    warehouse = serializers.SerializerMethodField()
    lines = ReturnLineSerializer(many=True, read_only=True)

    class Meta:
        model = Return
        fields = (
            "id",
            "rma_number",
            "order",
            "state",
            "reason",
            "resolution_note",
            "warehouse",
            "exchange_order",
            "lines",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_warehouse(self, obj: Return) -> str | None:
        return obj.warehouse.code if obj.warehouse else None


# --- invoices -------------------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer[InvoiceLine]):
    class Meta:
        model = InvoiceLine
        fields = (
            "line_no",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "tax",
            "total",
        )
        read_only_fields = fields


@extend_schema_serializer(component_name="InvoiceWithLines")
class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    order = serializers.IntegerField(source="sales_order_id", read_only=True)
    credited_invoice = serializers.SerializerMethodField()
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = (
            "id",
            "number",
            "kind",
            "year",
            "sequence",
            "issued_at",
            "order",
            "operation",
            "credited_invoice",
            "currency",
            "subtotal",
            "tax_total",
            "shipping_total",
            "total",
            "bill_to",
            "lines",
        )
        read_only_fields = fields

    def get_credited_invoice(self, obj: Invoice) -> str | None:
        return obj.credited_invoice.number if obj.credited_invoice else None


# --- FX rates -------------------------------------------------------------------------------


class FxRateSerializer(serializers.ModelSerializer[FxRate]):
    from_currency = currency_field()
    to_currency = currency_field()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)

    class Meta:
        model = FxRate
        fields = ("id", "date", "from_currency", "to_currency", "rate", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")
        validators: list[Any] = []  # uniqueness: the constraint decides (409), no pre-check

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = {
                str(key): ["Unknown field."]
                for key in data
                if key not in self.fields or self.fields[key].read_only
            }
            if unknown:
                raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)


class FxRateUpdateSerializer(StrictInput):
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)


class SalesReportQuerySerializer(StrictInput):
    date_from = serializers.DateField(required=False, allow_null=True, default=None)
    date_to = serializers.DateField(required=False, allow_null=True, default=None)
    channel = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
