"""Validation and amounts of new marketplace orders (before they are written).

:func:`order_prepare` checks one :class:`MarketOrder` (an ISO 4217 currency, at least one line,
known active SKUs, positive quantities, no negative price, tax, discount or shipping, discounts
not above the amount) and computes its totals (rounded half up to 4 places), the FX rate to the
tenant's base currency on the order date and the shipping coordinates (offline gazetteer). A
refusal raises :class:`OrderRefused` with the reason the sync run reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from commerce.geo import coordinates_for
from commerce.marketplaces.base import MarketOrder
from commerce.models import Channel
from commerce.services.fx import fx_rate
from commerce.services.import_rows import products_active
from oms_site.errors import ApplicationError
from tenancy.models import Tenant

MONEY = Decimal("0.0001")
ZERO = Decimal("0")
CURRENCY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass
class Prepared:
    market: MarketOrder
    currency: str
    lines: list[tuple[int, Any]]  # (product id, MarketLine)
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    grand: Decimal
    rate: Decimal
    coordinates: tuple[Decimal, Decimal] | None

    @property
    def grand_base(self) -> Decimal:
        return (self.grand * self.rate).quantize(MONEY, ROUND_HALF_UP)


class OrderRefused(Exception):
    pass


class PageContext:
    """Per-page caches: SKU -> product id, FX rates, geocodes."""

    def __init__(self, tenant: Tenant, channel: Channel, skus: set[str]) -> None:
        self.tenant = tenant
        self.channel = channel
        found = products_active(tenant_id=tenant.pk, skus=sorted(skus))
        self.products = {sku: pk for sku, (pk, _) in found.items()}
        self.names = dict(found.values())  # product id -> name (the invoice lines' text)
        self.rates: dict[tuple[str, date], Decimal] = {}
        self.places: dict[tuple[str, str], tuple[Decimal, Decimal] | None] = {}

    def rate(self, currency: str, on: date) -> Decimal:
        key = (currency, on)
        if key not in self.rates:
            try:
                self.rates[key] = fx_rate(
                    tenant=self.tenant,
                    from_currency=currency,
                    to_currency=self.tenant.base_currency,
                    on=on,
                )
            except ApplicationError as exc:
                reasons = [m for messages in exc.errors.values() for m in messages]
                raise OrderRefused(" ".join(reasons) or exc.message) from None
        return self.rates[key]

    def place(self, city: str, country: str) -> tuple[Decimal, Decimal] | None:
        key = (city, country)
        if key not in self.places:
            self.places[key] = coordinates_for(city, country) if city and country else None
        return self.places[key]


def line_total(line: Any) -> Decimal:
    """A line's total (net of its discount, with its tax), as the order line stores it."""
    net = (line.quantity * line.unit_price).quantize(MONEY, ROUND_HALF_UP)
    return (net - line.discount + line.tax).quantize(MONEY, ROUND_HALF_UP)


def order_prepare(market: MarketOrder, ctx: PageContext) -> Prepared:
    currency = (market.currency or ctx.channel.currency or "").upper()
    if len(currency) != 3 or not set(currency) <= CURRENCY_CHARS:
        raise OrderRefused(f"currency {market.currency!r} is not an ISO 4217 code")
    if not market.lines:
        raise OrderRefused("the order has no lines")
    lines: list[tuple[int, Any]] = []
    subtotal = discount = tax = ZERO
    for line in market.lines:
        product_id = ctx.products.get(line.sku)
        if product_id is None:
            raise OrderRefused(f"unknown SKU {line.sku!r}")
        if line.quantity <= 0:
            raise OrderRefused(f"SKU {line.sku}: quantity {line.quantity} must be positive")
        if line.unit_price < 0 or line.tax < 0 or line.discount < 0:
            raise OrderRefused(f"SKU {line.sku}: negative price, tax or discount")
        lines.append((product_id, line))
        subtotal += (line.quantity * line.unit_price).quantize(MONEY, ROUND_HALF_UP)
        discount += line.discount
        tax += line.tax
    if market.shipping_total < 0:
        raise OrderRefused("negative shipping")
    grand = (subtotal - discount + tax + market.shipping_total).quantize(MONEY, ROUND_HALF_UP)
    if grand < 0:
        raise OrderRefused("discounts exceed the order amount")
    on = (market.placed_at or market.updated_at).date()
    return Prepared(
        market=market,
        currency=currency,
        lines=lines,
        subtotal=subtotal.quantize(MONEY, ROUND_HALF_UP),
        discount=discount.quantize(MONEY, ROUND_HALF_UP),
        tax=tax.quantize(MONEY, ROUND_HALF_UP),
        grand=grand,
        rate=ctx.rate(currency, on),
        coordinates=ctx.place(market.ship_city, market.ship_country),
    )
