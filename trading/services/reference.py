"""Writes of trading reference data: instruments, accounts, venues (and demo seeding helpers).

The rules each row must satisfy live here once, as pure functions (``instrument_errors``,
``account_errors``, ``venue_errors``) that the API serializers, the admin forms and these services
all apply, so a rule cannot differ between the API and the admin.

Uniqueness (instrument symbol, account code, venue code, each per tenant) is decided by the
database constraint, never by a pre-check query: the ``IntegrityError`` of a duplicate becomes a
400 naming the field.

Nothing is ever deleted: a row that is no longer used is deactivated (``active=False``), which
keeps the orders, trades and positions that point to it intact.
"""

from __future__ import annotations

import functools
import logging
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import time
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from oms_site.errors import NotFound, ValidationFailed
from orders.services import actor_name
from tenancy.models import Tenant
from trading.models import (
    Account,
    AssetClass,
    CashBalance,
    Instrument,
    Position,
    PriceConvention,
    Quote,
    Trade,
    TradeOrder,
    Venue,
)

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=models.Model)
Rule = Callable[[Any], "str | None"]
Errors = dict[str, list[str]]

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9 ./:_-]{0,31}$")
SYMBOL_MESSAGE = (
    "Use 1-32 characters: upper-case letters, digits, space and . / : _ - "
    "(starting with a letter or digit)."
)
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
CODE_MESSAGE = (
    "Use 1-32 characters: upper-case letters, digits and . _ - (starting with a letter or digit)."
)
VENUE_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
VENUE_CODE_MESSAGE = (
    "Use 1-16 characters: upper-case letters, digits, _ and - (MIC-like, e.g. XNYS)."
)
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
CURRENCY_MESSAGE = "Use a three-letter ISO 4217 code in upper case, e.g. USD."
FEE_MIN_BPS, FEE_MAX_BPS = Decimal("-100"), Decimal("1000")
SETTLEMENT_DAYS_MAX = 30
PAR_PRICED = frozenset({AssetClass.BOND, AssetClass.LOAN})
# Economic terms: changing them would re-price existing positions and trades.
INSTRUMENT_TERMS = ("asset_class", "currency", "multiplier", "price_convention")
IMMUTABLE = "Cannot be changed once the instrument has orders, positions or trades."


# --- rules ----------------------------------------------------------------------------------


def _matches(pattern: re.Pattern[str], message: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.match(value) else message

    return rule


def _positive(value: Any) -> str | None:
    return None if value is None or value > 0 else "Must be greater than zero."


def _not_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "Must be zero or more."


def _settlement_days(value: Any) -> str | None:
    if value is None or 0 <= value <= SETTLEMENT_DAYS_MAX:
        return None
    return f"Must be from 0 to {SETTLEMENT_DAYS_MAX} days."


def _fee(value: Any) -> str | None:
    if value is None or FEE_MIN_BPS <= value <= FEE_MAX_BPS:
        return None
    return f"Must be from {FEE_MIN_BPS} to {FEE_MAX_BPS} basis points."


@functools.cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: Any) -> str | None:
    if isinstance(value, str) and value in _known_timezones():
        return None
    return "Unknown time zone; use an IANA name such as America/New_York."


