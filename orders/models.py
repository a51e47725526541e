"""The common order (one table for every kind), its workflow and its journal."""

from __future__ import annotations

from typing import Any, ClassVar

import pgtrigger
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from orders import permissions as perm
from tenancy.models import Tenant, TenantOwned
from tenancy.scoping import TenantManager, TenantQuerySet


class OrderKind(models.TextChoices):
    TRADE = "trade", "Trade"
    SALES = "sales", "Sales"


REFERENCE_PREFIX = {OrderKind.TRADE: "T", OrderKind.SALES: "S"}


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    HELD = "held", "Held"
    OPEN = "open", "Open"
    PARTIAL = "partial", "Partial"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


S = OrderStatus
TERMINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELED, S.REJECTED, S.EXPIRED})
LIVE_STATUSES = frozenset({S.PENDING, S.HELD, S.OPEN, S.PARTIAL})


def _tenant_active(order: Any) -> bool:
    return bool(order.tenant.active)


def _human(
    label: str, help_text: str, *, form: str | None = "orders.forms.TransitionReasonForm"
) -> dict[str, Any]:
    custom: dict[str, Any] = {"admin": True, "label": label, "help_text": help_text}
    if form:
        custom["form"] = form
    return custom


SYSTEM = {"admin": False}


class Order(FSMModelMixin, TenantOwned):
    """One row per order of any kind; the domain detail lives in a one-to-one table.

    ``status`` is protected: it changes only through the transition methods below, which the
    services in ``orders.services`` call under a row lock and journal.
    """

    # No index of the tenant column alone, nor of the status alone (one less each to write per
    # order): a tenant's orders are found through the indexes led by the tenant column
    # (references, client order ids, status, creation), the status through
    # ``order_status_expires`` (led by the status).
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    reference = models.CharField(max_length=20, editable=False)
    client_order_id = models.CharField(max_length=64)
    status = FSMField(default=S.DRAFT, choices=S.choices, protected=True)
    status_reason = models.CharField(max_length=500, blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    submission = models.JSONField(default=dict, encoder=DjangoJSONEncoder, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects: ClassVar[TenantManager[Order]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], name="order_unique_reference"),
            models.UniqueConstraint(
                fields=["tenant", "kind", "client_order_id"], name="order_unique_client_order_id"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="order_tenant_status"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="order_tenant_created"),
            models.Index(fields=["status", "expires_at"], name="order_status_expires"),
        ]

    def __str__(self) -> str:
        return self.reference or f"order #{self.pk}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    # --- transitions: bodies record the reason; services journal and persist -----------------

    def _set_reason(self, reason: str) -> None:
        self.status_reason = (reason or "")[:500]

    @transition(
        field=status,
        source=S.DRAFT,
        target=S.PENDING,
        conditions=[_tenant_active],
        permission=perm.can_enter,
        custom=_human("Submit", "Submit the draft for screening.", form=None),
    )
    def submit(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=S.PENDING,
        target=S.OPEN,
        conditions=[_tenant_active],
        permission=perm.system_only,
        custom=SYSTEM,
    )
    def accept(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=S.PENDING,
        target=S.HELD,
        conditions=[_tenant_active],
        permission=perm.system_only,
        custom=SYSTEM,
    )
    def hold(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=S.HELD,
        target=S.OPEN,
        conditions=[_tenant_active],
        permission=perm.can_review,
        custom=_human("Approve", "Release the held order; the reason is journaled."),
    )
    def approve(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=[S.PENDING, S.HELD],
        target=S.REJECTED,
        conditions=[_tenant_active],
        permission=perm.can_reject,
        custom=_human("Reject", "Decline the held order; the reason is journaled."),
    )
    def reject(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=[S.OPEN, S.PARTIAL],
        target=S.PARTIAL,
        conditions=[_tenant_active],
        permission=perm.system_only,
        custom=SYSTEM,
    )
    def fill_partially(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=[S.OPEN, S.PARTIAL],
        target=S.COMPLETED,
        conditions=[_tenant_active],
        permission=perm.system_only,
        custom=SYSTEM,
    )
    def complete(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=[S.DRAFT, S.PENDING, S.HELD, S.OPEN, S.PARTIAL],
        target=S.CANCELED,
        conditions=[_tenant_active],
        permission=perm.can_cancel,
        custom=_human("Cancel", "Cancel the order; the reason is journaled."),
    )
    def cancel(self, reason: str = "") -> None:
        self._set_reason(reason)

    @transition(
        field=status,
        source=[S.OPEN, S.PARTIAL],
        target=S.EXPIRED,
        conditions=[_tenant_active],
        permission=perm.system_only,
        custom=SYSTEM,
    )
    def expire(self, reason: str = "") -> None:
        self._set_reason(reason)


