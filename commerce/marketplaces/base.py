"""The connector interface every marketplace implements, and the registry by channel kind.

A connector speaks one marketplace's documented API and translates it into
:class:`MarketOrder` rows; it knows nothing of the database. The sync service
(``commerce.services.sync``) drives it page by page:

``fetch_page(window, token)`` returns one :class:`Page` of orders modified in
``[window.start, window.end)`` plus the opaque token of the next page (``None`` at the end).
The token is saved on the ``SyncRun`` after each page is stored, so a retried or restarted run
resumes at the page it had not finished. Tokens are whatever the marketplace pages by
(Amazon's ``NextToken``, eBay's offset, AliExpress's page number, Shopify's ``page_info`` URL).

Status mapping: each connector maps its marketplace's order states onto :class:`MarketState`:
``open`` (to be fulfilled by us), ``canceled`` (cancel the order here), ``shipped`` (already
shipped, e.g. fulfilled by the marketplace: imported for the record, not routed), ``pending``
(not yet payable/confirmed at the marketplace: not imported until it becomes open).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commerce.models import Channel


class MarketState(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    SHIPPED = "shipped"
    CANCELED = "canceled"


@dataclass(frozen=True)
class MarketLine:
    external_line_id: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    tax: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")


@dataclass(frozen=True)
class MarketOrder:
    external_id: str
    state: MarketState
    marketplace_status: str
    updated_at: datetime  # aware UTC: the marketplace's last-modified time
    placed_at: datetime | None
    currency: str
    lines: tuple[MarketLine, ...]
    shipping_total: Decimal = Decimal("0")
    customer_name: str = ""
    customer_email: str = ""
    ship_name: str = ""
    ship_line1: str = ""
    ship_line2: str = ""
    ship_city: str = ""
    ship_region: str = ""
    ship_postal_code: str = ""
    ship_country: str = ""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass
class Page:
    orders: list[MarketOrder]
    next_token: str | None
    total: int | None = None  # orders in the whole window, when the marketplace says
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (external id, why)


@dataclass(frozen=True)
class ShipmentLine:
    external_line_id: str
    sku: str
    quantity: Decimal


@dataclass(frozen=True)
class ShipmentConfirmation:
    external_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[ShipmentLine, ...]
    marketplace_id: str = ""


class Connector(abc.ABC):
    """One channel's connection to its marketplace (endpoint and credentials from the channel)."""

    #: Credential keys the channel must carry (checked before any request).
    credential_keys: tuple[str, ...] = ()
    #: How far behind "now" a window must end (Amazon refuses the last two minutes).
    settle_seconds: int = 0

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.credentials: dict[str, Any] = dict(channel.credentials or {})

    def credential(self, key: str) -> str:
        from commerce.marketplaces.http import MarketplaceError

        value = self.credentials.get(key)
        if not value:
            raise MarketplaceError(f"Channel {self.channel.code}: credential {key!r} is not set.")
        return str(value)

    @abc.abstractmethod
    def fetch_page(self, window: Window, token: str | None) -> Page:
        """One page of orders modified in the window (``token`` None: the first page)."""

    @abc.abstractmethod
    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        """Tell the marketplace the order (or part of it) was shipped."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


_registry: dict[str, Callable[[Channel], Connector]] = {}


def connector_register(kind: str, factory: Callable[[Channel], Connector]) -> None:
    _registry[kind] = factory


def connector_for(channel: Channel) -> Connector:
    """The connector of the channel's kind (``MarketplaceError`` for a non-marketplace)."""
    from commerce.marketplaces import load_connectors
    from commerce.marketplaces.http import MarketplaceError

    load_connectors()
    factory = _registry.get(channel.kind)
    if factory is None:
        raise MarketplaceError(f"Channel kind {channel.kind!r} has no marketplace connector.")
    if not channel.endpoint:
        raise MarketplaceError(f"Channel {channel.code} has no endpoint.")
    return factory(channel)
