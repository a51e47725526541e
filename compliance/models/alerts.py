"""Compliance alerts, their append-only notes and their append-only action journal.

An alert is raised by a pre-trade rule (a ``warn`` finding), a surveillance detector or a fraud
check, and is then worked by compliance officers through a four-eyes workflow::

    new -> assigned -> in_review <-> escalated -> pending_approval -> closed -> reopened
                                        ^                |                       |
                                        +---- refused ---+        reopened -> assigned/in_review

``status`` is protected: it changes only through the transition methods below, which the
services in ``compliance.services.alerts`` call under a row lock and journal as
:class:`AlertAction` rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pgtrigger
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager, TenantQuerySet


class AlertSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class AlertStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_REVIEW = "in_review", "In review"
    ESCALATED = "escalated", "Escalated"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class Disposition(models.TextChoices):
    FALSE_POSITIVE = "false_positive", "False positive"
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    TRUE_POSITIVE = "true_positive", "True positive"
    REPORTED = "reported", "Reported to the regulator"
    DUPLICATE = "duplicate", "Duplicate"


class ReportType(models.TextChoices):
    STR = "STR", "Suspicious transaction and order report (STOR/STR)"
    SAR = "SAR", "Suspicious activity report (SAR)"
    OTHER = "other", "Other regulatory report"


class AlertActionKind(models.TextChoices):
    RAISED = "raised", "Raised"
    ASSIGNED = "assigned", "Assigned"
    REVIEW_STARTED = "review_started", "Review started"
    ESCALATED = "escalated", "Escalated"
    DEESCALATED = "deescalated", "De-escalated"
    CLOSE_PROPOSED = "close_proposed", "Closure proposed"
    CLOSE_APPROVED = "close_approved", "Closure approved"
    CLOSE_REFUSED = "close_refused", "Closure refused"
    REOPENED = "reopened", "Reopened"
    NOTE_ADDED = "note_added", "Note added"


A = AlertStatus
OPEN_STATUSES = frozenset({A.NEW, A.ASSIGNED, A.IN_REVIEW, A.ESCALATED, A.REOPENED})


class Alert(FSMModelMixin, TenantOwned):
    """One suspicious fact that a compliance officer must review and close with a disposition.

    Evidence is kept twice: ``evidence`` holds the detector's own figures (free JSON), while
    ``order_ids``, ``execution_ids`` and ``account_codes`` hold the ids it concerns so the
    review queue, the audit export and the admin can link to them. ``order`` is the one order an
    order-level alert is about (pre-trade screening, fraud), null for pattern alerts spanning
    several orders (their ids are in ``order_ids``).
    """

    rule = models.CharField(max_length=64, db_index=True)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices, db_index=True)
    status = FSMField(default=A.NEW, choices=A.choices, protected=True, db_index=True)
    title = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, encoder=DjangoJSONEncoder, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order_ids = models.JSONField(default=list, blank=True)
    execution_ids = models.JSONField(default=list, blank=True)
    account_codes = models.JSONField(default=list, blank=True)
    account_code = models.CharField(max_length=64, blank=True, default="", db_index=True)
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(
        max_length=20, choices=Disposition.choices, blank=True, default=""
    )
    disposition_reason = models.CharField(max_length=2000, blank=True, default="")
    report_type = models.CharField(
        max_length=10, choices=ReportType.choices, blank=True, default=""
    )
    report_reference = models.CharField(max_length=100, blank=True, default="")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[TenantManager[Alert]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="alert_unique_dedupe_key",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="alert_queue"),
            models.Index(fields=["tenant", "order"], name="alert_by_order"),
        ]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.rule} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    # --- transitions: services lock, validate, persist and journal --------------------------

    @transition(field=status, source=[A.NEW, A.ASSIGNED, A.REOPENED], target=A.ASSIGNED)
    def assign(self) -> None:
        pass

    @transition(field=status, source=[A.ASSIGNED, A.REOPENED], target=A.IN_REVIEW)
    def start_review(self) -> None:
        pass

    @transition(field=status, source=A.IN_REVIEW, target=A.ESCALATED)
    def escalate(self) -> None:
        pass

    @transition(field=status, source=A.ESCALATED, target=A.IN_REVIEW)
    def deescalate(self) -> None:
        pass

    @transition(field=status, source=[A.IN_REVIEW, A.ESCALATED], target=A.PENDING_APPROVAL)
    def propose_close(self) -> None:
        pass

    @transition(field=status, source=A.PENDING_APPROVAL, target=A.CLOSED)
    def approve_close(self) -> None:
        pass

    @transition(field=status, source=A.PENDING_APPROVAL, target=A.IN_REVIEW)
    def refuse_close(self) -> None:
        pass

    @transition(field=status, source=A.CLOSED, target=A.REOPENED)
    def reopen(self) -> None:
        pass


class AppendOnlyError(RuntimeError):
    pass


class _AppendOnlyQuerySet(TenantQuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")


_AppendOnlyManager = TenantManager.from_queryset(_AppendOnlyQuerySet)


class _AppendOnly(TenantOwned):
    """Rows are inserted, never changed: Python refuses, and a PostgreSQL trigger too."""

    updated_at = None  # type: ignore[assignment]

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class AlertNote(_AppendOnly):
    """A reviewer's note on an alert. Corrections are new notes; nothing is edited."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(max_length=150, default="system")
    text = models.TextField()

    objects: ClassVar[TenantManager[AlertNote]] = _AppendOnlyManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("created_at", "id")
        triggers = [
            pgtrigger.Protect(
                name="alert_note_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"note #{self.pk} on alert #{self.alert_id}"


class AlertAction(_AppendOnly):
    """The alert journal: one row per action (raise, each transition, each note)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=32, choices=AlertActionKind.choices)
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, default="system")
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    objects: ClassVar[TenantManager[AlertAction]] = _AppendOnlyManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            models.Index(fields=["tenant", "alert", "created_at"], name="alert_action_by_alert")
        ]
        triggers = [
            pgtrigger.Protect(
                name="alert_action_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"
