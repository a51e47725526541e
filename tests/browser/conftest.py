"""Real-browser tests: Debian's headless Chromium driven by Playwright against ``live_server``.

No Playwright browser download: Chromium is launched from :data:`CHROMIUM` (the ``chromium``
package, which ``.ci/run`` installs). Without it every test here is skipped with the reason.

Each test seeds the demo data (``seed_demo``, as ``make run`` does) into a transactional test
database that ``live_server`` serves, and saves a full-page screenshot of every step under
``var/browser-artifacts/<test>/<nn>-<step>.png`` (kept after the run as test artifacts).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "browser-artifacts"
STEP_TIMEOUT_MS = 15_000
NO_CHROMIUM = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
# Module mark of every browser test: skipped before any database or server is set up.
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
VIEWPORT_WIDTH = 1280


@dataclass
class Shots:
    """Numbered full-page screenshots of one test's steps."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Page, step: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        target = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        page.screenshot(path=str(target), full_page=True)
        self.taken.append(target)
        return target


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


def seed_demo() -> None:
    """The ``make run`` demo: tenants, users (password ``settings.DEMO_PASSWORD``), orders,
    channels and alerts. Needs ``transactional_db`` (``live_server`` serves another thread)."""
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous, one at a time.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
            # Under Playwright the test body's ORM calls get their own connection (the DB
            # connections are context-local): close it, or PostgreSQL cannot drop the test DB.
            connections.close_all()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """A factory of pages, each in its own browser context (its own session cookie)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": 900})
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def admin_login(page: Page, base_url: str, username: str) -> None:
    """Log in through the admin's login form, as a person does."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def success_messages(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("ul.messagelist li.success").all_inner_texts()]


def error_messages(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("ul.messagelist li.error").all_inner_texts()]


def readonly_value(page: Page, field_name: str) -> str:
    """The text of a read-only field on an admin change page."""
    return page.locator(f".form-row.field-{field_name} .readonly").first.inner_text().strip()