class OrderSequence(TenantOwned):
    """Gapless reference counter per (tenant, kind), incremented inside the creating transaction."""

    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    last_value = models.PositiveBigIntegerField(default=0)

    objects: ClassVar[TenantManager[OrderSequence]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="order_sequence_unique_kind"),
        ]


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    SCREENED = "screened", "Screened"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    HELD = "held", "Held"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    NOTE = "note", "Note"
    CANCEL_REQUESTED = "cancel_requested", "Cancel requested"
    CANCEL_REJECTED = "cancel_rejected", "Cancel rejected"
    REPLACE_REQUESTED = "replace_requested", "Replace requested"
    REPLACED = "replaced", "Replaced"
    REPLACE_REJECTED = "replace_rejected", "Replace rejected"
    ROUTED = "routed", "Routed"
    # Commerce: stock, fulfilment, money and after-sales actions on a sales order.
    IMPORTED = "imported", "Imported"
    MARKETPLACE_UPDATED = "marketplace_updated", "Marketplace update"
    RESERVED = "reserved", "Stock reserved"
    RESERVATION_RELEASED = "reservation_released", "Reservation released"
    ALLOCATED = "allocated", "Allocated"
    ALLOCATION_MOVED = "allocation_moved", "Allocation moved"
    BACKORDERED = "backordered", "Backordered"
    FULFILMENT_UPDATED = "fulfilment_updated", "Fulfilment updated"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    SHIPMENT_CONFIRMED = "shipment_confirmed", "Shipment confirmed to marketplace"
    PAYMENT = "payment", "Payment operation"
    REFUNDED = "refunded", "Refunded"
    RETURN_UPDATED = "return_updated", "Return updated"
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    EXCHANGE_CREATED = "exchange_created", "Exchange created"


TRANSITION_EVENTS: dict[str, str] = {
    "submit": EventKind.SUBMITTED,
    "accept": EventKind.ACCEPTED,
    "hold": EventKind.HELD,
    "approve": EventKind.APPROVED,
    "reject": EventKind.REJECTED,
    "fill_partially": EventKind.PARTIALLY_FILLED,
    "complete": EventKind.COMPLETED,
    "cancel": EventKind.CANCELED,
    "expire": EventKind.EXPIRED,
}
HUMAN_TRANSITIONS = ("submit", "approve", "reject", "cancel")


class AppendOnlyError(RuntimeError):
    pass


class OrderEventQuerySet(TenantQuerySet["OrderEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("The order journal is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The order journal is append-only.")


OrderEventManager = TenantManager.from_queryset(OrderEventQuerySet)


class OrderEvent(TenantOwned):
    """The append-only journal: one row per transition and per significant action.

    On PostgreSQL a trigger refuses UPDATE and DELETE; in Python, ``save`` of an existing row,
    ``delete`` and queryset ``update``/``delete`` raise :class:`AppendOnlyError`.
    """

    # No index of the tenant column alone (one less to write per row): the journal is read
    # through ``order_event_by_order`` (tenant, order, time).
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, default="system")
    reason = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    updated_at = None  # type: ignore[assignment]

    objects: ClassVar[TenantManager[OrderEvent]] = OrderEventManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            models.Index(fields=["tenant", "order", "created_at"], name="order_event_by_order")
        ]
        triggers = [
            pgtrigger.Protect(
                name="order_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The order journal is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The order journal is append-only.")
