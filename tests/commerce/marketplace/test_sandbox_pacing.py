"""The sandbox marketplaces' pacing knobs: ``OMS_SANDBOX_PAGE_SIZE`` (no order-list page holds
more orders) and ``OMS_SANDBOX_PAGE_DELAY`` (each order-list page answered that much later),
both off by default."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from commerce.demo_marketplaces import marketplace_channels_seed
from commerce.marketplaces import sandbox
from commerce.models import Channel, FxRate, SyncRun
from commerce.services.sync import channel_sync_start
from tests.commerce.factories import ProductFactory
from tests.factories import TenantFactory

# the account token in each kind's credentials, and whether its listing includes the window's end
TOKENS = {
    "amazon": ("refresh_token", "Atzr|", False),
    "ebay": ("refresh_token", "v^1.1#", True),
    "aliexpress": ("access_token", "", True),
    "shopify": ("access_token", "shpat_", True),
}


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sandbox's waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(sandbox, "time", SimpleNamespace(sleep=waits.append))
    return waits


def window_orders(channel: Channel, run: SyncRun) -> int:
    """The orders the sandbox lists for the run's window."""
    key, prefix, end_inclusive = TOKENS[channel.kind]
    account = sandbox.account_of(channel.kind, channel.credentials[key], prefix)
    assert account is not None
    assert run.window_start is not None
    assert run.window_end is not None
    rows = sandbox.Stream(account).modified(
        run.window_start, run.window_end, end_inclusive=end_inclusive
    )
    return len(rows)


def test_page_size_is_what_was_asked_within_the_marketplace_maximum_by_default(
    settings: Any,
) -> None:
    assert [sandbox.page_size(asked, 100) for asked in (0, 1, 37, 100, 500)] == [1, 1, 37, 100, 100]
    settings.OMS_SANDBOX_PAGE_SIZE = 5
    assert [sandbox.page_size(asked, 100) for asked in (0, 1, 5, 37, 500)] == [1, 1, 5, 5, 5]
    assert sandbox.page_size(37, 4) == 4
    settings.OMS_SANDBOX_PAGE_SIZE = 0
    assert [sandbox.page_size(asked, 100) for asked in (0, 37, 500)] == [1, 37, 100]


def test_page_pause_waits_only_when_a_delay_is_set(settings: Any, slept: list[float]) -> None:
    sandbox.page_pause()
    settings.OMS_SANDBOX_PAGE_DELAY = 0
    sandbox.page_pause()
    assert slept == []
    settings.OMS_SANDBOX_PAGE_DELAY = 0.25
    sandbox.page_pause()
    assert slept == [0.25]


def test_every_sandbox_marketplace_pages_by_the_page_size_and_waits_the_delay_per_page(
    transactional_db: Any, live_server: Any, settings: Any, monkeypatch: Any, slept: list[float]
) -> None:
    # given four sandbox channels opened three hours before the sandbox's clock, which stands
    # still; the connectors ask for their usual pages (50 to 250 orders)
    settings.ROOT_URLCONF = "tests.commerce.marketplace.sandbox_urls"
    settings.OMS_SANDBOX_PAGE_SIZE = 5
    settings.OMS_SANDBOX_PAGE_DELAY = 0.25
    settings.COMMERCE_SYNC_INITIAL_DAYS = 1  # one AliExpress date cut: its pages are the window's
    clock = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(sandbox, "now", lambda: clock)
    seller: Any = TenantFactory(slug="paced-seller", base_currency="EUR")
    for sku in ("MUG-1", "SHIRT-2"):
        ProductFactory(tenant=seller, sku=sku)
    FxRate.objects.create(
        tenant=seller,
        date=date(2024, 1, 1),
        from_currency="USD",
        to_currency="EUR",
        rate=Decimal("0.92"),
    )
    channels = marketplace_channels_seed(
        tenant=seller, base_url=f"{live_server.url}/sandbox/", opened=clock - timedelta(hours=3)
    )
    assert [c.kind for c in channels] == ["amazon", "ebay", "aliexpress", "shopify"]
    for channel in channels:
        # when the channel syncs (the task runs inline in the test settings)
        before = len(slept)
        run = channel_sync_start(tenant=seller, channel_id=channel.pk, actor=None)
        done = SyncRun.objects.for_tenant(seller).get(pk=run.pk)
        waits = slept[before:]
        # then every order of the window came in pages of five, each answered after the delay
        orders = window_orders(channel, done)
        assert orders >= 11, (channel.kind, orders)
        assert (done.status, done.errors, done.page_offset) == ("done", 0, orders), (
            channel.kind,
            done.error_detail,
        )
        assert done.pages == -(-orders // 5), channel.kind
        assert waits == [0.25] * done.pages, channel.kind
