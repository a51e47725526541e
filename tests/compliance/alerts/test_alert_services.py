"""Raising alerts, four eyes, roles and input checks of the alert services."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.models.alerts import (
    Alert,
    AlertAction,
    AlertNote,
    AlertStatus,
    AppendOnlyError,
    Disposition,
)
from compliance.services import alerts as svc
from oms_site.errors import NotFound, PermissionDenied, ValidationFailed
from tests.compliance.factories import alert_in_status, alert_new, alert_snapshot, reviewer
from tests.conftest import member
from tests.factories import order_in_status

pytestmark = pytest.mark.django_db
S = AlertStatus


# --- alert_raise ------------------------------------------------------------------------------


def test_raise_creates_a_new_alert_with_linked_ids_and_a_raised_action(tenant: Any) -> None:
    # given an order entered by a trader
    trader = member(tenant, "trader", username="alpha.trader")
    order = order_in_status(tenant=tenant, status="open")
    order.created_by = trader
    order.save(update_fields=["created_by"])
    # when an alert is raised about it with pattern evidence
    alert = svc.alert_raise(
        tenant=tenant,
        rule="spoofing",
        severity="critical",
        title="Layering before a fill",
        evidence={"orders": [order.pk, 9991], "executions": [5, 6], "accounts": ["ACC-1"]},
        order=order,
        account_code="ACC-1",
    )
    # then the alert is new, linked, about the trader, and journaled
    assert (alert.status, alert.rule, alert.severity, alert.title) == (
        "new",
        "spoofing",
        "critical",
        "Layering before a fill",
    )
    assert (alert.order_ids, alert.execution_ids, alert.account_codes) == (
        [order.pk, 9991],
        [5, 6],
        ["ACC-1"],
    )
    assert (alert.account_code, alert.subject_user_id, alert.order_id) == (
        "ACC-1",
        trader.pk,
        order.pk,
    )
    assert list(
        AlertAction.objects.for_tenant(tenant).filter(alert=alert).values_list("kind", "to_status")
    ) == [("raised", "new")]


def test_raise_with_the_same_dedupe_key_returns_the_first_alert(tenant: Any) -> None:
    # given an alert raised with a dedupe key
    first = alert_new(tenant, dedupe_key="wash:ACC-1:2024-05-01")
    # when the same key is raised again (with different text)
    again = alert_new(tenant, dedupe_key="wash:ACC-1:2024-05-01", title="Other title")
    # then it is the same alert, unchanged, with one raised action
    assert again.pk == first.pk
    assert Alert.objects.for_tenant(tenant).count() == 1
    assert Alert.objects.for_tenant(tenant).get().title == "Wash trade suspected"
    assert AlertAction.objects.for_tenant(tenant).count() == 1


def test_dedupe_key_is_per_tenant_and_empty_keys_never_collide(
    tenant: Any, other_tenant: Any
) -> None:
    # when two tenants raise the same key, and one tenant raises twice with no key
    a = alert_new(tenant, dedupe_key="k1")
    b = alert_new(other_tenant, dedupe_key="k1")
    c = alert_new(tenant)
    d = alert_new(tenant)
    # then there are four alerts
    assert len({a.pk, b.pk, c.pk, d.pk}) == 4


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"rule": " "}, {"rule": ["This field is required."]}),
        ({"severity": "urgent"}, {"severity": ["Choose one of low, medium, high, critical."]}),
        ({"title": ""}, {"title": ["This field is required."]}),
        ({"evidence": ["not", "a", "dict"]}, {"evidence": ["Evidence must be an object."]}),
    ],
)
def test_raise_with_bad_input_is_refused_and_persists_nothing(
    tenant: Any, kwargs: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        alert_new(tenant, **kwargs)
    assert raised.value.errors == errors
    assert Alert.objects.for_tenant(tenant).count() == 0
    assert AlertAction.objects.for_tenant(tenant).count() == 0


def test_raise_refuses_another_tenants_order(tenant: Any, other_tenant: Any) -> None:
    foreign = order_in_status(tenant=other_tenant, status="open")
    with pytest.raises(ValidationFailed) as raised:
        alert_new(tenant, order=foreign)
    assert raised.value.errors == {"order": ["Unknown order."]}
    assert Alert.objects.for_tenant(tenant).count() == 0


# --- four eyes --------------------------------------------------------------------------------


def test_self_approval_is_refused_with_403_and_nothing_changes(tenant: Any) -> None:
    # given an alert whose closure the analyst proposed
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, S.PENDING_APPROVAL, analyst=analyst, approver=approver)
    before = alert_snapshot(tenant)
    # when the analyst approves their own proposal
    with pytest.raises(PermissionDenied) as raised:
        svc.alert_approve_close(tenant=tenant, actor=analyst, alert_id=alert.pk)
    # then 403, nothing changed
    assert raised.value.status_code == 403
    assert raised.value.message == (
        "Four eyes: a different compliance officer must approve this closure."
    )
    assert alert_snapshot(tenant) == before


def test_proposer_cannot_refuse_their_own_proposal(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, S.PENDING_APPROVAL, analyst=analyst, approver=approver)
    before = alert_snapshot(tenant)
    with pytest.raises(PermissionDenied):
        svc.alert_refuse_close(tenant=tenant, actor=analyst, alert_id=alert.pk, reason="oops")
    assert alert_snapshot(tenant) == before


def test_an_administrator_is_a_valid_second_pair_of_eyes(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    admin = reviewer(tenant, "alpha.admin", role="admin")
    alert = alert_in_status(tenant, S.PENDING_APPROVAL, analyst=analyst, approver=admin)
    closed = svc.alert_approve_close(tenant=tenant, actor=admin, alert_id=alert.pk)
    assert (closed.status, closed.approved_by_id) == ("closed", admin.pk)


def test_refusal_sends_the_alert_back_to_review_with_the_reason(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, S.PENDING_APPROVAL, analyst=analyst, approver=approver)
    refused = svc.alert_refuse_close(
        tenant=tenant, actor=approver, alert_id=alert.pk, reason="Look at the second account"
    )
    assert (refused.status, refused.disposition, refused.proposed_by_id) == ("in_review", "", None)
    action = AlertAction.objects.for_tenant(tenant).filter(alert=alert).order_by("-id").first()
    assert action is not None
    assert (action.kind, action.actor_id, action.data) == (
        "close_refused",
        approver.pk,
        {"disposition": "false_positive", "reason": "Look at the second account"},
    )


# --- who may act --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["trader", "portfolio_manager", "seller", "operations", "viewer"])
def test_other_roles_cannot_work_alerts(tenant: Any, role: str) -> None:
    outsider = member(tenant, role, username=f"alpha.{role}")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant)
    before = alert_snapshot(tenant)
    with pytest.raises(PermissionDenied):
        svc.alert_assign(tenant=tenant, actor=outsider, alert_id=alert.pk, assignee=analyst)
    with pytest.raises(PermissionDenied):
        svc.alert_note_add(tenant=tenant, actor=outsider, alert_id=alert.pk, text="hi")
    assert alert_snapshot(tenant) == before


def test_only_the_assignee_starts_escalates_and_proposes(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    other = reviewer(tenant, "alpha.other")
    assigned = alert_in_status(tenant, S.ASSIGNED, analyst=analyst, approver=other)
    in_review = alert_in_status(tenant, S.IN_REVIEW, analyst=analyst, approver=other)
    before = alert_snapshot(tenant)
    with pytest.raises(PermissionDenied):
        svc.alert_start_review(tenant=tenant, actor=other, alert_id=assigned.pk)
    with pytest.raises(PermissionDenied):
        svc.alert_escalate(tenant=tenant, actor=other, alert_id=in_review.pk, reason="x")
    with pytest.raises(PermissionDenied):
        svc.alert_propose_close(
            tenant=tenant,
            actor=other,
            alert_id=in_review.pk,
            disposition=Disposition.FALSE_POSITIVE,
            reason="x",
        )
    assert alert_snapshot(tenant) == before


def test_an_alert_about_the_reviewer_is_not_found_for_them(tenant: Any) -> None:
    # given an alert whose subject is a compliance officer (e.g. personal dealing)
    subject = reviewer(tenant, "alpha.subject")
    other = reviewer(tenant, "alpha.other")
    alert = alert_new(tenant, subject_user=subject)
    before = alert_snapshot(tenant)
    # then they cannot act on it, nor be assigned it
    with pytest.raises(NotFound):
        svc.alert_assign(tenant=tenant, actor=subject, alert_id=alert.pk, assignee=other)
    with pytest.raises(NotFound):
        svc.alert_note_add(tenant=tenant, actor=subject, alert_id=alert.pk, text="mine")
    with pytest.raises(ValidationFailed) as raised:
        svc.alert_assign(tenant=tenant, actor=other, alert_id=alert.pk, assignee=subject)
    assert raised.value.errors == {"assigned_to": [f"Alert #{alert.pk} is about this user."]}
    assert alert_snapshot(tenant) == before


def test_another_tenants_alert_is_not_found(tenant: Any, other_tenant: Any) -> None:
    mine = reviewer(tenant, "alpha.analyst")
    foreign = alert_new(other_tenant)
    with pytest.raises(NotFound):
        svc.alert_assign(tenant=tenant, actor=mine, alert_id=foreign.pk, assignee=mine)
    with pytest.raises(NotFound):
        svc.alert_note_add(tenant=tenant, actor=mine, alert_id=foreign.pk, text="x")
    assert Alert.objects.for_tenant(other_tenant).get().status == "new"


def test_assignee_must_be_a_reviewer_of_the_tenant(tenant: Any, other_tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    trader = member(tenant, "trader", username="alpha.trader")
    foreign_officer = reviewer(other_tenant, "beta.co")
    alert = alert_new(tenant)
    before = alert_snapshot(tenant)
    for assignee in (trader, foreign_officer, None):
        with pytest.raises(ValidationFailed) as raised:
            svc.alert_assign(tenant=tenant, actor=lead, alert_id=alert.pk, assignee=assignee)
        assert raised.value.errors == {
            "assigned_to": ["Choose a compliance officer or administrator of this tenant."]
        }
    assert alert_snapshot(tenant) == before


def test_bulk_assign_is_all_or_nothing(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    a = alert_new(tenant)
    b = alert_new(tenant)
    in_review = alert_in_status(tenant, S.IN_REVIEW, analyst=analyst, approver=lead)
    before = alert_snapshot(tenant)
    # when one of the alerts cannot be assigned, then 409 and nothing changed
    with pytest.raises(svc.TransitionNotAllowed):
        svc.alerts_assign(
            tenant=tenant, actor=lead, alert_ids=[a.pk, b.pk, in_review.pk], assignee=analyst
        )
    # and a missing id: 404, nothing changed
    with pytest.raises(NotFound):
        svc.alerts_assign(tenant=tenant, actor=lead, alert_ids=[a.pk, 999999], assignee=analyst)
    assert alert_snapshot(tenant) == before
    # when all can, then all are assigned
    done = svc.alerts_assign(tenant=tenant, actor=lead, alert_ids=[b.pk, a.pk], assignee=analyst)
    assert [(x.pk, x.status, x.assigned_to_id) for x in done] == [
        (a.pk, "assigned", analyst.pk),
        (b.pk, "assigned", analyst.pk),
    ]


# --- disposition input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        (
            {"disposition": "closed_ok", "reason": "x"},
            {
                "disposition": [
                    "Choose one of false_positive, no_further_action, true_positive, reported, "
                    "duplicate."
                ]
            },
        ),
        (
            {"disposition": "false_positive", "reason": "  "},
            {"reason": ["This field is required."]},
        ),
        (
            {"disposition": "reported", "reason": "x"},
            {
                "report_type": ["Choose one of STR, SAR, other."],
                "report_reference": ["This field is required when the alert was reported."],
            },
        ),
        (
            {"disposition": "true_positive", "reason": "x", "report_reference": "R-1"},
            {"report_reference": ["Only a reported disposition has a report reference."]},
        ),
        (
            {"disposition": "duplicate", "reason": "x"},
            {"duplicate_of": ["This field is required for a duplicate."]},
        ),
        (
            {"disposition": "duplicate", "reason": "x", "duplicate_of": 987654},
            {"duplicate_of": ["No alert 987654."]},
        ),
        (
            {"disposition": "false_positive", "reason": "x", "duplicate_of": 1},
            {"duplicate_of": ["Only a duplicate disposition names the original alert."]},
        ),
    ],
)
def test_bad_disposition_is_refused_and_nothing_changes(
    tenant: Any, kwargs: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, S.IN_REVIEW, analyst=analyst, approver=approver)
    before = alert_snapshot(tenant)
    with pytest.raises(ValidationFailed) as raised:
        svc.alert_propose_close(tenant=tenant, actor=analyst, alert_id=alert.pk, **kwargs)
    assert raised.value.errors == errors
    assert alert_snapshot(tenant) == before


def test_duplicate_names_an_alert_of_the_same_tenant_not_itself(
    tenant: Any, other_tenant: Any
) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    original = alert_new(tenant)
    foreign = alert_new(other_tenant)
    alert = alert_in_status(tenant, S.IN_REVIEW, analyst=analyst, approver=approver)
    for target, message in ((foreign.pk, f"No alert {foreign.pk}."), (alert.pk, None)):
        with pytest.raises(ValidationFailed) as raised:
            svc.alert_propose_close(
                tenant=tenant,
                actor=analyst,
                alert_id=alert.pk,
                disposition="duplicate",
                reason="same",
                duplicate_of=target,
            )
        assert raised.value.errors == {
            "duplicate_of": [message or "An alert cannot duplicate itself."]
        }
    proposed = svc.alert_propose_close(
        tenant=tenant,
        actor=analyst,
        alert_id=alert.pk,
        disposition="duplicate",
        reason="Same pattern as the original",
        duplicate_of=original.pk,
    )
    assert (proposed.status, proposed.duplicate_of_id) == ("pending_approval", original.pk)


# --- notes ------------------------------------------------------------------------------------


def test_notes_are_appended_and_journaled_in_any_status(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    approver = reviewer(tenant, "alpha.approver")
    alert = alert_in_status(tenant, S.CLOSED, analyst=analyst, approver=approver)
    note = svc.alert_note_add(
        tenant=tenant, actor=analyst, alert_id=alert.pk, text="  Filed with the case.  "
    )
    assert (note.text, note.author_id, note.author_name) == (
        "Filed with the case.",
        analyst.pk,
        "alpha.analyst",
    )
    action = AlertAction.objects.for_tenant(tenant).filter(alert=alert).order_by("-id").first()
    assert action is not None
    assert (action.kind, action.from_status, action.to_status, action.data) == (
        "note_added",
        "closed",
        "closed",
        {"note_id": note.pk},
    )


def test_notes_and_actions_cannot_be_changed_or_deleted(tenant: Any) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant)
    note = svc.alert_note_add(tenant=tenant, actor=analyst, alert_id=alert.pk, text="First")
    action = AlertAction.objects.for_tenant(tenant).get(alert=alert, kind="raised")
    note.text = "Rewritten"
    with pytest.raises(AppendOnlyError):
        note.save()
    with pytest.raises(AppendOnlyError):
        note.delete()
    with pytest.raises(AppendOnlyError):
        AlertNote.objects.for_tenant(tenant).update(text="Rewritten")
    with pytest.raises(AppendOnlyError):
        AlertNote.objects.for_tenant(tenant).delete()
    with pytest.raises(AppendOnlyError):
        action.save()
    with pytest.raises(AppendOnlyError):
        AlertAction.objects.for_tenant(tenant).update(kind="x")
    with pytest.raises(AppendOnlyError):
        AlertAction.objects.for_tenant(tenant).delete()
    assert list(AlertNote.objects.for_tenant(tenant).values_list("text", flat=True)) == ["First"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "This field is required."),
        ("x" * 10_001, "Ensure this field has no more than 10000 characters."),
    ],
)
def test_empty_or_oversized_note_is_refused(tenant: Any, text: str, message: str) -> None:
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant)
    before = alert_snapshot(tenant)
    with pytest.raises(ValidationFailed) as raised:
        svc.alert_note_add(tenant=tenant, actor=analyst, alert_id=alert.pk, text=text)
    assert raised.value.errors == {"text": [message]}
    assert alert_snapshot(tenant) == before
