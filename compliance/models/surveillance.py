"""Post-trade surveillance state: scan cursors, per-tenant detector settings, pre-clearances.

A scan reads only what arrived since its detector's cursor (executions, trade orders and
restricted-list entries, each by id), so scans are incremental and a scan with nothing new
reads (almost) nothing. Detector parameters default in code
(``compliance.surveillance.registry``); a tenant overrides them per detector with a
:class:`SurveillanceSetting`.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from compliance.models.alerts import AlertSeverity
from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager
from trading.models.fields import qty_field


class Detector(models.TextChoices):
    WASH_TRADE = "wash_trade", "Wash trades"
    SPOOFING = "spoofing", "Spoofing / layering"
    ORDER_TO_TRADE = "order_to_trade", "Order-to-trade ratio"
    MARKING_CLOSE = "marking_close", "Marking the close"
    FRONT_RUNNING = "front_running", "Front running"
    RESTRICTED_TRADING = "restricted_trading", "Trading before a restricted-list addition"
    PERSONAL_DEALING = "personal_dealing", "Personal dealing without pre-clearance"
    HOLDING_PERIOD = "holding_period", "Sale inside the minimum holding period"


class ScanCursor(TenantOwned):
    """Where a detector's last scan of a tenant stopped (ids are inclusive high-water marks)."""

    detector = models.CharField(max_length=32, choices=Detector.choices)
    last_execution_id = models.BigIntegerField(default=0)
    last_order_id = models.BigIntegerField(default=0)
    last_restricted_id = models.BigIntegerField(default=0)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    alerts_raised = models.PositiveIntegerField(default=0, help_text="Over all scans.")

    objects: ClassVar[TenantManager[ScanCursor]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("detector",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "detector"], name="scan_cursor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.detector}@{self.last_execution_id}"


class SurveillanceSetting(TenantOwned):
    """A tenant's configuration of one detector: on/off, alert severity, parameter overrides
    (keys the detector does not know are refused by the service)."""

    detector = models.CharField(max_length=32, choices=Detector.choices)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(
        max_length=10, choices=AlertSeverity.choices, blank=True, default="",
        help_text="Empty: the detector's default severity.",
    )  # fmt: skip
    params = models.JSONField(default=dict, encoder=DjangoJSONEncoder, blank=True)

    objects: ClassVar[TenantManager[SurveillanceSetting]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("detector",)
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "detector"], name="surveillance_setting_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.detector} ({'on' if self.enabled else 'off'})"


class PreClearanceSide(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell (also covers a short sale)"


class PreClearance(TenantOwned):
    """Compliance's approval of an employee's personal trade: up to ``quantity`` of the
    instrument on that side, executed between ``valid_from`` and ``valid_to``."""

    account = models.ForeignKey("trading.Account", on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey("trading.Instrument", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=PreClearanceSide.choices)
    quantity = qty_field()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, default="")

    objects: ClassVar[TenantManager[PreClearance]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-valid_from", "-id")
        indexes = [
            models.Index(fields=["tenant", "account", "instrument"], name="preclearance_lookup"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="preclearance_qty_gt0"),
            models.CheckConstraint(
                condition=models.Q(valid_to__gt=models.F("valid_from")),
                name="preclearance_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.instrument_id} for {self.account_id}"
