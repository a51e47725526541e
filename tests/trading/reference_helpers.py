"""Shared readers of the trading reference tests: snapshots and exact JSON bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tenancy.models import Tenant
from trading.models import Account, CashBalance, Instrument, Position, Quote, Venue

JSON = "application/json"
NOT_FOUND = {"code": "not_found", "detail": "Not found."}
FORBIDDEN = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}
ROLES = (
    "admin",
    "trader",
    "portfolio_manager",
    "compliance_officer",
    "operations",
    "seller",
    "viewer",
)
WRITERS = ("admin", "operations")
NON_WRITERS = tuple(role for role in ROLES if role not in WRITERS)


def invalid(**errors: Any) -> dict[str, Any]:
    return {"code": "invalid", "detail": "Invalid input.", "errors": errors}


def method_not_allowed(method: str) -> dict[str, Any]:
    return {"code": "method_not_allowed", "detail": f'Method "{method}" not allowed.'}


def iso(value: datetime | None) -> str | None:
    """DRF's datetime rendering: ISO 8601, UTC written as Z."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def dec(value: Decimal | None, places: int) -> str | None:
    """DRF's decimal rendering: a string with exactly ``places`` decimals."""
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def reference_snapshot(tenant: Tenant | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every reference row (of one tenant, or all): compare around a refused request."""

    def rows(model: Any) -> list[dict[str, Any]]:
        manager = model.objects
        qs = (
            manager.for_tenant(tenant)
            if tenant is not None
            else manager.all_tenants(reason="test snapshot across tenants")
        )
        return list(qs.order_by("pk").values())

    return {
        model.__name__: rows(model)
        for model in (Instrument, Account, CashBalance, Venue, Quote, Position)
    }


def instrument_json(instrument: Instrument) -> dict[str, Any]:
    fresh = Instrument.objects.for_tenant(instrument.tenant_id).get(pk=instrument.pk)
    return {
        "id": fresh.pk,
        "symbol": fresh.symbol,
        "name": fresh.name,
        "asset_class": fresh.asset_class,
        "currency": fresh.currency,
        "tick_size": dec(fresh.tick_size, 8),
        "lot_size": dec(fresh.lot_size, 6),
        "multiplier": dec(fresh.multiplier, 6),
        "price_convention": fresh.price_convention,
        "issuer": fresh.issuer,
        "sector": fresh.sector,
        "settlement_days": fresh.settlement_days,
        "settlement_lag": fresh.settlement_lag,
        "average_daily_volume": dec(fresh.average_daily_volume, 6),
        "active": fresh.active,
        "created_at": iso(fresh.created_at),
        "updated_at": iso(fresh.updated_at),
    }


def account_json(account: Account) -> dict[str, Any]:
    fresh = Account.objects.for_tenant(account.tenant_id).get(pk=account.pk)
    balances = CashBalance.objects.for_tenant(account.tenant_id).filter(account=fresh)
    return {
        "id": fresh.pk,
        "code": fresh.code,
        "name": fresh.name,
        "kind": fresh.kind,
        "beneficial_owner": fresh.beneficial_owner,
        "base_currency": fresh.base_currency,
        "active": fresh.active,
        "cash_balances": [
            {"currency": b.currency, "amount": dec(b.amount, 6), "updated_at": iso(b.updated_at)}
            for b in balances.order_by("currency")
        ],
        "created_at": iso(fresh.created_at),
        "updated_at": iso(fresh.updated_at),
    }


def venue_json(venue: Venue) -> dict[str, Any]:
    fresh = Venue.objects.for_tenant(venue.tenant_id).get(pk=venue.pk)
    return {
        "id": fresh.pk,
        "code": fresh.code,
        "name": fresh.name,
        "kind": fresh.kind,
        "taker_fee_bps": dec(fresh.taker_fee_bps, 4),
        "maker_fee_bps": dec(fresh.maker_fee_bps, 4),
        "timezone": fresh.timezone,
        "session_open": fresh.session_open.isoformat(),
        "session_close": fresh.session_close.isoformat(),
        "asset_classes": fresh.asset_classes,
        "simulated": fresh.simulated,
        "session_is_open": fresh.session_is_open,
        "active": fresh.active,
        "created_at": iso(fresh.created_at),
        "updated_at": iso(fresh.updated_at),
    }
