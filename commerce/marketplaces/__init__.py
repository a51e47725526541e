"""Marketplace connectors (Amazon SP-API, eBay Sell Fulfillment, AliExpress, Shopify) and the
built-in sandbox marketplaces the demo syncs against offline."""

from __future__ import annotations

_loaded = False


def load_connectors() -> None:
    """Import the connector modules once (each registers itself for its channel kind)."""
    global _loaded
    if _loaded:
        return
    from commerce.marketplaces import aliexpress, amazon, ebay, shopify  # noqa: F401

    _loaded = True
