"""Serializers of the fulfilment, tracking and forecast API.

Input is strict: strings must be JSON strings, numbers fit the columns, and a key the endpoint
does not accept is a 400 naming it rather than being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from commerce.models import Fulfilment, FulfilmentLine, Product, TrackingEvent, Warehouse
from commerce.services.fulfilment import (
    CARRIER_MAX,
    DESCRIPTION_MAX,
    LOCATION_MAX,
    TRACKING_CODES,
    TRACKING_MAX,
    ShipLine,
)
from oms_site.api.fields import StrictCharField
from tenancy.api import TenantSlugRelatedField

SERVICE_LEVEL_MIN, SERVICE_LEVEL_MAX = Decimal("0.5"), Decimal("0.9999")
SHIP_LINES_MAX = 1000


class StrictKeysMixin:
    """Refuses body keys that are not writable fields of the serializer (400 naming them)."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        extra: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    extra[str(key)] = ["Unknown field."]
                elif field.read_only:
                    extra[str(key)] = ["This field is read-only."]
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if extra and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **extra}) from exc
            raise
        if extra:
            raise serializers.ValidationError(extra)
        return value


def qty(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, **kwargs)


# --- read shapes ------------------------------------------------------------------------------


class FulfilmentItemSerializer(serializers.ModelSerializer[FulfilmentLine]):
    line_no = serializers.IntegerField(source="line.line_no", read_only=True)
    sku = serializers.CharField(source="line.sku", read_only=True)

    class Meta:
        model = FulfilmentLine
        fields = ("line", "line_no", "sku", "quantity", "shipped_quantity")
        read_only_fields = fields


class TrackingEventSerializer(serializers.ModelSerializer[TrackingEvent]):
    class Meta:
        model = TrackingEvent
        fields = ("id", "code", "description", "location", "occurred_at", "created_at")
        read_only_fields = fields


class FulfilmentSerializer(serializers.ModelSerializer[Fulfilment]):
    order = serializers.IntegerField(source="sales_order_id", read_only=True)
    reference = serializers.CharField(source="sales_order.order.reference", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    lines = FulfilmentItemSerializer(many=True, read_only=True)
    tracking_events = TrackingEventSerializer(many=True, read_only=True)

    class Meta:
        model = Fulfilment
        fields = (
            "id",
            "order",
            "reference",
            "warehouse",
            "state",
            "carrier",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "marketplace_confirmed_at",
            "lines",
            "tracking_events",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


# --- write shapes -----------------------------------------------------------------------------


class ShipLineSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    line = serializers.IntegerField(min_value=1, max_value=10**18 - 1)
    quantity = qty(min_value=Decimal("0"))


class ShipSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    carrier = StrictCharField(max_length=CARRIER_MAX)
    tracking_number = StrictCharField(
        max_length=TRACKING_MAX, required=False, allow_blank=True, default=""
    )
    lines = ShipLineSerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=SHIP_LINES_MAX,  # type: ignore[call-arg]
        help_text="Shipped quantity per order line; omit to ship every line in full.",
    )
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def ship_lines(self) -> list[ShipLine] | None:
        lines = self.validated_data.get("lines")
        if lines is None:
            return None
        return [ShipLine(line_id=item["line"], quantity=item["quantity"]) for item in lines]


class FulfilmentReasonSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class EmptySerializer(StrictKeysMixin, serializers.Serializer[Any]):
    pass


class DeliverSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TrackingCreateSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=[(c, c) for c in TRACKING_CODES])
    occurred_at = serializers.DateTimeField()
    description = StrictCharField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True, default=""
    )
    location = StrictCharField(
        max_length=LOCATION_MAX, required=False, allow_blank=True, default=""
    )


# --- forecast ---------------------------------------------------------------------------------


class ForecastQuerySerializer(StrictKeysMixin, serializers.Serializer[Any]):
    """Query parameters of ``GET /forecast/``; each bad value is a 400 naming it."""

    warehouse = TenantSlugRelatedField(model=Warehouse, slug_field="code", required=False)
    sku = TenantSlugRelatedField(model=Product, slug_field="sku", required=False)
    at_risk = serializers.ChoiceField(
        choices=[("true", "true"), ("false", "false")], required=False, default="false"
    )
    service_level = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=SERVICE_LEVEL_MIN,
        max_value=SERVICE_LEVEL_MAX,
        required=False,
        default=None,
    )
    alpha = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=Decimal("1"),
        required=False,
        default=None,
    )
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, required=False, default=0)


class ForecastRowSerializer(serializers.Serializer[Any]):
    warehouse = serializers.CharField()
    sku = serializers.CharField()
    product_name = serializers.CharField()
    method = serializers.CharField()
    history_days = serializers.IntegerField()
    zero_share = serializers.DecimalField(max_digits=6, decimal_places=4)
    daily_forecast = serializers.DecimalField(max_digits=20, decimal_places=4)
    sigma = serializers.DecimalField(max_digits=20, decimal_places=4)
    lead_time_days = serializers.IntegerField()
    lead_time_demand = serializers.DecimalField(max_digits=20, decimal_places=3)
    safety_stock = serializers.DecimalField(max_digits=20, decimal_places=3)
    reorder_point = serializers.DecimalField(max_digits=20, decimal_places=3)
    on_hand = serializers.DecimalField(max_digits=14, decimal_places=3)
    allocated = serializers.DecimalField(max_digits=14, decimal_places=3)
    reserved = serializers.DecimalField(max_digits=14, decimal_places=3)
    available = serializers.DecimalField(max_digits=14, decimal_places=3)
    stockout_date = serializers.DateField(allow_null=True)
    at_risk = serializers.BooleanField()
