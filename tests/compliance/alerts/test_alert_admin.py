"""The alert review queue in the admin: scope, filters, bulk assignment, workflow form."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.models.alerts import Alert, AlertStatus
from tests.compliance.factories import alert_in_status, alert_new, alert_snapshot, reviewer
from tests.conftest import admin_client_for, member

pytestmark = pytest.mark.django_db
QUEUE = "/admin/compliance/alert/"


def change_url(alert: Any) -> str:
    return f"{QUEUE}{alert.pk}/change/"


def workflow(client: Any, alert: Any, **data: Any) -> Any:
    return client.post(f"{QUEUE}{alert.pk}/workflow/", data, follow=True)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_queue_lists_the_tenants_alerts_but_not_those_about_the_viewer(
    tenant: Any, other_tenant: Any
) -> None:
    me = reviewer(tenant, "alpha.me")
    mine = alert_new(tenant, title="About me", subject_user=me)
    visible = alert_new(tenant, title="Visible alert")
    foreign = alert_new(other_tenant, title="Foreign alert")
    client = admin_client_for(me)
    page = client.get(QUEUE).content.decode()
    assert "Visible alert" in page
    assert "About me" not in page
    assert "Foreign alert" not in page
    assert client.get(change_url(visible)).status_code == 200
    assert client.get(change_url(mine)).status_code == 404
    assert client.get(change_url(foreign)).status_code == 404


@pytest.mark.parametrize("role", ["trader", "seller", "operations", "viewer"])
def test_other_roles_have_no_queue(tenant: Any, role: str) -> None:
    user = member(tenant, role, username=f"alpha.{role}")
    alert = alert_new(tenant)
    client = admin_client_for(user)
    assert client.get(QUEUE).status_code == 403
    assert client.get(change_url(alert)).status_code == 403


def test_queue_filters(tenant: Any) -> None:
    me = reviewer(tenant, "alpha.me")
    alert_new(tenant, title="Critical spoof", rule="spoofing", severity="critical")
    alert_new(tenant, title="Low otr", rule="otr", severity="low")
    client = admin_client_for(me)
    page = client.get(QUEUE, {"severity__exact": "critical"}).content.decode()
    assert "Critical spoof" in page
    assert "Low otr" not in page
    page = client.get(QUEUE, {"rule__exact": "otr"}).content.decode()
    assert "Low otr" in page
    assert "Critical spoof" not in page
    page = client.get(QUEUE, {"older_than": "24h"}).content.decode()
    assert "Low otr" not in page
    assert "Critical spoof" not in page
    page = client.get(QUEUE, {"assigned": "none", "status__exact": "new"}).content.decode()
    assert "Low otr" in page
    assert "Critical spoof" in page


def test_bulk_assign_action(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    a, b = alert_new(tenant), alert_new(tenant)
    response = admin_client_for(lead).post(
        QUEUE,
        {
            "action": "assign_selected",
            "_selected_action": [a.pk, b.pk],
            "assignee": "alpha.analyst",
        },
        follow=True,
    )
    assert messages_of(response) == ["Assigned 2 alert(s) to alpha.analyst."]
    assert list(
        Alert.objects.for_tenant(tenant).order_by("pk").values_list("status", "assigned_to_id")
    ) == [("assigned", analyst.pk), ("assigned", analyst.pk)]


def test_bulk_assign_to_a_non_reviewer_assigns_nothing(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    member(tenant, "trader", username="alpha.trader")
    a = alert_new(tenant)
    before = alert_snapshot(tenant)
    response = admin_client_for(lead).post(
        QUEUE,
        {"action": "assign_selected", "_selected_action": [a.pk], "assignee": "alpha.trader"},
        follow=True,
    )
    assert messages_of(response) == [
        "Nothing assigned: Invalid input. assigned_to: Choose a compliance officer or "
        "administrator of this tenant."
    ]
    assert alert_snapshot(tenant) == before


def test_workflow_form_runs_the_services_with_four_eyes(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_in_status(tenant, AlertStatus.IN_REVIEW, analyst=analyst, approver=lead)
    analyst_admin, lead_admin = admin_client_for(analyst), admin_client_for(lead)
    done = workflow(
        analyst_admin, alert, action="propose_close", disposition="true_positive", reason="Real"
    )
    assert messages_of(done) == [f"Alert #{alert.pk}: propose_close done."]
    before = alert_snapshot(tenant)
    refused = workflow(analyst_admin, alert, action="approve_close")
    assert messages_of(refused) == [
        "Four eyes: a different compliance officer must approve this closure."
    ]
    assert alert_snapshot(tenant) == before
    workflow(lead_admin, alert, action="approve_close")
    assert Alert.objects.for_tenant(tenant).get(pk=alert.pk).status == "closed"
    illegal = workflow(lead_admin, alert, action="escalate", reason="late")
    assert messages_of(illegal) == ["Cannot escalate an alert that is closed."]
    noted = workflow(lead_admin, alert, action="note", reason="Filed")
    assert messages_of(noted) == [f"Alert #{alert.pk}: note done."]
    page = lead_admin.get(change_url(alert)).content.decode()
    assert "Filed" in page
    assert "close_approved" in page


def test_evidence_links_to_orders(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    alert = alert_new(tenant, evidence={"orders": [41, 42], "accounts": ["ACC-7"]})
    page = admin_client_for(lead).get(change_url(alert)).content.decode()
    assert '<a href="/admin/orders/order/41/change/">order #41</a>' in page
    assert '<a href="/admin/orders/order/42/change/">order #42</a>' in page
    assert '<a href="/admin/trading/account/?q=ACC-7">account ACC-7</a>' in page
