"""Returns (RMA): requested -> approved | declined -> received -> restocked | rejected."""

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


class ReturnState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    RECEIVED = "received", "Received"
    RESTOCKED = "restocked", "Restocked"
    REJECTED = "rejected", "Rejected (damaged)"


R = ReturnState


class Return(TenantOwned):
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="returns")
    rma_number = models.CharField(max_length=32)
    state = FSMField(default=R.REQUESTED, choices=R.choices, protected=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    resolution_note = models.CharField(max_length=500, blank=True, default="")
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="returns",
        help_text="Where the goods come back to (restocking goes there).",
    )
    exchange_order = models.OneToOneField(
        SalesOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchange_for",
        help_text="The replacement order of an exchange.",
    )

    objects: ClassVar[TenantManager[Return]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rma_number"], name="return_unique_rma"),
        ]

    def __str__(self) -> str:
        return self.rma_number

    @transition(field=state, source=R.REQUESTED, target=R.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=state, source=R.REQUESTED, target=R.DECLINED)
    def decline(self) -> None:
        pass

    @transition(field=state, source=R.APPROVED, target=R.RECEIVED)
    def receive(self) -> None:
        pass

    @transition(field=state, source=R.RECEIVED, target=R.RESTOCKED)
    def restock(self) -> None:
        pass

    @transition(field=state, source=R.RECEIVED, target=R.REJECTED)
    def reject(self) -> None:
        pass


class ReturnLine(TenantOwned):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = qty_field()
    restock = models.BooleanField(default=True)
    restocked_quantity = qty_field(
        default=Decimal("0"), help_text="Units already put back into stock (by a refund)."
    )

    objects: ClassVar[TenantManager[ReturnLine]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("return_request_id", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "return_request", "line"], name="return_line_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_qty_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x {self.quantity}"
