"""Stock per (warehouse, product) and time-limited reservations."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import F, Q

from commerce.models.catalog import Product, Warehouse
from commerce.models.fields import qty_field
from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager


class Stock(TenantOwned):
    """``available = on_hand - allocated - reserved``; the database refuses anything below zero.

    Writers lock the row (``select_for_update``, ordered by pk) or use guarded ``F()`` updates;
    the check constraints are the last line of defence against oversell.
    """

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock")
    on_hand = qty_field(default=Decimal("0"))
    allocated = qty_field(default=Decimal("0"))
    reserved = qty_field(default=Decimal("0"))

    objects: ClassVar[TenantManager[Stock]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("warehouse_id", "product_id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "warehouse", "product"], name="stock_unique_warehouse_product"
            ),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_gte0"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stock_allocated_gte0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_gte0"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("allocated") + F("reserved")),
                name="stock_available_gte0",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "product"], name="stock_tenant_product")]

    def __str__(self) -> str:
        return f"{self.warehouse_id}/{self.product_id}: {self.available}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.allocated - self.reserved


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"  # expired or given up: stock returned
    CONSUMED = "consumed", "Consumed"  # turned into an allocation of the order


class Reservation(TenantOwned):
    """Stock held for a cart or an order awaiting payment until ``expires_at``; a beat task
    releases expired ones."""

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    sales_order = models.ForeignKey(
        "commerce.SalesOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reservations",
    )
    reference = models.CharField(
        max_length=64, blank=True, default="", help_text="Cart or session id of the holder."
    )
    quantity = qty_field()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()

    objects: ClassVar[TenantManager[Reservation]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("expires_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_qty_gt0"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="reservation_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk} ({self.status})"
