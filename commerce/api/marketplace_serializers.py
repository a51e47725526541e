"""Serializers of the channel and sync-run API. Credentials are write-only: the output shows
which keys are set (``credentials_set``), never a value."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from commerce.models import Channel, SyncRun, Warehouse
from oms_site.api.fields import StrictCharField
from tenancy.api import TenantPrimaryKeyRelatedField


class CredentialsField(serializers.DictField):
    """A JSON object of string values; write-only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=StrictCharField(allow_blank=True, max_length=4000), **kwargs)


class ChannelSerializer(serializers.ModelSerializer):
    credentials = CredentialsField(write_only=True, required=False)
    credentials_set = serializers.SerializerMethodField()
    store = TenantPrimaryKeyRelatedField(model=Warehouse, required=False, allow_null=True)
    code = StrictCharField(max_length=32)
    name = StrictCharField(max_length=200)
    endpoint = serializers.URLField(max_length=500, required=False, allow_blank=True)
    auth_endpoint = serializers.URLField(max_length=500, required=False, allow_blank=True)

    class Meta:
        model = Channel
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "endpoint",
            "auth_endpoint",
            "credentials",
            "credentials_set",
            "marketplace_id",
            "timezone",
            "currency",
            "allow_split_shipments",
            "store",
            "sync_enabled",
            "sync_overlap_seconds",
            "watermark",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "watermark", "created_at", "updated_at", "credentials_set"]

    def get_credentials_set(self, obj: Channel) -> list[str]:
        return sorted(k for k, v in (obj.credentials or {}).items() if v)


class SyncRunSerializer(serializers.ModelSerializer):
    channel_code = serializers.CharField(source="channel.code", read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "channel",
            "channel_code",
            "status",
            "trigger",
            "started_at",
            "finished_at",
            "window_start",
            "window_end",
            "pages",
            "created",
            "updated",
            "skipped",
            "errors",
            "retries",
            "progress",
            "error_detail",
            "created_at",
        ]
        read_only_fields = fields


class SyncStartedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    status = serializers.CharField()
