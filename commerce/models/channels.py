"""Sales channels (marketplaces, web shop, point of sale) and their sync bookkeeping."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from commerce.models.catalog import Warehouse
from tenancy.models import TenantOwned, validate_timezone
from tenancy.scoping import TenantManager


class ChannelKind(models.TextChoices):
    AMAZON = "amazon", "Amazon"
    EBAY = "ebay", "eBay"
    ALIEXPRESS = "aliexpress", "AliExpress"
    SHOPIFY = "shopify", "Shopify"
    WEB = "web", "Web shop"
    POS = "pos", "Point of sale"


MARKETPLACE_KINDS = frozenset(
    {ChannelKind.AMAZON, ChannelKind.EBAY, ChannelKind.ALIEXPRESS, ChannelKind.SHOPIFY}
)


class Channel(TenantOwned):
    """Where orders come from. Marketplace channels carry the connector settings:
    ``endpoint`` (the API base URL, so tests and the sandbox point it at a local server) and
    ``credentials`` (secrets: written through the API and admin, never echoed back)."""

    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    endpoint = models.URLField(max_length=500, blank=True, default="")
    auth_endpoint = models.URLField(
        max_length=500, blank=True, default="", help_text="Token endpoint (Amazon LWA)."
    )
    credentials = models.JSONField(default=dict, blank=True)
    marketplace_id = models.CharField(max_length=64, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, blank=True, default="")
    allow_split_shipments = models.BooleanField(default=True)
    store = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Point of sale: the store whose stock is handed over at once.",
    )
    sync_enabled = models.BooleanField(default=True)
    sync_overlap_seconds = models.PositiveIntegerField(
        default=300, help_text="Each sync re-reads this much before the watermark."
    )
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="Changes up to here are imported."
    )
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Channel]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="channel_unique_code"),
            # The key of the (tenant, channel) foreign key of ``SalesOrder`` (PostgreSQL: see
            # commerce/migrations/0002_tenant_composite_keys.py).
            models.UniqueConstraint(fields=["tenant", "id"], name="channel_unique_tenant_id"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_marketplace(self) -> bool:
        return self.kind in MARKETPLACE_KINDS


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SyncRun(TenantOwned):
    """One import run of a channel. ``page_token``/``page_offset`` and ``window_*`` let a retried
    run resume from the saved page; the channel's watermark moves only once the run has paged
    to the end."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="sync_runs")
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    trigger = models.CharField(max_length=16, default="beat")  # beat | manual | webhook
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    page_token = models.CharField(max_length=2000, blank=True, default="")
    page_offset = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    total_expected = models.PositiveIntegerField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    error_detail = models.TextField(blank=True, default="")

    objects: ClassVar[TenantManager[SyncRun]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="sync_progress_le100"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "channel", "-created_at"], name="syncrun_by_channel"),
        ]

    def __str__(self) -> str:
        return f"sync {self.pk} {self.channel_id} {self.status}"


class WebhookEvent(TenantOwned):
    """A received marketplace webhook; the unique event id drops duplicate deliveries."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="webhook_events")
    event_id = models.CharField(max_length=128)
    topic = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128, blank=True, default="")

    objects: ClassVar[TenantManager[WebhookEvent]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "event_id"], name="webhook_event_unique_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"
