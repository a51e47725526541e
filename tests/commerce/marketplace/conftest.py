from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.marketplaces.aliexpress import AliExpressConnector
from tests.commerce.factories import ChannelFactory, ProductFactory
from tests.commerce.marketplace.servers import FAKES, FakeMarketplace, channel_fields

KINDS = ("amazon", "ebay", "aliexpress", "shopify")


@pytest.fixture(params=KINDS)
def market(request: Any) -> Iterator[FakeMarketplace]:
    fake = FAKES[request.param]().start()
    yield fake
    fake.stop()


def market_of(kind: str) -> FakeMarketplace:
    return FAKES[kind]().start()


@pytest.fixture
def products(tenant: Any) -> dict[str, Any]:
    return {sku: ProductFactory(tenant=tenant, sku=sku) for sku in ("SKU-A", "SKU-B")}


def channel_for(tenant: Any, market: FakeMarketplace, **extra: Any) -> Any:
    return ChannelFactory(
        tenant=tenant,
        code=market.kind.upper(),
        kind=market.kind,
        currency="USD",
        **{**channel_fields(market), **extra},
    )


@pytest.fixture
def channel(tenant: Any, market: FakeMarketplace, monkeypatch: Any) -> Any:
    # One AliExpress modified-date window for the whole first sync, so that page counts are
    # the same for every marketplace (the window cutting has its own test).
    monkeypatch.setattr(AliExpressConnector, "window_days", 60)
    return channel_for(tenant, market)


def page_key(request: Any) -> dict[str, Any]:
    """What identifies the page asked for (AliExpress also signs a fresh timestamp)."""
    return {k: v for k, v in request.query.items() if k not in ("timestamp", "sign")}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def ago(minutes: float) -> Any:
    return timezone.now() - timedelta(minutes=minutes)


def fill(market: FakeMarketplace, count: int, *, first_id: int = 1001) -> list[str]:
    """``count`` open orders (2 lines each), modified a minute apart, oldest first."""
    ids = []
    for n in range(count):
        external_id = str(first_id + n)
        market.add(
            external_id,
            updated=ago(120 - n),
            created=ago(240 - n),
            lines=[("SKU-A", 1, "10.00"), ("SKU-B", 2, "2.50")],
        )
        ids.append(external_id)
    return ids


ORDER_TOTAL = Decimal("15.0000")
