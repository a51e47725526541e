"""A seller starts a marketplace sync from the channel admin ("Sync now") and watches the run's
progress reach done on the sync-run admin pages.

The channels point at the built-in sandbox marketplaces, served by the live server itself (as
``make run`` serves them with ``OMS_SANDBOX_MARKETPLACES`` on). Celery runs eagerly in the test
settings, so the run executes in the request that starts it; the sync-run list is still read the
way a person watches it: reloaded until the run shows done.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from commerce.models import Channel, SalesOrder, SyncRun
from tenancy.models import Tenant
from tests.browser.conftest import (
    Shots,
    admin_login,
    needs_chromium,
    readonly_value,
    seed_demo,
    success_messages,
)

CHANNEL = "AMAZON-DE"
WATCH_SECONDS = 30

pytestmark = needs_chromium


@pytest.fixture
def sandbox_site(
    transactional_db: None, live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The live server with the sandbox marketplaces mounted; demo channels are seeded at it."""
    settings.OMS_SANDBOX_MARKETPLACES = True
    settings.ROOT_URLCONF = "tests.browser.sandbox_urls"
    monkeypatch.setenv("OMS_SANDBOX_BASE_URL", f"{live_server.url}/sandbox/")
    return str(live_server.url)


def run_row_status(page: Page, run_id: int) -> str:
    row = page.locator(f'#result_list tr:has(a[href$="/commerce/syncrun/{run_id}/change/"])')
    return row.locator("td.field-status").inner_text().strip()


def test_seller_syncs_a_marketplace_channel_and_watches_it_reach_done(
    sandbox_site: str, new_page: Callable[[], Page], shots: Shots
) -> None:
    # given the demo data, with Globex's sandbox channels pointed at the live server
    seed_demo()
    globex = Tenant.objects.get(slug="globex-goods")
    channel = Channel.objects.for_tenant(globex).get(code=CHANNEL)
    assert channel.endpoint == f"{sandbox_site}/sandbox/amazon/"
    assert not SyncRun.objects.for_tenant(globex).exists()
    page = new_page()
    admin_login(page, sandbox_site, "globex.seller")

    # when the seller selects the channel in the channel list and runs "Sync now"
    page.goto(f"{sandbox_site}/admin/commerce/channel/")
    row = page.locator(f'#result_list tr:has(a:text-is("{CHANNEL}"))')
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "sync_now")
    shots(page, "channel list sync now selected")
    page.click("button[name=index]")
    page.wait_for_load_state()
    shots(page, "sync queued")

    # then the admin reports the run it queued
    messages = success_messages(page)
    assert len(messages) == 1
    match = re.fullmatch(rf"Sync queued: {CHANNEL} \(run (\d+)\)", messages[0])
    assert match is not None, messages
    run_id = int(match.group(1))

    # when the seller watches the sync-run list until the run is done
    page.goto(f"{sandbox_site}/admin/commerce/syncrun/")
    deadline = time.monotonic() + WATCH_SECONDS
    while run_row_status(page, run_id) != "Done" and time.monotonic() < deadline:
        shots(page, "sync run in progress")
        page.wait_for_timeout(1000)
        page.reload()
    shots(page, "sync run list done")

    # then the list shows it done with a full progress bar
    assert run_row_status(page, run_id) == "Done"
    run_row = page.locator(f'#result_list tr:has(a[href$="/commerce/syncrun/{run_id}/change/"])')
    assert run_row.locator("td.field-progress_bar").inner_text().strip() == "100%"

    # and the run's own page shows the progress bar at 100% and what it imported
    page.click(f'#result_list a[href$="/commerce/syncrun/{run_id}/change/"]')
    page.wait_for_url(f"**/admin/commerce/syncrun/{run_id}/change/")
    shots(page, "sync run page")
    run = SyncRun.objects.for_tenant(globex).get(pk=run_id)
    imported = SalesOrder.objects.for_tenant(globex).filter(channel=channel).count()
    assert (run.status, run.progress, run.errors) == ("done", 100, 0)
    assert run.created == imported > 0
    assert readonly_value(page, "status") == "Done"
    assert readonly_value(page, "progress_bar") == "100%"
    bar = page.locator(".field-progress_bar .sync-progress > div")
    assert bar.evaluate("el => el.style.width") == "100%"
    assert readonly_value(page, "created") == str(imported)
