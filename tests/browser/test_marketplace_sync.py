"""A seller starts a marketplace sync from the channel admin ("Sync now") and watches the run's
progress on its sync-run admin page, page by page, until it is done.

The sync runs as it does in production: "Sync now" only queues the run, and a real Celery worker
process executes it (PostgreSQL + Redis; skipped otherwise, see ``tests/conftest.py``). The
channel points at the built-in sandbox eBay, served by the live server itself (as ``make run``
serves it with ``OMS_SANDBOX_MARKETPLACES`` on). eBay answers how many orders the window holds,
so the run's progress is exact: the share of them stored. The sandbox is paced with its own
knobs: ``OMS_SANDBOX_PAGE_SIZE`` cuts the window into several pages, and its page pause is held
by a :class:`~tests.browser.sync_worker.PageGate`, so each page is answered only after the seller
has seen the run's state after the previous one. Every state the run passes through is
therefore seen, and the test holds no assertion on time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from commerce.marketplaces import sandbox
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
from tests.browser.sync_worker import PageGate, sync_worker_started

CHANNEL = "EBAY-DE"
PAGE_SIZE = 8  # the demo's six hours of eBay history (36 orders) make five pages
WATCH_SECONDS = 60  # how long the seller keeps reloading for the next state before giving up

pytestmark = [needs_chromium, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def sandbox_site(
    transactional_db: None, live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The live server with the sandbox marketplaces mounted, small pages, and the sandbox's
    clock standing still (no order changes state while the run pages through the window)."""
    settings.OMS_SANDBOX_MARKETPLACES = True
    settings.OMS_SANDBOX_PAGE_SIZE = PAGE_SIZE
    settings.ROOT_URLCONF = "tests.browser.sandbox_urls"
    monkeypatch.setenv("OMS_SANDBOX_BASE_URL", f"{live_server.url}/sandbox/")
    clock = timezone.now()
    monkeypatch.setattr(sandbox, "now", lambda: clock)
    return str(live_server.url)


@pytest.fixture
def demo(sandbox_site: str) -> str:
    """The ``make run`` demo, seeded (tasks still run inline) with the channels at the site."""
    seed_demo()
    return sandbox_site


@pytest.fixture
def gate(demo: str, shots: Shots, monkeypatch: pytest.MonkeyPatch) -> Iterator[PageGate]:
    """The sandbox's order-list pages held until the test lets each through, and a real worker
    to run the sync (stopped after the gate opens, so it never waits on a held page)."""
    held = PageGate()
    monkeypatch.setattr(sandbox, "page_pause", held)
    with sync_worker_started(shots.folder / "worker.log"):
        try:
            yield held
        finally:
            held.open()


@dataclass(frozen=True)
class RunView:
    """What the run's admin page shows."""

    status: str
    progress: int
    bar_width: str
    pages: int
    created: int


def run_view(page: Page) -> RunView:
    progress = re.match(r"(\d+)%", readonly_value(page, "progress_bar"))
    assert progress is not None, readonly_value(page, "progress_bar")
    bar = page.locator(".field-progress_bar .sync-progress > div")
    return RunView(
        status=readonly_value(page, "status"),
        progress=int(progress.group(1)),
        bar_width=str(bar.evaluate("el => el.style.width")),
        pages=int(readonly_value(page, "pages")),
        created=int(readonly_value(page, "created")),
    )


def watch(page: Page, url: str, until: Callable[[RunView], bool], what: str) -> RunView:
    """Reload the run's page, as the seller does, until it shows ``what``."""
    deadline = time.monotonic() + WATCH_SECONDS
    while True:
        page.goto(url)
        view = run_view(page)
        if until(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"the run never showed {what}; last seen: {view}")
        page.wait_for_timeout(250)


def pages_stored(number: int) -> Callable[[RunView], bool]:
    return lambda view: view.pages >= number


def window_total(channel: Channel, start: datetime | None, end: datetime | None) -> int:
    """How many orders the sandbox eBay holds in the run's window (its ``total``)."""
    account = sandbox.account_of("ebay", channel.credentials["refresh_token"], "v^1.1#")
    assert account is not None
    assert start is not None
    assert end is not None
    return len(sandbox.Stream(account).modified(start, end, end_inclusive=True))


