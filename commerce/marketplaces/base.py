"""The connector interface every marketplace implements, and the registry by channel kind.

A connector speaks one marketplace's documented API and translates it into
:class:`MarketOrder` rows; it knows nothing of the database. The sync service
(``commerce.services.sync``) drives it page by page:

``fetch_page(window, token)`` returns one :class:`Page` of orders modified in
``[window.start, window.end)`` plus the opaque token of the next page (``None`` at the end).
The token is saved on the ``SyncRun`` after each page is stored, so a retried or restarted run
resumes at the page it had not finished. Tokens are whatever the marketplace pages by
(Amazon's ``NextToken``, eBay's offset and AliExpress's page number each with the window's total
last seen, Shopify's ``page_info`` URL).

Shape: a connector reads every answer through ``commerce.marketplaces.util.Json`` and builds
its pages with :func:`page_of`: an order of the wrong shape is a rejection of that order
(``Page.rejected``), an envelope of the wrong shape a ``MalformedResponse`` (the run fails).

Paging while orders change: the window's end is in the past, so while a run pages, an order can
only *leave* the window (a change stamps it with the current time), never enter it. A
marketplace paging by offset or page number then shifts every later order one place forward,
and the page read next would skip one; the connectors of such marketplaces (eBay, AliExpress)
keep the window's ``total`` of the previous page in the page token and step back by the drop
(see each connector). Cursor paging (Amazon's ``NextToken``, Shopify's ``page_info``) does not
shift.

Status mapping: each connector maps its marketplace's order states onto :class:`MarketState`:
``open`` (to be fulfilled by us), ``canceled`` (cancel the order here), ``shipped`` (already
shipped, e.g. fulfilled by the marketplace: imported for the record, not routed), ``pending``
(not yet payable/confirmed at the marketplace: not imported until it becomes open).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from commerce.marketplaces.util import BadOrder, Json

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
    """One package shipped for a marketplace order.

    ``package_id`` identifies the package within the order (our fulfilment id: a positive
    number, as Amazon's ``packageReferenceId`` requires); ``completes_order`` is true when this
    package ships the last units of the order not yet confirmed (AliExpress's ``send_type``)."""

    external_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[ShipmentLine, ...]
    package_id: str
    completes_order: bool
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
        #: How the connector waits when it paces its own requests (the sync run sets its own).
        self.sleep: Callable[[float], None] = time.sleep

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


def page_of(
    raw_orders: list[Any],
    *,
    id_key: str,
    parse: Callable[[Json, str], MarketOrder],
    next_token: str | None,
    total: int | None = None,
) -> Page:
    """A page of the orders of an answer; an order of the wrong shape (``BadOrder``) is
    rejected with its external id (``"?"`` when it has none) and the reason."""
    page = Page(orders=[], next_token=next_token, total=total)
    for raw in raw_orders:
        try:
            order = Json.order(raw)
            order_id = order.text(id_key, 128)
            if not order_id:
                raise BadOrder(f"{id_key} is missing.", field=id_key)
            page.orders.append(parse(order, order_id))
        except BadOrder as exc:
            page.rejected.append((_id_of(raw, id_key), str(exc)))
    return page


def shifted_back(offset: int, previous_total: int | None, total: int | None) -> int | None:
    """Offset paging: where to read next when the window's ``total`` dropped since the
    previous page (None when it did not). ``d`` orders left the window; up to ``d`` orders not
    yet read moved to before ``offset``, so reading again from ``offset - d`` finds them (what
    is read twice is skipped by the upsert: stored and unchanged)."""
    if previous_total is None or total is None or total >= previous_total:
        return None
    return max(0, offset - (previous_total - total))


def _id_of(raw: Any, id_key: str) -> str:
    value = raw.get(id_key) if isinstance(raw, Mapping) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)[:128]
    return "?"


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
