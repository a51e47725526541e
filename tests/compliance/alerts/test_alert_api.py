"""The alerts API: queue filters, detail, transitions, notes, roles and tenants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from compliance.models.alerts import Alert, AlertStatus
from tests.compliance.factories import alert_in_status, alert_new, alert_snapshot, reviewer
from tests.conftest import client_for, member

pytestmark = pytest.mark.django_db
S = AlertStatus
ALERTS = "/api/v1/compliance/alerts/"
NOT_FOUND = {"code": "not_found", "detail": "Not found."}
ALERT_NOT_FOUND = {"code": "not_found", "detail": "Alert not found."}
FORBIDDEN = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}


def url(alert: Any, action: str = "") -> str:
    return f"{ALERTS}{alert.pk}/" + (f"{action}/" if action else "")


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("role", ["admin", "compliance_officer"])
def test_reviewers_list_all_alerts_of_their_tenant_but_those_about_themselves(
    tenant: Any, other_tenant: Any, role: str
) -> None:
    me = member(tenant, role, username="alpha.me")
    a = alert_new(tenant)
    b = alert_new(tenant, severity="low")
    alert_new(tenant, subject_user=me)
    alert_new(other_tenant)
    response = client_for(me).get(ALERTS)
    assert response.status_code == 200
    assert ids(response) == [b.pk, a.pk]


@pytest.mark.parametrize("role", ["trader", "portfolio_manager", "seller", "operations", "viewer"])
def test_other_roles_read_no_alert_at_all(tenant: Any, role: str) -> None:
    user = member(tenant, role, username=f"alpha.{role}")
    about_them = alert_new(tenant, subject_user=user)
    other = alert_new(tenant)
    client = client_for(user)
    for path in (ALERTS, url(about_them), url(other), url(other, "notes")):
        response = client.get(path)
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    before = alert_snapshot(tenant)
    response = client.post(url(other, "notes"), {"text": "hi"}, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert alert_snapshot(tenant) == before


def test_an_alert_about_the_reviewer_answers_404_like_a_missing_one(tenant: Any) -> None:
    me = reviewer(tenant, "alpha.me")
    mine = alert_new(tenant, subject_user=me)
    client = client_for(me)
    assert client.get(url(mine)).json() == ALERT_NOT_FOUND
    assert client.get(f"{ALERTS}99999999/").json() == ALERT_NOT_FOUND
    assert client.get(url(mine)).status_code == 404


def test_another_tenants_alert_is_404_for_reads_and_writes(tenant: Any, other_tenant: Any) -> None:
    me = reviewer(tenant, "alpha.me")
    foreign = alert_new(other_tenant)
    client = client_for(me)
    before = alert_snapshot(other_tenant)
    assert (client.get(url(foreign)).status_code, client.get(url(foreign)).json()) == (
        404,
        ALERT_NOT_FOUND,
    )
    for action, body in (
        ("assign", {"assigned_to": me.pk}),
        ("notes", {"text": "x"}),
        ("reopen", {"reason": "x"}),
    ):
        response = client.post(url(foreign, action), body, format="json")
        assert (response.status_code, response.json()) == (404, ALERT_NOT_FOUND)
    assert alert_snapshot(other_tenant) == before


def test_queue_filters(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    old = alert_new(tenant, rule="spoofing", severity="critical")
    Alert.objects.for_tenant(tenant).filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=50)
    )
    assigned = alert_in_status(tenant, S.ASSIGNED, analyst=analyst, approver=lead)
    fresh = alert_new(tenant, rule="otr", severity="low")
    client = client_for(lead)
    assert ids(client.get(ALERTS, {"status": "new"})) == [fresh.pk, old.pk]
    assert ids(client.get(ALERTS, {"status": "assigned,closed"})) == [assigned.pk]
    assert ids(client.get(ALERTS, {"severity": "critical,low"})) == [fresh.pk, old.pk]
    assert ids(client.get(ALERTS, {"rule": "spoofing"})) == [old.pk]
    assert ids(client.get(ALERTS, {"older_than_hours": "48"})) == [old.pk]
    assert ids(client.get(ALERTS, {"assigned_to": str(analyst.pk)})) == [assigned.pk]
    assert ids(client.get(ALERTS, {"assigned_to": "none"})) == [fresh.pk, old.pk]
    assert ids(client_for(analyst).get(ALERTS, {"assigned_to": "me"})) == [assigned.pk]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        (
            {"status": "open"},
            {
                "status": [
                    "Unknown value 'open'; choose from new, assigned, in_review, escalated, "
                    "pending_approval, closed, reopened."
                ]
            },
        ),
        ({"severity": ","}, {"severity": ["Name at least one value."]}),
        (
            {"older_than_hours": "-1"},
            {"older_than_hours": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"older_than_hours": "soon"}, {"older_than_hours": ["A valid integer is required."]}),
        ({"assigned_to": "bob"}, {"assigned_to": ["Use a user id, 'me' or 'none'."]}),
    ],
)
def test_bad_queue_filters_answer_400(tenant: Any, params: dict[str, str], errors: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    response = client_for(lead).get(ALERTS, params)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "Invalid input.", "errors": errors}


def test_detail_has_evidence_notes_and_actions(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(
        tenant,
        evidence={"orders": [11, 12], "executions": [7], "accounts": ["ACC-9"], "ratio": "4.5"},
    )
    client = client_for(lead)
    client.post(url(alert, "assign"), {"assigned_to": analyst.pk}, format="json")
    client.post(url(alert, "notes"), {"text": "Looks odd"}, format="json")
    body = client.get(url(alert)).json()
    assert (body["status"], body["assigned_to"], body["assigned_to_name"]) == (
        "assigned",
        analyst.pk,
        "alpha.analyst",
    )
    assert body["evidence"] == {
        "orders": [11, 12],
        "executions": [7],
        "accounts": ["ACC-9"],
        "ratio": "4.5",
    }
    assert (body["order_ids"], body["execution_ids"], body["account_codes"]) == (
        [11, 12],
        [7],
        ["ACC-9"],
    )
    assert [(n["author"], n["text"]) for n in body["notes"]] == [("alpha.lead", "Looks odd")]
    assert [(a["kind"], a["from_status"], a["to_status"], a["actor"]) for a in body["actions"]] == [
        ("raised", "", "new", "system"),
        ("assigned", "new", "assigned", "alpha.lead"),
        ("note_added", "assigned", "assigned", "alpha.lead"),
    ]


def test_workflow_through_the_api_with_four_eyes(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant)
    lead_api, analyst_api = client_for(lead), client_for(analyst)

    def post(client: Any, action: str, body: Any = None) -> Any:
        return client.post(url(alert, action), body or {}, format="json")

    assert post(lead_api, "assign", {"assigned_to": analyst.pk}).json()["status"] == "assigned"
    assert post(analyst_api, "start-review").json()["status"] == "in_review"
    assert post(analyst_api, "escalate", {"reason": "big"}).json()["status"] == "escalated"
    assert post(lead_api, "deescalate").json()["status"] == "in_review"
    proposed = post(
        analyst_api,
        "propose-close",
        {
            "disposition": "reported",
            "reason": "Confirmed",
            "report_type": "STR",
            "report_reference": "R-9",
        },
    )
    assert (proposed.status_code, proposed.json()["status"]) == (200, "pending_approval")
    # self-approval: 403, nothing changed
    before = alert_snapshot(tenant)
    refused = post(analyst_api, "approve-close")
    assert (refused.status_code, refused.json()) == (
        403,
        {
            "code": "permission_denied",
            "detail": "Four eyes: a different compliance officer must approve this closure.",
        },
    )
    assert alert_snapshot(tenant) == before
    closed = post(lead_api, "approve-close", {"reason": "Agreed"}).json()
    assert (closed["status"], closed["disposition"], closed["approved_by_name"]) == (
        "closed",
        "reported",
        "alpha.lead",
    )
    # illegal transition: 409, nothing changed
    before = alert_snapshot(tenant)
    conflict = post(analyst_api, "start-review")
    assert (conflict.status_code, conflict.json()) == (
        409,
        {
            "code": "transition_not_allowed",
            "detail": "Cannot start review an alert that is closed.",
            "status": "closed",
        },
    )
    assert alert_snapshot(tenant) == before
    assert post(lead_api, "reopen", {"reason": "More data"}).json()["status"] == "reopened"


@pytest.mark.parametrize(
    ("action", "body", "errors"),
    [
        ("assign", {}, {"assigned_to": ["This field is required."]}),
        ("assign", {"assigned_to": "x"}, {"assigned_to": ["A valid integer is required."]}),
        (
            "assign",
            {"assigned_to": 10**30},
            {"assigned_to": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        (
            "assign",
            {"assigned_to": 987654},
            {"assigned_to": ["Choose a compliance officer or administrator of this tenant."]},
        ),
        ("notes", {"text": ""}, {"text": ["This field may not be blank."]}),
        ("notes", {"text": 5}, {"text": ["Must be a string."]}),
        ("reopen", {"reason": ["x"]}, {"reason": ["Must be a string."]}),
        (
            "propose-close",
            {"disposition": "maybe"},
            {"disposition": ['"maybe" is not a valid choice.']},
        ),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_persists_nothing(
    tenant: Any, action: str, body: Any, errors: Any
) -> None:
    lead = reviewer(tenant, "alpha.lead")
    alert = alert_new(tenant)
    before = alert_snapshot(tenant)
    response = client_for(lead).post(url(alert, action), body, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "Invalid input.", "errors": errors}
    assert alert_snapshot(tenant) == before


def test_bulk_assign(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    a, b = alert_new(tenant), alert_new(tenant)
    response = client_for(lead).post(
        f"{ALERTS}assign/", {"alert_ids": [b.pk, a.pk], "assigned_to": analyst.pk}, format="json"
    )
    assert response.status_code == 200
    assert [(r["id"], r["status"], r["assigned_to"]) for r in response.json()] == [
        (a.pk, "assigned", analyst.pk),
        (b.pk, "assigned", analyst.pk),
    ]
    bad = client_for(lead).post(
        f"{ALERTS}assign/", {"alert_ids": [], "assigned_to": analyst.pk}, format="json"
    )
    assert bad.json()["errors"] == {"alert_ids": ["This list may not be empty."]}


def test_notes_list_and_no_edit_endpoint(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    alert = alert_new(tenant)
    client = client_for(lead)
    created = client.post(url(alert, "notes"), {"text": "First"}, format="json")
    assert created.status_code == 201
    assert [n["text"] for n in client.get(url(alert, "notes")).json()] == ["First"]
    for method in (client.put, client.patch, client.delete):
        assert method(url(alert, "notes"), {"text": "x"}, format="json").status_code == 405
    assert client.delete(url(alert)).status_code == 405