def test_seller_syncs_a_marketplace_channel_and_watches_its_progress_reach_done(
    demo: str, gate: PageGate, new_page: Callable[[], Page], shots: Shots
) -> None:
    # given the demo data, with Globex's sandbox channels pointed at the live server
    sandbox_site = demo
    globex = Tenant.objects.get(slug="globex-goods")
    channel = Channel.objects.for_tenant(globex).get(code=CHANNEL)
    assert channel.endpoint == f"{sandbox_site}/sandbox/ebay/"
    assert not SyncRun.objects.for_tenant(globex).exists()
    assert not SalesOrder.objects.for_tenant(globex).filter(channel=channel).exists()
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

    # then the admin reports the run it queued, and the request imported nothing itself
    messages = success_messages(page)
    assert len(messages) == 1
    match = re.fullmatch(rf"Sync queued: {CHANNEL} \(run (\d+)\)", messages[0])
    assert match is not None, messages
    run_id = int(match.group(1))
    run_url = f"{sandbox_site}/admin/commerce/syncrun/{run_id}/change/"
    assert not SalesOrder.objects.for_tenant(globex).filter(channel=channel).exists()

    # when the worker picks the run up (its first page held at the marketplace)
    started = watch(page, run_url, lambda v: v.status != "Queued", "the worker starting it")
    shots(page, "sync run running no page yet")
    # then the run is running with nothing stored yet
    assert started == RunView("Running", 0, "0%", 0, 0)
    run = SyncRun.objects.for_tenant(globex).get(pk=run_id)
    total = window_total(channel, run.window_start, run.window_end)
    pages = -(-total // PAGE_SIZE)
    assert pages >= 3, total  # at least two states between "nothing yet" and done

    # when the marketplace answers one page at a time and the seller reloads after each
    seen = [started]
    for number in range(1, pages):
        gate.let_one_through()
        view = watch(page, run_url, pages_stored(number), f"page {number} stored")
        shots(page, f"sync run page {number} of {pages} stored")
        seen.append(view)
        # then the run shows it running, with exactly the share of the window's orders stored
        progress = number * PAGE_SIZE * 100 // total
        assert 0 < progress < 100
        assert view == RunView("Running", progress, f"{progress}%", number, view.created)
        if number == 1:
            # the list shows the same running state in the run's row
            page.goto(f"{sandbox_site}/admin/commerce/syncrun/")
            run_row = page.locator(
                f'#result_list tr:has(a[href$="/commerce/syncrun/{run_id}/change/"])'
            )
            assert run_row.locator("td.field-status").inner_text().strip() == "Running"
            assert run_row.locator("td.field-progress_bar").inner_text().strip() == (
                f"{progress}% …"
            )
            shots(page, "sync run list running")
    gate.let_one_through()
    done = watch(page, run_url, lambda v: v.status != "Running", "the run finishing")
    shots(page, "sync run page done")
    seen.append(done)

    # then the seller saw the created count rise with every page, and the run end done
    created = [view.created for view in seen]
    assert created == sorted(set(created)), created
    imported = SalesOrder.objects.for_tenant(globex).filter(channel=channel).count()
    assert done == RunView("Done", 100, "100%", pages, imported)
    assert imported > 0
    assert gate.served == pages
    run = SyncRun.objects.for_tenant(globex).get(pk=run_id)
    assert (run.status, run.progress, run.pages, run.created, run.errors) == (
        "done",
        100,
        pages,
        imported,
        0,
    )
    assert run.page_offset == total

    # and the sync-run list shows it done with a full progress bar
    page.goto(f"{sandbox_site}/admin/commerce/syncrun/")
    run_row = page.locator(f'#result_list tr:has(a[href$="/commerce/syncrun/{run_id}/change/"])')
    assert run_row.locator("td.field-status").inner_text().strip() == "Done"
    assert run_row.locator("td.field-progress_bar").inner_text().strip() == "100%"
    shots(page, "sync run list done")
