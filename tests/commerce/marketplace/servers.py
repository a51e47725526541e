"""Local marketplace servers for the connector tests, written from each marketplace's documented
request and response shapes (Amazon SP-API Orders v0 + LWA, eBay Sell Fulfillment, AliExpress
IOP ``/sync``, Shopify Admin REST).

Each fake runs ``http.server`` in a thread (HTTP/1.1 keep-alive), keeps its orders in memory in
the marketplace's own JSON shape, records every request, checks credentials the way the
marketplace does, and can be scripted to fail: ``fail(path_part, status, ...)`` makes the next
matching request answer that status (429 with ``Retry-After``, 500, or a 200 whose body is not
JSON). ``before_list(n, fn)`` runs ``fn`` just before the n-th order-list request is answered (an
order that changes between two pages).

The fakes live in one module per marketplace (``fake_amazon``, ``fake_ebay``,
``fake_aliexpress``, ``fake_shopify``; the common server in ``fakes``) and check the bodies of
shipment confirmations the way their marketplace does (see each module).

Orders are added through one interface, :meth:`FakeMarketplace.add`, with the marketplace-neutral
``state`` (``open``, ``pending``, ``canceled``, ``shipped``) translated to the native status.
"""

from __future__ import annotations

from typing import Any

from tests.commerce.marketplace.fake_aliexpress import FakeAliExpress, iop_sign
from tests.commerce.marketplace.fake_amazon import FakeAmazon
from tests.commerce.marketplace.fake_ebay import FakeEbay
from tests.commerce.marketplace.fake_shopify import FakeShopify
from tests.commerce.marketplace.fakes import FakeClock, FakeMarketplace, Recorded

__all__ = [
    "FAKES",
    "FakeAliExpress",
    "FakeAmazon",
    "FakeClock",
    "FakeEbay",
    "FakeMarketplace",
    "FakeShopify",
    "Recorded",
    "channel_fields",
    "iop_sign",
]

FAKES: dict[str, type[FakeMarketplace]] = {
    "amazon": FakeAmazon,
    "ebay": FakeEbay,
    "aliexpress": FakeAliExpress,
    "shopify": FakeShopify,
}


def channel_fields(market: FakeMarketplace) -> dict[str, Any]:
    """Channel fields pointing the connector of ``market.kind`` at the fake."""
    base = market.base
    if isinstance(market, FakeAmazon):
        return {
            "endpoint": base,
            "auth_endpoint": f"{base}/auth/o2/token",
            "marketplace_id": "ATVPDKIKX0DER",
            "credentials": {
                "client_id": FakeAmazon.CLIENT_ID,
                "client_secret": FakeAmazon.CLIENT_SECRET,
                "refresh_token": FakeAmazon.REFRESH_TOKEN,
            },
        }
    if isinstance(market, FakeEbay):
        return {
            "endpoint": base,
            "auth_endpoint": f"{base}/identity/v1/oauth2/token",
            "credentials": {
                "client_id": FakeEbay.CLIENT_ID,
                "client_secret": FakeEbay.CLIENT_SECRET,
                "refresh_token": FakeEbay.REFRESH_TOKEN,
            },
        }
    if isinstance(market, FakeAliExpress):
        return {
            "endpoint": base,
            "timezone": "America/Los_Angeles",
            "credentials": {
                "app_key": FakeAliExpress.APP_KEY,
                "app_secret": FakeAliExpress.APP_SECRET,
                "access_token": FakeAliExpress.ACCESS_TOKEN,
            },
        }
    assert isinstance(market, FakeShopify)
    return {
        "endpoint": base + FakeShopify.API,
        "credentials": {
            "access_token": FakeShopify.ACCESS_TOKEN,
            "webhook_secret": FakeShopify.WEBHOOK_SECRET,
        },
    }
