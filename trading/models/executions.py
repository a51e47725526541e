from __future__ import annotations

from typing import Any, ClassVar

import pgtrigger
from django.db import models

from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager
from trading.models.fields import money_field, price_field, qty_field
from trading.models.orders import FixOrdStatus, TradeOrder, VenueOrder
from trading.models.reference import Venue


class Liquidity(models.TextChoices):
    ADDED = "added", "Added (maker)"
    REMOVED = "removed", "Removed (taker)"
    AUCTION = "auction", "Auction"


class Execution(TenantOwned):
    """A fill reported by a venue. ``exec_id`` is applied once per tenant."""

    exec_id = models.CharField(max_length=64)
    order = models.ForeignKey(TradeOrder, on_delete=models.PROTECT, related_name="executions")
    venue_order = models.ForeignKey(
        VenueOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="executions"
    )
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_qty = qty_field()
    last_px = price_field()
    fee = money_field(default=0)
    liquidity = models.CharField(max_length=8, choices=Liquidity.choices)
    transacted_at = models.DateTimeField()
    updated_at = None  # type: ignore[assignment]

    objects: ClassVar[TenantManager[Execution]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "exec_id"], name="execution_unique_exec_id"),
            models.CheckConstraint(condition=models.Q(last_qty__gt=0), name="execution_qty_gt0"),
            models.CheckConstraint(condition=models.Q(last_px__gt=0), name="execution_px_gt0"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="execution_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exec_id}: {self.last_qty}@{self.last_px}"


class ExecType(models.TextChoices):
    """FIX 4.4 ExecType (tag 150): value = the FIX code."""

    NEW = "0", "New"
    DONE_FOR_DAY = "3", "DoneForDay"
    CANCELED = "4", "Canceled"
    REPLACED = "5", "Replaced"
    PENDING_CANCEL = "6", "PendingCancel"
    REJECTED = "8", "Rejected"
    PENDING_NEW = "A", "PendingNew"
    EXPIRED = "C", "Expired"
    RESTATED = "D", "Restated"
    PENDING_REPLACE = "E", "PendingReplace"
    TRADE = "F", "Trade"


class ExecutionReport(TenantOwned):
    """The order's FIX execution reports, as a client would receive them (append-only)."""

    order = models.ForeignKey(TradeOrder, on_delete=models.PROTECT, related_name="reports")
    exec_id = models.CharField(max_length=64)
    exec_type = models.CharField(max_length=1, choices=ExecType.choices)
    ord_status = models.CharField(max_length=1, choices=FixOrdStatus.choices)
    order_qty = qty_field()
    last_qty = qty_field(default=0)
    last_px = price_field(default=0)
    cum_qty = qty_field()
    leaves_qty = qty_field()
    avg_px = price_field()
    execution = models.OneToOneField(
        Execution, null=True, blank=True, on_delete=models.PROTECT, related_name="report"
    )
    text = models.CharField(max_length=500, blank=True, default="")
    updated_at = None  # type: ignore[assignment]

    objects: ClassVar[TenantManager[ExecutionReport]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "exec_id"], name="report_unique_exec_id"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="execution_report_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exec_id} {self.get_exec_type_display()}/{self.get_ord_status_display()}"

    def as_fix(self) -> dict[str, Any]:
        return {
            "ExecType": self.get_exec_type_display(),
            "OrdStatus": self.get_ord_status_display(),
            "CumQty": self.cum_qty,
            "LeavesQty": self.leaves_qty,
            "LastQty": self.last_qty,
            "AvgPx": self.avg_px,
        }
