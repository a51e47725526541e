"""Amazon getOrderItems under its documented rate limit (a burst, then a slow rate): a page with
more new orders than the burst completes, items fetched before a 429 are not fetched again, and
the connector paces itself from ``x-amzn-RateLimit-Limit``. The fake and the connector share a
clock that a sleep advances (no real waiting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from commerce.marketplaces.amazon import AmazonConnector
from commerce.marketplaces.util import Pacer
from commerce.models import SyncStatus
from commerce.services.sync import channel_sync_start, sync_run_execute
from tests.commerce.marketplace.conftest import ago, fill
from tests.commerce.marketplace.servers import FakeClock
from tests.commerce.marketplace.test_sync import stored

pytestmark = pytest.mark.parametrize("market", ["amazon"], indirect=True)


@pytest.fixture
def clock(market: Any) -> FakeClock:
    shared = FakeClock()
    market.clock = shared
    market.page_size = 10  # one page holds all the orders of these tests
    return shared


def on_clock(clock: FakeClock, built: list[AmazonConnector]) -> Callable[[Any], AmazonConnector]:
    def factory(channel: Any) -> AmazonConnector:
        connector = AmazonConnector(channel)
        connector.items_pacer = Pacer(
            rate=connector.items_pacer.rate, burst=connector.items_burst, clock=clock
        )
        built.append(connector)
        return connector

    return factory


def sync(tenant: Any, channel: Any, clock: FakeClock, built: list[AmazonConnector]) -> Any:
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    done = sync_run_execute(
        tenant_id=tenant.pk,
        run_id=run.pk,
        sleep=clock.sleep,
        connector_factory=on_clock(clock, built),
    )
    assert done is not None
    return done


def test_a_page_with_more_orders_than_the_burst_completes_fetching_each_items_once(
    tenant: Any, products: Any, market: Any, channel: Any, clock: FakeClock
) -> None:
    # given eight new orders on one page, and getOrderItems allowing a burst of five, then one
    # call every two seconds (429 with Retry-After beyond that)
    ids = fill(market, 8)
    market.limit_items(burst=5, rate=0.5)
    built: list[AmazonConnector] = []
    # when a sync runs (the connector does not know the bucket is smaller than documented)
    run = sync(tenant, channel, clock, built)
    # then each retry of the page fetched only the items still missing, and the run completed
    assert (run.status, run.created, run.errors, run.retries) == (SyncStatus.DONE, 8, 0, 3)
    assert (sorted(market.items_served), market.items_throttled) == (ids, 3)
    assert clock.sleeps == [2.0, 2.0, 2.0]
    assert sorted(stored(tenant, channel)) == ids
    # and the items held for the retries were dropped once the page was returned
    assert built[0].items_held == {}


def test_items_of_an_order_changed_between_two_attempts_are_fetched_again(
    tenant: Any, products: Any, market: Any, channel: Any, clock: FakeClock
) -> None:
    # given eight orders, a burst of five, and the first order changing after the first 429
    ids = fill(market, 8)
    market.limit_items(burst=5, rate=0.5)
    market.before_list(2, lambda: market.change("1001", state="open", updated=ago(30)))
    # when a sync runs
    run = sync(tenant, channel, clock, [])
    # then that order's items were fetched again (its LastUpdateDate moved), no other's
    assert (run.status, run.created, run.retries) == (SyncStatus.DONE, 8, 4)
    assert sorted(market.items_served) == ["1001", *ids]
    assert market.items_throttled == 4


def test_the_connector_paces_getorderitems_at_the_rate_amazon_states(
    tenant: Any, products: Any, market: Any, channel: Any, clock: FakeClock, monkeypatch: Any
) -> None:
    # given a connector whose burst matches the marketplace's, and Amazon stating a rate of
    # 0.25 requests/second in x-amzn-RateLimit-Limit (the documented default is 0.5)
    ids = fill(market, 8)
    market.limit_items(burst=5, rate=0.25)
    monkeypatch.setattr(AmazonConnector, "items_burst", 5)
    # when a sync runs
    run = sync(tenant, channel, clock, [])
    # then after the burst it waited four seconds before each call and was never throttled
    assert clock.sleeps == [4.0, 4.0, 4.0]
    assert (run.status, run.created, run.retries) == (SyncStatus.DONE, 8, 0)
    assert (sorted(market.items_served), market.items_throttled) == (ids, 0)
    assert sorted(stored(tenant, channel)) == ids
