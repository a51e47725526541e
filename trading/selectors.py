"""Reads of trading reference data and positions; every query is scoped to one tenant."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from oms_site.errors import NotFound
from tenancy.models import Tenant
from trading.models import (
    Account,
    CashBalance,
    Instrument,
    Position,
    PriceConvention,
    Quote,
    Venue,
)
from trading.models.fields import MONEY_PLACES

MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


def instruments_visible(*, tenant: Tenant) -> QuerySet[Instrument]:
    return Instrument.objects.for_tenant(tenant)


def accounts_visible(*, tenant: Tenant) -> QuerySet[Account]:
    """Accounts with their cash balances (one prefetch query for the whole page)."""
    balances = CashBalance.objects.for_tenant(tenant).order_by("currency")
    return Account.objects.for_tenant(tenant).prefetch_related(
        Prefetch("cash_balances", queryset=balances)
    )


def venues_visible(*, tenant: Tenant) -> QuerySet[Venue]:
    return Venue.objects.for_tenant(tenant)


def instrument_get_by_symbol(*, tenant: Tenant, symbol: str) -> Instrument:
    """The tenant's instrument; another tenant's symbol answers exactly like a missing one."""
    instrument = Instrument.objects.for_tenant(tenant).filter(symbol=symbol).first()
    if instrument is None:
        raise NotFound("Instrument not found.")
    return instrument


def account_get_by_code(*, tenant: Tenant, code: str) -> Account:
    account = Account.objects.for_tenant(tenant).filter(code=code).first()
    if account is None:
        raise NotFound("Account not found.")
    return account


def venue_get_by_code(*, tenant: Tenant, code: str) -> Venue:
    venue = Venue.objects.for_tenant(tenant).filter(code=code).first()
    if venue is None:
        raise NotFound("Venue not found.")
    return venue


def _last_price_subquery(quotes: QuerySet[Quote]) -> Subquery:
    """The last trade price of the position's instrument: the most recently updated quote
    of that instrument (on any venue) that has one."""
    latest = (
        quotes.filter(instrument_id=OuterRef("instrument_id"), last__isnull=False)
        .order_by("-updated_at", "-id")
        .values("last")[:1]
    )
    return Subquery(latest)


def positions_with_last_price(positions: QuerySet[Position], quotes: QuerySet[Quote]) -> Any:
    """``positions`` with ``last_price`` annotated (a correlated subquery: no query per row).

    ``quotes`` scopes the subquery (the request tenant's quotes; the admin passes its own).
    """
    return positions.select_related("account", "instrument").annotate(
        last_price=_last_price_subquery(quotes)
    )


def positions_visible(*, tenant: Tenant) -> QuerySet[Position]:
    """The tenant's positions with account, instrument and ``last_price``, oldest first."""
    qs: QuerySet[Position] = positions_with_last_price(
        Position.objects.for_tenant(tenant), Quote.objects.for_tenant(tenant)
    )
    return qs.order_by("id")


def position_get(*, tenant: Tenant, position_id: int) -> Position:
    position = positions_visible(tenant=tenant).filter(pk=position_id).first()
    if position is None:
        raise NotFound("Position not found.")
    return position


def position_unrealized_pnl(position: Position) -> Decimal | None:
    """Mark-to-market P&L of the open quantity at ``last_price`` (annotated by
    ``positions_visible``), in the instrument currency; None when there is no last price.

    Per-unit instruments: (last - avg_cost) x quantity x multiplier; percent of par:
    (last - avg_cost) x quantity / 100. A short position (quantity < 0) gains as the price
    falls. Rounded half-even to the money precision.
    """
    last: Decimal | None = getattr(position, "last_price", None)
    if last is None:
        return None
    instrument = position.instrument
    with localcontext() as context:
        context.prec = 100  # exact for any value the decimal columns can hold
        difference = (last - position.avg_cost) * position.quantity
        if instrument.price_convention == PriceConvention.PERCENT_OF_PAR:
            pnl = difference / Decimal(100)
        else:
            pnl = difference * instrument.multiplier
        return pnl.quantize(MONEY_QUANTUM)