def _asset_classes(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "Name at least one asset class."
    unknown = [item for item in value if item not in AssetClass.values]
    if unknown:
        return f"Unknown asset class {unknown[0]!r}; use {', '.join(AssetClass.values)}."
    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        return f"Duplicate asset class {duplicates[0]!r}."
    return None


INSTRUMENT_RULES: dict[str, Rule] = {
    "symbol": _matches(SYMBOL_PATTERN, SYMBOL_MESSAGE),
    "currency": _matches(CURRENCY_PATTERN, CURRENCY_MESSAGE),
    "tick_size": _positive,
    "lot_size": _positive,
    "multiplier": _positive,
    "settlement_days": _settlement_days,
    "average_daily_volume": _not_negative,
}
ACCOUNT_RULES: dict[str, Rule] = {
    "code": _matches(CODE_PATTERN, CODE_MESSAGE),
    "base_currency": _matches(CURRENCY_PATTERN, CURRENCY_MESSAGE),
}
VENUE_RULES: dict[str, Rule] = {
    "code": _matches(VENUE_CODE_PATTERN, VENUE_CODE_MESSAGE),
    "taker_fee_bps": _fee,
    "maker_fee_bps": _fee,
    "timezone": _timezone,
    "asset_classes": _asset_classes,
}


def _field_errors(values: Mapping[str, Any], rules: Mapping[str, Rule]) -> Errors:
    errors: Errors = {}
    for name, rule in rules.items():
        if name in values:
            message = rule(values[name])
            if message:
                errors[name] = [message]
    return errors


def instrument_errors(values: Mapping[str, Any]) -> Errors:
    """Rule violations of an instrument's (complete or partial) field values, by field."""
    errors = _field_errors(values, INSTRUMENT_RULES)
    convention = values.get("price_convention")
    if convention == PriceConvention.PERCENT_OF_PAR and "price_convention" not in errors:
        if values.get("asset_class") not in PAR_PRICED:
            errors["price_convention"] = ["Percent of par applies to bonds and loans only."]
        elif "multiplier" not in errors and values.get("multiplier", Decimal(1)) != 1:
            errors["multiplier"] = ["Must be 1 for prices in percent of par."]
    return errors


def account_errors(values: Mapping[str, Any]) -> Errors:
    return _field_errors(values, ACCOUNT_RULES)


def venue_errors(values: Mapping[str, Any]) -> Errors:
    errors = _field_errors(values, VENUE_RULES)
    opens, closes = values.get("session_open"), values.get("session_close")
    if opens is not None and closes is not None and not opens < closes:
        errors["session_close"] = ["Must be later than the session open."]
    return errors


def default_price_convention(asset_class: str) -> str:
    """Bonds and loans are priced in percent of par; everything else per unit."""
    return PriceConvention.PERCENT_OF_PAR if asset_class in PAR_PRICED else PriceConvention.PER_UNIT


# --- shared mechanics -----------------------------------------------------------------------


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(errors=errors)


def _is_unique_violation(exc: IntegrityError, *, constraint: str, column: str) -> bool:
    """Whether ``exc`` is the violation of ``constraint`` (PostgreSQL names it; SQLite lists
    the columns)."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return bool(diag.constraint_name == constraint)
    text = str(exc)
    return constraint in text or (
        "UNIQUE constraint failed" in text and text.rstrip().endswith(f".{column}")
    )


@contextmanager
def _unique_as_invalid(*, constraint: str, field: str, taken: str) -> Iterator[None]:
    """Turns the violation of ``constraint`` into a 400 naming ``field``; other integrity
    errors propagate (the API answers them 409)."""
    try:
        yield
    except IntegrityError as exc:
        if _is_unique_violation(exc, constraint=constraint, column=field):
            raise ValidationFailed(errors={field: [taken]}) from exc
        raise


def _apply(obj: models.Model, changes: Mapping[str, Any]) -> list[str]:
    """Set the fields whose value differs; returns their names (nothing to save: [])."""
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, changes[name])
    return changed


def _current(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _locked(model: type[_M], *, tenant: Tenant, pk: int, what: str) -> _M:
    """The tenant's row, locked; another tenant's id answers exactly like a missing one."""
    manager: Any = model._default_manager
    obj: _M | None = manager.for_tenant(tenant).select_for_update().filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"{what} not found.")
    return obj


# --- instruments ----------------------------------------------------------------------------

INSTRUMENT_FIELDS = (
    "symbol",
    "name",
    "asset_class",
    "currency",
    "tick_size",
    "lot_size",
    "multiplier",
    "price_convention",
    "issuer",
    "sector",
    "settlement_days",
    "average_daily_volume",
    "active",
)
SYMBOL_TAKEN = "An instrument with this symbol already exists."


@transaction.atomic
def instrument_create(
    *,
    tenant: Tenant,
    actor: Any,
    symbol: str,
    name: str,
    asset_class: str,
    currency: str,
    tick_size: Decimal = Decimal("0.01"),
    lot_size: Decimal = Decimal("1"),
    multiplier: Decimal = Decimal("1"),
    price_convention: str | None = None,
    issuer: str = "",
    sector: str = "",
    settlement_days: int | None = None,
    average_daily_volume: Decimal | None = None,
    active: bool = True,
) -> Instrument:
    """Create an instrument; ``price_convention`` defaults by asset class (bonds and loans:
    percent of par). A symbol already used in the tenant: 400 naming ``symbol``."""
    values = {
        "symbol": symbol,
        "name": name,
        "asset_class": asset_class,
        "currency": currency,
        "tick_size": tick_size,
        "lot_size": lot_size,
        "multiplier": multiplier,
        "price_convention": price_convention or default_price_convention(asset_class),
        "issuer": issuer,
        "sector": sector,
        "settlement_days": settlement_days,
        "average_daily_volume": average_daily_volume,
        "active": active,
    }
    _raise_if(instrument_errors(values))
    instrument = Instrument(tenant=tenant, **values)
    with _unique_as_invalid(
        constraint="instrument_unique_symbol", field="symbol", taken=SYMBOL_TAKEN
    ):
        instrument.save(force_insert=True)
    logger.info("instrument %s created by %s", instrument.symbol, actor_name(actor))
    return instrument


def instrument_is_used(*, tenant: Tenant, instrument_id: int) -> bool:
    """Whether orders, positions or trades refer to the instrument."""
    return any(
        model.objects.for_tenant(tenant).filter(instrument_id=instrument_id).exists()
        for model in (TradeOrder, Position, Trade)
    )


@transaction.atomic
def instrument_update(
    *, tenant: Tenant, actor: Any, instrument_id: int, **changes: Any
) -> Instrument:
    """Change some fields (``INSTRUMENT_FIELDS``); unchanged values write nothing.

    The economic terms (asset class, currency, multiplier, price convention) are frozen once
    orders, positions or trades refer to the instrument: they would silently re-price them.
    """
    unknown = sorted(set(changes) - set(INSTRUMENT_FIELDS))
    if unknown:
        raise ValidationFailed(errors={name: ["Unknown field."] for name in unknown})
    instrument = _locked(Instrument, tenant=tenant, pk=instrument_id, what="Instrument")
    _raise_if(instrument_errors({**_current(instrument, INSTRUMENT_FIELDS), **changes}))
    terms = [n for n in INSTRUMENT_TERMS if n in changes and changes[n] != getattr(instrument, n)]
    if terms and instrument_is_used(tenant=tenant, instrument_id=instrument.pk):
        raise ValidationFailed(errors={name: [IMMUTABLE] for name in terms})
    changed = _apply(instrument, changes)
    if not changed:
        return instrument
    with _unique_as_invalid(
        constraint="instrument_unique_symbol", field="symbol", taken=SYMBOL_TAKEN
    ):
        instrument.save(update_fields=[*changed, "updated_at"])
    logger.info("instrument %s updated by %s: %s", instrument.symbol, actor_name(actor), changed)
    return instrument


# --- accounts -------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("code", "name", "kind", "beneficial_owner", "base_currency", "active")
CODE_TAKEN = "An account with this code already exists."


@transaction.atomic
def account_create(
    *,
    tenant: Tenant,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    beneficial_owner: str,
    base_currency: str,
    active: bool = True,
) -> Account:
    """Create an account. Cash balances appear as cash moves (trades, or the demo seed)."""
    values = {
        "code": code,
        "name": name,
        "kind": kind,
        "beneficial_owner": beneficial_owner,
        "base_currency": base_currency,
        "active": active,
    }
    _raise_if(account_errors(values))
    account = Account(tenant=tenant, **values)
    with _unique_as_invalid(constraint="account_unique_code", field="code", taken=CODE_TAKEN):
        account.save(force_insert=True)
    logger.info("account %s created by %s", account.code, actor_name(actor))
    return account


@transaction.atomic
def account_update(*, tenant: Tenant, actor: Any, account_id: int, **changes: Any) -> Account:
    unknown = sorted(set(changes) - set(ACCOUNT_FIELDS))
    if unknown:
        raise ValidationFailed(errors={name: ["Unknown field."] for name in unknown})
    account = _locked(Account, tenant=tenant, pk=account_id, what="Account")
    _raise_if(account_errors(changes))
    changed = _apply(account, changes)
    if not changed:
        return account
    with _unique_as_invalid(constraint="account_unique_code", field="code", taken=CODE_TAKEN):
        account.save(update_fields=[*changed, "updated_at"])
    logger.info("account %s updated by %s: %s", account.code, actor_name(actor), changed)
    return account


@transaction.atomic
def cash_balance_ensure(
    *, tenant: Tenant, actor: Any, account: Account, currency: str, amount: Decimal
) -> CashBalance:
    """The account's balance in ``currency``: created with ``amount`` if missing, an existing
    one is left as it is (idempotent: used to seed opening balances)."""
    _raise_if(_field_errors({"currency": currency}, {"currency": INSTRUMENT_RULES["currency"]}))
    balance, created = CashBalance.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, account=account, currency=currency, defaults={"amount": amount}
    )
    if created:
        logger.debug(
            "cash %s %s opened on %s by %s", currency, amount, account.code, actor_name(actor)
        )
    return balance


# --- venues ---------------------------------------------------------------------------------

VENUE_FIELDS = (
    "code",
    "name",
    "kind",
    "taker_fee_bps",
    "maker_fee_bps",
    "timezone",
    "session_open",
    "session_close",
    "asset_classes",
    "active",
)
VENUE_CODE_TAKEN = "A venue with this code already exists."


@transaction.atomic
def venue_create(
    *,
    tenant: Tenant,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    asset_classes: list[str],
    taker_fee_bps: Decimal = Decimal("0"),
    maker_fee_bps: Decimal = Decimal("0"),
    timezone: str = "UTC",
    session_open: time = time(9, 30),
    session_close: time = time(16, 0),
    active: bool = True,
) -> Venue:
    """Create a (simulated) venue. Sessions run within one day: open < close, local time."""
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "kind": kind,
        "asset_classes": list(asset_classes),
        "taker_fee_bps": taker_fee_bps,
        "maker_fee_bps": maker_fee_bps,
        "timezone": timezone,
        "session_open": session_open,
        "session_close": session_close,
        "active": active,
    }
    _raise_if(venue_errors(values))
    venue = Venue(tenant=tenant, simulated=True, **values)
    with _unique_as_invalid(constraint="venue_unique_code", field="code", taken=VENUE_CODE_TAKEN):
        venue.save(force_insert=True)
    logger.info("venue %s created by %s", venue.code, actor_name(actor))
    return venue


@transaction.atomic
def venue_update(*, tenant: Tenant, actor: Any, venue_id: int, **changes: Any) -> Venue:
    """Change some fields. The code is the venue's identity (URLs, child orders): fixed."""
    unknown = sorted(set(changes) - set(VENUE_FIELDS))
    if unknown:
        raise ValidationFailed(errors={name: ["Unknown field."] for name in unknown})
    venue = _locked(Venue, tenant=tenant, pk=venue_id, what="Venue")
    if "code" in changes and changes["code"] != venue.code:
        raise ValidationFailed(errors={"code": ["Cannot be changed; create a new venue."]})
    _raise_if(venue_errors({**_current(venue, VENUE_FIELDS), **changes}))
    changed = _apply(venue, changes)
    if not changed:
        return venue
    with _unique_as_invalid(constraint="venue_unique_code", field="code", taken=VENUE_CODE_TAKEN):
        venue.save(update_fields=[*changed, "updated_at"])
    logger.info("venue %s updated by %s: %s", venue.code, actor_name(actor), changed)
    return venue


# --- demo seeding ---------------------------------------------------------------------------


@transaction.atomic
def quote_ensure(
    *,
    tenant: Tenant,
    actor: Any,
    venue: Venue,
    instrument: Instrument,
    bid: Decimal | None,
    bid_size: Decimal,
    ask: Decimal | None,
    ask_size: Decimal,
    last: Decimal | None,
) -> Quote:
    """An opening quote: created if missing, an existing one is left as it is.

    Live quotes arrive through the market data service, which also wakes resting orders.
    """
    quote, created = Quote.objects.for_tenant(tenant).get_or_create(
        tenant=tenant,
        venue=venue,
        instrument=instrument,
        defaults={
            "bid": bid,
            "bid_size": bid_size,
            "ask": ask,
            "ask_size": ask_size,
            "last": last,
        },
    )
    if created:
        logger.debug("quote %s@%s seeded by %s", instrument.symbol, venue.code, actor_name(actor))
    return quote
