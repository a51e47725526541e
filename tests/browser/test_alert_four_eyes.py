"""Four-eyes closure of a compliance alert in the admin: one officer reviews it and proposes
the close, may not approve their own proposal, and a second officer approves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from compliance.models.alerts import Alert
from tenancy.models import Tenant
from tests.browser.conftest import (
    VIEWPORT_WIDTH,
    Shots,
    admin_login,
    error_messages,
    needs_chromium,
    readonly_value,
    seed_demo,
    success_messages,
)

REASON = "Explained by the client's documented hedging strategy."

pytestmark = needs_chromium


def run_workflow(page: Page, action: str, **fields: str) -> None:
    """Fill the alert page's workflow form and press Run."""
    form = page.locator("#alert-workflow-form")
    form.locator("select[name=action]").select_option(action)
    for name, value in fields.items():
        box = form.locator(f"[name={name}]")
        if box.evaluate("el => el.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    form.locator("input[type=submit]").click()
    page.wait_for_load_state()


def test_officer_proposes_close_and_a_second_officer_approves_it(
    transactional_db: None, live_server: Any, new_page: Callable[[], Page], shots: Shots
) -> None:
    # given the demo data: a new alert in Acme's review queue, and two compliance officers
    seed_demo()
    acme = Tenant.objects.get(slug="acme-capital")
    alert = Alert.objects.for_tenant(acme).get(dedupe_key="demo-alert-1")
    assert alert.status == "new"
    change_url = f"{live_server.url}/admin/compliance/alert/{alert.pk}/change/"
    first = new_page()
    admin_login(first, live_server.url, "acme.compliance")

    # when the first officer opens the queue and the alert
    first.goto(f"{live_server.url}/admin/compliance/alert/")
    assert first.locator(f'#result_list a[href$="/compliance/alert/{alert.pk}/change/"]').count()
    shots(first, "officer 1 alert queue")
    first.click(f'#result_list a[href$="/compliance/alert/{alert.pk}/change/"]')
    first.wait_for_url(change_url)
    assert readonly_value(first, "status") == "New"
    # the workflow form sits below the alert, inside the page width (no sideways scrolling)
    assert first.evaluate("document.documentElement.scrollWidth") <= VIEWPORT_WIDTH
    shots(first, "officer 1 opens alert")

    # and takes it, reviews it and proposes to close it as a false positive
    run_workflow(first, "assign")
    assert success_messages(first) == [f"Alert #{alert.pk}: assign done."]
    run_workflow(first, "start_review")
    assert readonly_value(first, "status") == "In review"
    shots(first, "officer 1 in review")
    run_workflow(first, "propose_close", disposition="false_positive", reason=REASON)
    shots(first, "officer 1 proposed close")

    # then the alert waits for a second officer's approval
    assert success_messages(first) == [f"Alert #{alert.pk}: propose_close done."]
    assert readonly_value(first, "status") == "Pending approval"
    assert readonly_value(first, "proposed_by") == "acme.compliance"

    # when the first officer tries to approve their own proposal, it is refused (four eyes)
    run_workflow(first, "approve_close")
    shots(first, "officer 1 cannot approve own proposal")
    assert error_messages(first) == [
        "Four eyes: a different compliance officer must approve this closure."
    ]
    assert readonly_value(first, "status") == "Pending approval"

    # when the second officer logs in, opens the alert and approves the close
    second = new_page()
    admin_login(second, live_server.url, "acme.compliance2")
    second.goto(change_url)
    assert readonly_value(second, "status") == "Pending approval"
    shots(second, "officer 2 opens alert")
    run_workflow(second, "approve_close", reason="Agreed: false positive.")
    shots(second, "officer 2 approved close")

    # then the alert is closed, proposed by the first officer and approved by the second
    assert success_messages(second) == [f"Alert #{alert.pk}: approve_close done."]
    assert readonly_value(second, "status") == "Closed"
    assert readonly_value(second, "approved_by") == "acme.compliance2"
    alert.refresh_from_db()
    assert alert.status == "closed"
    assert alert.disposition == "false_positive"
    assert alert.disposition_reason == REASON
    assert alert.proposed_by is not None
    assert alert.approved_by is not None
    assert (alert.proposed_by.username, alert.approved_by.username) == (
        "acme.compliance",
        "acme.compliance2",
    )
    assert alert.closed_at is not None
