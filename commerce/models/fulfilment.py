"""Allocations of order lines to warehouses, fulfilments (one per warehouse), tracking."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from commerce.models.catalog import Warehouse
from commerce.models.fields import qty_field
from commerce.models.sales import SalesOrder, SalesOrderLine
from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", "Active"  # stock allocated, not yet shipped
    SHIPPED = "shipped", "Shipped"
    RELEASED = "released", "Released"  # cancelled or moved: stock returned


class Allocation(TenantOwned):
    """``quantity`` of an order line allocated in one warehouse (``Stock.allocated`` holds it)."""

    sales_order = models.ForeignKey(
        SalesOrder, on_delete=models.CASCADE, related_name="allocations"
    )
    line = models.ForeignKey(SalesOrderLine, on_delete=models.CASCADE, related_name="allocations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="allocations")
    quantity = qty_field()
    distance_km = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AllocationStatus.choices, default=AllocationStatus.ACTIVE
    )

    objects: ClassVar[TenantManager[Allocation]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sales_order_id", "line_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="allocation_qty_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}@{self.warehouse_id} x {self.quantity}"


class FulfilmentState(models.TextChoices):
    PENDING = "pending", "Pending"
    PICKING = "picking", "Picking"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELED = "canceled", "Canceled"


F_ = FulfilmentState


class Fulfilment(TenantOwned):
    """What one warehouse sends for an order: pending -> picking -> packed -> shipped ->
    delivered; cancellable before shipping (the services release its stock)."""

    sales_order = models.ForeignKey(
        SalesOrder, on_delete=models.PROTECT, related_name="fulfilments"
    )
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="fulfilments")
    state = FSMField(default=F_.PENDING, choices=F_.choices, protected=True)
    carrier = models.CharField(max_length=64, blank=True, default="")
    tracking_number = models.CharField(max_length=128, blank=True, default="")
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    marketplace_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the shipment was confirmed back to the marketplace."
    )

    objects: ClassVar[TenantManager[Fulfilment]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sales_order_id", "id")

    def __str__(self) -> str:
        return f"fulfilment {self.pk} ({self.state})"

    @transition(field=state, source=F_.PENDING, target=F_.PICKING)
    def start_picking(self) -> None:
        pass

    @transition(field=state, source=F_.PICKING, target=F_.PACKED)
    def pack(self) -> None:
        pass

    @transition(field=state, source=[F_.PENDING, F_.PICKING, F_.PACKED], target=F_.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(field=state, source=F_.SHIPPED, target=F_.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=state, source=[F_.PENDING, F_.PICKING, F_.PACKED], target=F_.CANCELED)
    def cancel(self) -> None:
        pass


class FulfilmentLine(TenantOwned):
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(
        SalesOrderLine, on_delete=models.PROTECT, related_name="fulfilment_lines"
    )
    quantity = qty_field()
    shipped_quantity = qty_field(default=Decimal("0"))

    objects: ClassVar[TenantManager[FulfilmentLine]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("fulfilment_id", "line_id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fulfilment", "line"], name="fulfilment_line_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfilment_line_qty_gt0"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0)
                & Q(shipped_quantity__lte=models.F("quantity")),
                name="fulfilment_line_shipped_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x {self.quantity}"


class TrackingEvent(TenantOwned):
    """A carrier scan. ``(fulfilment, code, occurred_at)`` is unique: a re-delivered event is
    recorded once."""

    fulfilment = models.ForeignKey(
        Fulfilment, on_delete=models.CASCADE, related_name="tracking_events"
    )
    code = models.CharField(max_length=32)  # e.g. in_transit, out_for_delivery, delivered
    description = models.CharField(max_length=300, blank=True, default="")
    location = models.CharField(max_length=200, blank=True, default="")
    occurred_at = models.DateTimeField()

    objects: ClassVar[TenantManager[TrackingEvent]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("fulfilment_id", "occurred_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fulfilment", "code", "occurred_at"],
                name="tracking_event_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} @ {self.occurred_at:%Y-%m-%d %H:%M}"
