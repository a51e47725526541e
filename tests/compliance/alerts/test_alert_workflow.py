"""The alert FSM: every (status, action) pair, legal or refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.models.alerts import Alert, AlertAction, AlertStatus, Disposition
from compliance.services import alerts as svc
from oms_site.errors import TransitionNotAllowed
from tests.compliance.factories import alert_in_status, alert_snapshot, reviewer

pytestmark = pytest.mark.django_db

S = AlertStatus
# action -> (who acts, extra kwargs, {legal source: target})
ACTIONS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "alert_assign": (
        "approver",
        {"assignee": "analyst"},
        {S.NEW: S.ASSIGNED, S.ASSIGNED: S.ASSIGNED, S.REOPENED: S.ASSIGNED},
    ),
    "alert_start_review": ("analyst", {}, {S.ASSIGNED: S.IN_REVIEW, S.REOPENED: S.IN_REVIEW}),
    "alert_escalate": ("analyst", {"reason": "Complex case"}, {S.IN_REVIEW: S.ESCALATED}),
    "alert_deescalate": ("approver", {"reason": "Back to you"}, {S.ESCALATED: S.IN_REVIEW}),
    "alert_propose_close": (
        "analyst",
        {"disposition": Disposition.NO_FURTHER_ACTION, "reason": "Explained by news"},
        {S.IN_REVIEW: S.PENDING_APPROVAL, S.ESCALATED: S.PENDING_APPROVAL},
    ),
    "alert_approve_close": ("approver", {}, {S.PENDING_APPROVAL: S.CLOSED}),
    "alert_refuse_close": (
        "approver",
        {"reason": "Check the other account"},
        {S.PENDING_APPROVAL: S.IN_REVIEW},
    ),
    "alert_reopen": ("approver", {"reason": "New evidence"}, {S.CLOSED: S.REOPENED}),
}
CASES = [(status, name) for status in S.values for name in ACTIONS]


@pytest.mark.parametrize(("status", "service_name"), CASES)
def test_every_transition_from_every_status(tenant: Any, status: str, service_name: str) -> None:
    # given an alert in ``status`` (worked by an analyst, approved by another officer)
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, status, analyst=analyst, approver=approver)
    people = {"analyst": analyst, "approver": approver}
    who, extra, legal = ACTIONS[service_name]
    kwargs = {k: people[v] if k == "assignee" else v for k, v in extra.items()}
    actions_before = AlertAction.objects.for_tenant(tenant).filter(alert=alert).count()
    before = alert_snapshot(tenant)
    service = getattr(svc, service_name)

    if status in legal:
        # when the action is legal from this status
        result = service(tenant=tenant, actor=people[who], alert_id=alert.pk, **kwargs)
        # then the alert moves to the target and one journal row records it
        fresh = Alert.objects.for_tenant(tenant).get(pk=alert.pk)
        assert (result.status, fresh.status) == (legal[status], legal[status])
        last = AlertAction.objects.for_tenant(tenant).filter(alert=alert).order_by("-id").first()
        assert last is not None
        assert (last.from_status, last.to_status, last.actor_id) == (
            status,
            legal[status],
            people[who].pk,
        )
        assert AlertAction.objects.for_tenant(tenant).filter(alert=alert).count() == (
            actions_before + 1
        )
    else:
        # when it is not, then 409 and nothing changed
        with pytest.raises(TransitionNotAllowed) as raised:
            service(tenant=tenant, actor=people[who], alert_id=alert.pk, **kwargs)
        assert raised.value.status_code == 409
        assert raised.value.extra == {"status": status}
        assert alert_snapshot(tenant) == before


def test_full_life_journals_every_action_in_order(tenant: Any) -> None:
    # given an alert worked through escalation, a refused closure, a closure and a reopening
    analyst = reviewer(tenant, "alpha.analyst")
    senior = reviewer(tenant, "alpha.senior")
    alert = alert_in_status(tenant, S.NEW, analyst=analyst, approver=senior)
    svc.alert_assign(tenant=tenant, actor=senior, alert_id=alert.pk, assignee=analyst)
    svc.alert_start_review(tenant=tenant, actor=analyst, alert_id=alert.pk)
    svc.alert_escalate(tenant=tenant, actor=analyst, alert_id=alert.pk, reason="Large size")
    svc.alert_deescalate(tenant=tenant, actor=senior, alert_id=alert.pk, reason="Go on")
    svc.alert_propose_close(
        tenant=tenant,
        actor=analyst,
        alert_id=alert.pk,
        disposition=Disposition.FALSE_POSITIVE,
        reason="Different owners",
    )
    svc.alert_refuse_close(tenant=tenant, actor=senior, alert_id=alert.pk, reason="Check owners")
    svc.alert_propose_close(
        tenant=tenant,
        actor=analyst,
        alert_id=alert.pk,
        disposition=Disposition.REPORTED,
        reason="Same family",
        report_type="STR",
        report_reference="FCA-2024-0042",
    )
    svc.alert_approve_close(tenant=tenant, actor=senior, alert_id=alert.pk, reason="Agreed")
    svc.alert_reopen(tenant=tenant, actor=senior, alert_id=alert.pk, reason="Regulator asked")
    svc.alert_start_review(tenant=tenant, actor=analyst, alert_id=alert.pk)

    # then the journal holds every action, with actor, in order
    rows = list(
        AlertAction.objects.for_tenant(tenant)
        .filter(alert=alert)
        .order_by("id")
        .values_list("kind", "from_status", "to_status", "actor_name")
    )
    assert rows == [
        ("raised", "", "new", "system"),
        ("assigned", "new", "assigned", "alpha.senior"),
        ("review_started", "assigned", "in_review", "alpha.analyst"),
        ("escalated", "in_review", "escalated", "alpha.analyst"),
        ("deescalated", "escalated", "in_review", "alpha.senior"),
        ("close_proposed", "in_review", "pending_approval", "alpha.analyst"),
        ("close_refused", "pending_approval", "in_review", "alpha.senior"),
        ("close_proposed", "in_review", "pending_approval", "alpha.analyst"),
        ("close_approved", "pending_approval", "closed", "alpha.senior"),
        ("reopened", "closed", "reopened", "alpha.senior"),
        ("review_started", "reopened", "in_review", "alpha.analyst"),
    ]
    refused = AlertAction.objects.for_tenant(tenant).get(alert=alert, kind="close_refused")
    assert refused.data == {"disposition": "false_positive", "reason": "Check owners"}
    reopened = AlertAction.objects.for_tenant(tenant).get(alert=alert, kind="reopened")
    assert reopened.data == {
        "reason": "Regulator asked",
        "previous": {
            "disposition": "reported",
            "proposed_by": analyst.pk,
            "approved_by": senior.pk,
        },
    }
    # and the reopened alert carries no stale closure
    fresh = Alert.objects.for_tenant(tenant).get(pk=alert.pk)
    assert (fresh.status, fresh.disposition, fresh.proposed_by_id, fresh.approved_by_id) == (
        "in_review",
        "",
        None,
        None,
    )
    assert (fresh.report_type, fresh.report_reference, fresh.closed_at) == ("", "", None)


def test_closed_alert_keeps_disposition_proposer_and_approver(tenant: Any) -> None:
    # given an alert proposed as reported by the analyst
    analyst = reviewer(tenant, "alpha.analyst")
    senior = reviewer(tenant, "alpha.senior")
    alert = alert_in_status(tenant, S.IN_REVIEW, analyst=analyst, approver=senior)
    svc.alert_propose_close(
        tenant=tenant,
        actor=analyst,
        alert_id=alert.pk,
        disposition=Disposition.REPORTED,
        reason="Layering confirmed",
        report_type="STR",
        report_reference="STOR-77",
    )
    # when another officer approves
    svc.alert_approve_close(tenant=tenant, actor=senior, alert_id=alert.pk)
    # then the alert is closed with the whole disposition
    fresh = Alert.objects.for_tenant(tenant).get(pk=alert.pk)
    assert (
        fresh.status,
        fresh.disposition,
        fresh.disposition_reason,
        fresh.report_type,
        fresh.report_reference,
        fresh.proposed_by_id,
        fresh.approved_by_id,
    ) == ("closed", "reported", "Layering confirmed", "STR", "STOR-77", analyst.pk, senior.pk)
    assert fresh.closed_at is not None
    assert fresh.proposed_at is not None
