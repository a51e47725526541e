from __future__ import annotations

from typing import Any

from rest_framework import serializers

from oms_site.api.fields import StrictCharField, StrictRegexField
from orders.models import HUMAN_TRANSITIONS, Order, OrderEvent, OrderKind

CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-/]{0,63}$"


class OrderSerializer(serializers.ModelSerializer[Order]):
    created_by = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = (
            "id",
            "reference",
            "kind",
            "client_order_id",
            "status",
            "status_reason",
            "note",
            "expires_at",
            "created_by",
            "created_at",
            "updated_at",
            "allowed_transitions",
        )
        read_only_fields = fields

    def get_created_by(self, obj: Order) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None

    def get_allowed_transitions(self, obj: Order) -> list[str]:
        """The transitions the caller's role may request on this order now."""
        request = self.context.get("request")
        if request is None:
            return []
        available = {t.name for t in obj.get_available_user_status_transitions(request.user)}  # type: ignore[attr-defined]
        return [name for name in HUMAN_TRANSITIONS if name in available]


class OrderCreateSerializer(serializers.Serializer[Any]):
    """A generic order with no domain detail (kind-specific endpoints add their own fields)."""

    kind = serializers.ChoiceField(choices=OrderKind.choices)
    client_order_id = StrictRegexField(
        CLIENT_ID_PATTERN,
        max_length=64,
        error_messages={"invalid": "Use 1-64 characters: letters, digits and . _ : - /"},
    )
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    submit = serializers.BooleanField(required=False, default=True)


class TransitionRequestSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class OrderEventSerializer(serializers.ModelSerializer[OrderEvent]):
    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = OrderEvent
        fields = ("id", "kind", "from_status", "to_status", "actor", "reason", "data", "created_at")
        read_only_fields = fields
