"""Alert services: raising alerts and working them through the four-eyes review workflow.

Every service locks the alert row (``select_for_update``), checks the caller's role in the
alert's tenant, applies one protected FSM transition and appends one :class:`AlertAction`
journal row, all in one transaction. An illegal transition raises
:class:`~oms_site.errors.TransitionNotAllowed` (409) with nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from compliance.models.alerts import (
    Alert,
    AlertAction,
    AlertActionKind,
    AlertNote,
    AlertSeverity,
    AlertStatus,
    Disposition,
    ReportType,
)
from oms_site.errors import NotFound, PermissionDenied, TransitionNotAllowed, ValidationFailed
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role

Actor = Any  # a User, or None for the system

_EVIDENCE_LISTS = {
    "order_ids": ("orders", "order_ids"),
    "execution_ids": ("executions", "execution_ids"),
    "account_codes": ("accounts", "account_codes"),
}


def _actor_name(actor: Actor) -> str:
    return str(actor.get_username()) if actor is not None else "system"


def _action(
    *,
    alert: Alert,
    kind: str,
    actor: Actor,
    from_status: str = "",
    to_status: str = "",
    data: Mapping[str, Any] | None = None,
) -> AlertAction:
    action = AlertAction(
        tenant_id=alert.tenant_id,
        alert=alert,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_name=_actor_name(actor),
        data=dict(data or {}),
    )
    action.save(force_insert=True)
    return action


def _id_list(values: Iterable[Any]) -> list[Any]:
    """Evidence ids as a de-duplicated list in first-seen order (ids as given: int or str)."""
    seen: list[Any] = []
    for value in values:
        if value is not None and value != "" and value not in seen:
            seen.append(value)
    return seen


def _evidence_ids(evidence: Mapping[str, Any], keys: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    for key in keys:
        value = evidence.get(key)
        if isinstance(value, list | tuple):
            out.extend(v for v in value if isinstance(v, int | str) and not isinstance(v, bool))
    return out


def alert_raise(
    *,
    tenant: Tenant,
    rule: str,
    severity: str,
    title: str,
    evidence: Mapping[str, Any],
    order: Any = None,
    account_code: str = "",
    dedupe_key: str = "",
    order_ids: Iterable[int] = (),
    execution_ids: Iterable[int] = (),
    account_codes: Iterable[str] = (),
    subject_user: Any = None,
    actor: Actor = None,
) -> Alert:
    """Raise an alert (status ``new``), journaled as a ``raised`` action.

    Idempotent by ``(tenant, dedupe_key)`` when a key is given: a second call with the same key
    returns the existing alert unchanged (a unique constraint settles concurrent raisers).

    Linked ids: ``order_ids``, ``execution_ids`` and ``account_codes`` are the union of the
    arguments, of ``order``/``account_code``, and of the evidence's lists under ``orders`` /
    ``order_ids``, ``executions`` / ``execution_ids`` and ``accounts`` / ``account_codes``.
    The subject user (whom the alert is about, and who therefore may never read it) defaults to
    the order's creator.
    """
    errors: dict[str, list[str]] = {}
    if not (rule or "").strip():
        errors["rule"] = ["This field is required."]
    if severity not in AlertSeverity.values:
        errors["severity"] = [f"Choose one of {', '.join(AlertSeverity.values)}."]
    if not (title or "").strip():
        errors["title"] = ["This field is required."]
    if not isinstance(evidence, Mapping):
        errors["evidence"] = ["Evidence must be an object."]
    if order is not None and order.tenant_id != tenant.pk:
        errors["order"] = ["Unknown order."]
    if errors:
        raise ValidationFailed(errors=errors)

    if dedupe_key:
        existing = Alert.objects.for_tenant(tenant).filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing

    evidence = dict(evidence)
    own_order = [order.pk] if order is not None else []
    orders = _id_list(
        [*own_order, *order_ids, *_evidence_ids(evidence, _EVIDENCE_LISTS["order_ids"])]
    )
    executions = _id_list(
        [*execution_ids, *_evidence_ids(evidence, _EVIDENCE_LISTS["execution_ids"])]
    )
    own_account = [account_code] if account_code else []
    accounts = _id_list(
        [*own_account, *account_codes, *_evidence_ids(evidence, _EVIDENCE_LISTS["account_codes"])]
    )
    if subject_user is None and order is not None:
        subject_user = order.created_by
    now = timezone.now()
    alert = Alert(
        tenant=tenant,
        rule=rule.strip()[:64],
        severity=severity,
        title=title.strip()[:300],
        evidence=evidence,
        order=order,
        order_ids=orders,
        execution_ids=executions,
        account_codes=[str(a) for a in accounts],
        account_code=(account_code or (str(accounts[0]) if accounts else ""))[:64],
        dedupe_key=(dedupe_key or "")[:200],
        subject_user=subject_user,
        status_changed_at=now,
    )
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
            _action(
                alert=alert,
                kind=AlertActionKind.RAISED,
                actor=actor,
                to_status=AlertStatus.NEW,
                data={"rule": alert.rule, "severity": alert.severity},
            )
    except IntegrityError:
        if not dedupe_key:
            raise
        existing = Alert.objects.for_tenant(tenant).filter(dedupe_key=alert.dedupe_key).first()
        if existing is None:
            raise
        return existing
    return alert


# --- the review workflow ------------------------------------------------------------------

NOTE_MAX_LENGTH = 10_000
REASON_MAX_LENGTH = 2_000


def _require_reviewer(*, tenant: Tenant, actor: Actor) -> None:
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=REVIEWERS):
        raise PermissionDenied("Only compliance officers and administrators work alerts.")


def _locked(*, tenant: Tenant, alert_id: int, actor: Actor) -> Alert:
    """The alert under a row lock; missing, another tenant's and the actor's own -> 404."""
    alert = Alert.objects.for_tenant(tenant).select_for_update().filter(pk=alert_id).first()
    if alert is None or (actor is not None and alert.subject_user_id == actor.pk):
        raise NotFound("Alert not found.")
    return alert


def _text(value: str | None, *, field: str, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(errors={field: ["This field is required."]})
    if len(text) > limit:
        raise ValidationFailed(
            errors={field: [f"Ensure this field has no more than {limit} characters."]}
        )
    return text


def _apply(
    *,
    alert: Alert,
    transition: str,
    actor: Actor,
    kind: str,
    data: Mapping[str, Any] | None = None,
    fields: Sequence[str] = (),
) -> Alert:
    """Run one FSM transition (409 if illegal), persist it and journal it."""
    method = getattr(alert, transition)
    from_status = alert.status
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {transition.replace('_', ' ')} an alert that is {from_status}.",
            extra={"status": from_status},
        )
    method()
    alert.status_changed_at = timezone.now()
    alert.save(update_fields=["status", "status_changed_at", "updated_at", *fields])
    _action(
        alert=alert,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=alert.status,
        data=data,
    )
    return alert


def _check_can(alert: Alert, transition: str) -> None:
    if not can_proceed(getattr(alert, transition)):
        raise TransitionNotAllowed(
            f"Cannot {transition.replace('_', ' ')} an alert that is {alert.status}.",
            extra={"status": alert.status},
        )


def _require_assignee(alert: Alert, actor: Actor, what: str) -> None:
    if alert.assigned_to_id != actor.pk:
        raise PermissionDenied(f"Only the alert's assignee can {what}.")


def _assignee_check(*, tenant: Tenant, assignee: Any) -> None:
    if assignee is None or not user_has_role(user=assignee, tenant_id=tenant.pk, roles=REVIEWERS):
        raise ValidationFailed(
            errors={"assigned_to": ["Choose a compliance officer or administrator of this tenant."]}
        )


@transaction.atomic
def alert_assign(*, tenant: Tenant, actor: Actor, alert_id: int, assignee: Any) -> Alert:
    """new / assigned / reopened -> assigned: give the alert to a reviewer of the tenant.

    Reassigning an assigned alert is allowed; an alert under review is not reassigned (its
    reviewer proposes a closure or escalates). Nobody is assigned an alert about themselves.
    """
    return alerts_assign(tenant=tenant, actor=actor, alert_ids=[alert_id], assignee=assignee)[0]


@transaction.atomic
def alerts_assign(
    *, tenant: Tenant, actor: Actor, alert_ids: Sequence[int], assignee: Any
) -> list[Alert]:
    """Bulk assignment, all or nothing: every alert is locked (in id order) and checked first;
    one missing alert answers 404 and one that cannot be assigned 409, with nothing changed."""
    _require_reviewer(tenant=tenant, actor=actor)
    _assignee_check(tenant=tenant, assignee=assignee)
    ids = sorted({int(i) for i in alert_ids})
    if not ids:
        raise ValidationFailed(errors={"alert_ids": ["Name at least one alert."]})
    alerts = list(
        Alert.objects.for_tenant(tenant).select_for_update().filter(pk__in=ids).order_by("pk")
    )
    visible = [a for a in alerts if a.subject_user_id != actor.pk]
    if len(visible) != len(ids):
        raise NotFound("Alert not found.")
    for alert in visible:
        if alert.subject_user_id is not None and alert.subject_user_id == assignee.pk:
            raise ValidationFailed(
                errors={"assigned_to": [f"Alert #{alert.pk} is about this user."]}
            )
        _check_can(alert, "assign")
    now = timezone.now()
    for alert in visible:
        previous = alert.assigned_to_id
        alert.assigned_to = assignee
        alert.assigned_at = now
        _apply(
            alert=alert,
            transition="assign",
            actor=actor,
            kind=AlertActionKind.ASSIGNED,
            data={
                "assigned_to": assignee.pk,
                "assigned_to_name": assignee.get_username(),
                "previous_assignee": previous,
            },
            fields=["assigned_to", "assigned_at"],
        )
    return visible


@transaction.atomic
def alert_start_review(*, tenant: Tenant, actor: Actor, alert_id: int) -> Alert:
    """assigned / reopened -> in_review, by the assignee."""
    _require_reviewer(tenant=tenant, actor=actor)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "start_review")
    _require_assignee(alert, actor, "start its review")
    return _apply(
        alert=alert, transition="start_review", actor=actor, kind=AlertActionKind.REVIEW_STARTED
    )


@transaction.atomic
def alert_escalate(*, tenant: Tenant, actor: Actor, alert_id: int, reason: str) -> Alert:
    """in_review -> escalated, by the assignee, with a reason (for the senior reviewer)."""
    _require_reviewer(tenant=tenant, actor=actor)
    text = _text(reason, field="reason", required=True, limit=REASON_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "escalate")
    _require_assignee(alert, actor, "escalate it")
    return _apply(
        alert=alert,
        transition="escalate",
        actor=actor,
        kind=AlertActionKind.ESCALATED,
        data={"reason": text},
    )


@transaction.atomic
def alert_deescalate(*, tenant: Tenant, actor: Actor, alert_id: int, reason: str = "") -> Alert:
    """escalated -> in_review, by any reviewer (typically the senior officer it went to)."""
    _require_reviewer(tenant=tenant, actor=actor)
    text = _text(reason, field="reason", required=False, limit=REASON_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    return _apply(
        alert=alert,
        transition="deescalate",
        actor=actor,
        kind=AlertActionKind.DEESCALATED,
        data={"reason": text},
    )


def _disposition_clean(
    *,
    tenant: Tenant,
    alert: Alert,
    disposition: str,
    report_type: str,
    report_reference: str,
    duplicate_of: int | None,
) -> tuple[str, str, Alert | None]:
    errors: dict[str, list[str]] = {}
    if disposition not in Disposition.values:
        errors["disposition"] = [f"Choose one of {', '.join(Disposition.values)}."]
    reported = disposition == Disposition.REPORTED
    duplicate = disposition == Disposition.DUPLICATE
    report_type = (report_type or "").strip()
    report_reference = (report_reference or "").strip()
    if reported:
        if report_type not in ReportType.values:
            errors["report_type"] = [f"Choose one of {', '.join(ReportType.values)}."]
        if not report_reference:
            errors["report_reference"] = ["This field is required when the alert was reported."]
        elif len(report_reference) > 100:
            errors["report_reference"] = ["Ensure this field has no more than 100 characters."]
    else:
        if report_type:
            errors["report_type"] = ["Only a reported disposition has a report type."]
        if report_reference:
            errors["report_reference"] = ["Only a reported disposition has a report reference."]
    original: Alert | None = None
    if duplicate:
        if duplicate_of is None:
            errors["duplicate_of"] = ["This field is required for a duplicate."]
        elif duplicate_of == alert.pk:
            errors["duplicate_of"] = ["An alert cannot duplicate itself."]
        else:
            original = Alert.objects.for_tenant(tenant).filter(pk=duplicate_of).first()
            if original is None:
                errors["duplicate_of"] = [f"No alert {duplicate_of}."]
    elif duplicate_of is not None:
        errors["duplicate_of"] = ["Only a duplicate disposition names the original alert."]
    if errors:
        raise ValidationFailed(errors=errors)
    return report_type, report_reference, original


@transaction.atomic
def alert_propose_close(
    *,
    tenant: Tenant,
    actor: Actor,
    alert_id: int,
    disposition: str,
    reason: str,
    report_type: str = "",
    report_reference: str = "",
    duplicate_of: int | None = None,
) -> Alert:
    """in_review / escalated -> pending_approval: the assignee proposes a disposition.

    ``reported`` needs a report type and reference; ``duplicate`` names the original alert (of
    the same tenant, not itself). The rationale (``reason``) is required for every disposition.
    """
    _require_reviewer(tenant=tenant, actor=actor)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "propose_close")
    _require_assignee(alert, actor, "propose its closure")
    text = _text(reason, field="reason", required=True, limit=REASON_MAX_LENGTH)
    report_type, report_reference, original = _disposition_clean(
        tenant=tenant,
        alert=alert,
        disposition=disposition,
        report_type=report_type,
        report_reference=report_reference,
        duplicate_of=duplicate_of,
    )
    alert.disposition = disposition
    alert.disposition_reason = text
    alert.report_type = report_type
    alert.report_reference = report_reference
    alert.duplicate_of = original
    alert.proposed_by = actor
    alert.proposed_at = timezone.now()
    return _apply(
        alert=alert,
        transition="propose_close",
        actor=actor,
        kind=AlertActionKind.CLOSE_PROPOSED,
        data={
            "disposition": disposition,
            "reason": text,
            "report_type": report_type,
            "report_reference": report_reference,
            "duplicate_of": original.pk if original else None,
        },
        fields=[
            "disposition",
            "disposition_reason",
            "report_type",
            "report_reference",
            "duplicate_of",
            "proposed_by",
            "proposed_at",
        ],
    )


def _require_second_pair_of_eyes(alert: Alert, actor: Actor, what: str) -> None:
    if alert.proposed_by_id == actor.pk:
        raise PermissionDenied(
            f"Four eyes: a different compliance officer must {what} this closure."
        )


@transaction.atomic
def alert_approve_close(*, tenant: Tenant, actor: Actor, alert_id: int, reason: str = "") -> Alert:
    """pending_approval -> closed, by a reviewer other than the proposer (self-approval: 403)."""
    _require_reviewer(tenant=tenant, actor=actor)
    text = _text(reason, field="reason", required=False, limit=REASON_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "approve_close")
    _require_second_pair_of_eyes(alert, actor, "approve")
    alert.approved_by = actor
    alert.closed_at = timezone.now()
    return _apply(
        alert=alert,
        transition="approve_close",
        actor=actor,
        kind=AlertActionKind.CLOSE_APPROVED,
        data={"disposition": alert.disposition, "reason": text},
        fields=["approved_by", "closed_at"],
    )


@transaction.atomic
def alert_refuse_close(*, tenant: Tenant, actor: Actor, alert_id: int, reason: str) -> Alert:
    """pending_approval -> in_review, by a reviewer other than the proposer, with a reason.

    The refused proposal stays in the journal; the alert's disposition fields are cleared.
    """
    _require_reviewer(tenant=tenant, actor=actor)
    text = _text(reason, field="reason", required=True, limit=REASON_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "refuse_close")
    _require_second_pair_of_eyes(alert, actor, "refuse")
    refused = alert.disposition
    _clear_disposition(alert)
    return _apply(
        alert=alert,
        transition="refuse_close",
        actor=actor,
        kind=AlertActionKind.CLOSE_REFUSED,
        data={"disposition": refused, "reason": text},
        fields=_DISPOSITION_FIELDS,
    )


_DISPOSITION_FIELDS = [
    "disposition",
    "disposition_reason",
    "report_type",
    "report_reference",
    "duplicate_of",
    "proposed_by",
    "proposed_at",
    "approved_by",
    "closed_at",
]


def _clear_disposition(alert: Alert) -> None:
    alert.disposition = ""
    alert.disposition_reason = ""
    alert.report_type = ""
    alert.report_reference = ""
    alert.duplicate_of = None
    alert.proposed_by = None
    alert.proposed_at = None
    alert.approved_by = None
    alert.closed_at = None


@transaction.atomic
def alert_reopen(*, tenant: Tenant, actor: Actor, alert_id: int, reason: str) -> Alert:
    """closed -> reopened, by any reviewer, with a reason.

    The previous closure (disposition, proposer, approver) stays in the journal; the alert's
    fields are cleared for the new review. The assignee is kept: it can start the review again,
    or the alert is reassigned.
    """
    _require_reviewer(tenant=tenant, actor=actor)
    text = _text(reason, field="reason", required=True, limit=REASON_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    _check_can(alert, "reopen")
    previous = {
        "disposition": alert.disposition,
        "proposed_by": alert.proposed_by_id,
        "approved_by": alert.approved_by_id,
    }
    _clear_disposition(alert)
    return _apply(
        alert=alert,
        transition="reopen",
        actor=actor,
        kind=AlertActionKind.REOPENED,
        data={"reason": text, "previous": previous},
        fields=_DISPOSITION_FIELDS,
    )


@transaction.atomic
def alert_note_add(*, tenant: Tenant, actor: Actor, alert_id: int, text: str) -> AlertNote:
    """Append a note (any status, closed included); journaled as a ``note_added`` action."""
    _require_reviewer(tenant=tenant, actor=actor)
    body = _text(text, field="text", required=True, limit=NOTE_MAX_LENGTH)
    alert = _locked(tenant=tenant, alert_id=alert_id, actor=actor)
    note = AlertNote(
        tenant_id=alert.tenant_id,
        alert=alert,
        author=actor,
        author_name=_actor_name(actor),
        text=body,
    )
    note.save(force_insert=True)
    _action(
        alert=alert,
        kind=AlertActionKind.NOTE_ADDED,
        actor=actor,
        from_status=alert.status,
        to_status=alert.status,
        data={"note_id": note.pk},
    )
    Alert.objects.for_tenant(tenant).filter(pk=alert.pk).update(updated_at=timezone.now())
    return note
