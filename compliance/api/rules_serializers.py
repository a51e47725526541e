"""Serializers of the pre-trade configuration API (input shapes; services validate the rest)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from compliance.models import (
    KillSwitch,
    KillSwitchScope,
    Locate,
    Override,
    RestrictedListEntry,
    Rule,
    RuleKind,
    RuleScope,
    RuleSeverity,
    ScreeningResult,
    WatchListEntry,
)
from tenancy.api import TenantPrimaryKeyRelatedField
from trading.models import Account, Instrument


class _TenantUserField(serializers.PrimaryKeyRelatedField):
    """A user id among the request tenant's members: another tenant's user fails exactly like
    an id no user has (their existence is not told). Whether the member may trade is the
    service's check (400 ``trader``)."""

    def get_queryset(self) -> Any:
        users = get_user_model().objects.all()
        tenant = self.context.get("tenant")
        if tenant is None:
            return users.none()
        return users.filter(memberships__tenant=tenant).distinct()


class RuleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    scope = serializers.ChoiceField(choices=RuleScope.choices, default=RuleScope.TENANT)
    severity = serializers.ChoiceField(choices=RuleSeverity.choices, default=RuleSeverity.HARD)
    params = serializers.JSONField(default=dict)
    account = TenantPrimaryKeyRelatedField(model=Account, required=False, allow_null=True)
    instrument = TenantPrimaryKeyRelatedField(model=Instrument, required=False, allow_null=True)
    trader = _TenantUserField(required=False, allow_null=True)

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "kind",
            "params",
            "scope",
            "account",
            "instrument",
            "trader",
            "severity",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []  # the unique name is the constraint's job (service -> 400)


class _ListEntrySerializer(serializers.ModelSerializer):
    instrument = TenantPrimaryKeyRelatedField(model=Instrument, required=False, allow_null=True)
    issuer = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500)

    class Meta:
        fields = ["id", "instrument", "issuer", "reason", "added_by", "active", "created_at"]
        read_only_fields = ["id", "added_by", "active", "created_at"]


class RestrictedEntrySerializer(_ListEntrySerializer):
    class Meta(_ListEntrySerializer.Meta):
        model = RestrictedListEntry


class WatchEntrySerializer(_ListEntrySerializer):
    class Meta(_ListEntrySerializer.Meta):
        model = WatchListEntry


class LocateSerializer(serializers.ModelSerializer):
    account = TenantPrimaryKeyRelatedField(model=Account)
    instrument = TenantPrimaryKeyRelatedField(model=Instrument)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=0)

    class Meta:
        model = Locate
        fields = ["id", "account", "instrument", "quantity", "date", "source"]
        read_only_fields = ["id"]
        validators: list[Any] = []


class KillSwitchSerializer(serializers.ModelSerializer):
    scope = serializers.ChoiceField(choices=KillSwitchScope.choices)
    account = TenantPrimaryKeyRelatedField(model=Account, required=False, allow_null=True)
    trader = _TenantUserField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=500)

    class Meta:
        model = KillSwitch
        fields = [
            "id",
            "scope",
            "account",
            "trader",
            "engaged",
            "engaged_by",
            "reason",
            "canceled_orders",
            "released_by",
            "released_at",
            "release_reason",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "engaged",
            "engaged_by",
            "canceled_orders",
            "released_by",
            "released_at",
            "release_reason",
            "created_at",
        ]


class ComplianceReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OverrideSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id", min_value=1, max_value=2**62)
    justification = serializers.CharField(max_length=2000)

    class Meta:
        model = Override
        fields = [
            "id",
            "order",
            "requested_by",
            "justification",
            "status",
            "approved_by",
            "decided_at",
            "decision_reason",
            "expires_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "requested_by",
            "status",
            "approved_by",
            "decided_at",
            "decision_reason",
            "expires_at",
            "created_at",
        ]


class ScreeningResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningResult
        fields = [
            "id",
            "rule",
            "rule_name",
            "kind",
            "outcome",
            "severity",
            "values",
            "message",
            "created_at",
        ]
