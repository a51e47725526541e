"""Demo trading reference data for ``seed_demo``: idempotent, a second run changes nothing.

For the trading tenants (``acme-capital`` and ``initech``): one instrument of every asset class
(plus a second equity), three simulated venues with different fees and asset classes, an
account of each kind with opening USD cash, and an opening quote for every instrument on every
venue that trades its asset class (each venue a little different, so smart routing has a
choice: XNYS and DARK show the best price, DARK the lowest fee, ARCX the most size).
Existing rows are never changed, so whatever the demo user did to them survives a re-seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from tenancy.models import Tenant
from trading.models import Account, AccountKind, AssetClass, Instrument, Venue, VenueKind
from trading.services.reference import (
    account_create,
    cash_balance_ensure,
    instrument_create,
    quote_ensure,
    venue_create,
)

TENANTS = ("acme-capital", "initech")
D = Decimal
ONE = Decimal("1")


@dataclass(frozen=True)
class DemoInstrument:
    symbol: str
    name: str
    asset_class: str
    price: Decimal  # the opening last price (percent of par for bonds and loans)
    tick_size: Decimal
    lot_size: Decimal = ONE
    multiplier: Decimal = ONE
    settlement_days: int | None = None
    issuer: str = ""
    sector: str = ""


INSTRUMENTS = (
    DemoInstrument(
        "AAPL", "Apple Inc.", AssetClass.EQUITY, D("190.00"), D("0.01"),
        issuer="Apple Inc.", sector="Technology",
    ),
    DemoInstrument(
        "MSFT", "Microsoft Corporation", AssetClass.EQUITY, D("415.00"), D("0.01"),
        issuer="Microsoft Corporation", sector="Technology",
    ),
    DemoInstrument(
        "UST-4.25-2034", "US Treasury 4.25% 15 Nov 2034 (price in % of par)",
        AssetClass.BOND, D("98.5"), D("0.0078125"), lot_size=D("1000"), settlement_days=1,
        issuer="United States Treasury", sector="Government",
    ),
    DemoInstrument(
        "EURUSD", "Euro / US dollar", AssetClass.FX, D("1.08500"), D("0.00001"),
        lot_size=D("1000"),
    ),
    DemoInstrument(
        "XAU", "Gold, per troy ounce", AssetClass.COMMODITY, D("2350.00"), D("0.01"),
        settlement_days=2, sector="Precious metals",
    ),
    DemoInstrument(
        "GLOBEX-TLB-2029", "Globex Corp term loan B 2029 (price in % of par)",
        AssetClass.LOAN, D("99.25"), D("0.125"), lot_size=D("1000"), settlement_days=7,
        issuer="Globex Corporation", sector="Industrials",
    ),
    DemoInstrument(
        "USD", "US dollar cash", AssetClass.CASH, D("1.0000"), D("0.0001"),
        lot_size=D("0.01"), settlement_days=0,
    ),
    DemoInstrument(
        "AAPL261218C200", "AAPL 18 Dec 2026 200 call (x100)", AssetClass.OPTION, D("12.50"),
        D("0.01"), multiplier=D("100"), settlement_days=1,
        issuer="Apple Inc.", sector="Technology",
    ),
    DemoInstrument(
        "ESZ6", "E-mini S&P 500 Dec 2026 (x50)", AssetClass.FUTURE, D("5600.00"), D("0.25"),
        multiplier=D("50"), settlement_days=0, sector="Equity index",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DemoVenue:
    code: str
    name: str
    kind: str
    taker_fee_bps: Decimal
    maker_fee_bps: Decimal
    asset_classes: tuple[str, ...]
    half_spread_ticks: int  # the quote: last -/+ this many ticks
    lots_displayed: int  # the quote: this many lots on each side


VENUES = (
    DemoVenue(
        "XNYS", "NYSE (simulated)", VenueKind.EXCHANGE, D("3"), D("-2"),
        (AssetClass.EQUITY, AssetClass.BOND, AssetClass.OPTION, AssetClass.FUTURE,
         AssetClass.COMMODITY),
        half_spread_ticks=1, lots_displayed=500,
    ),
    DemoVenue(
        "ARCX", "NYSE Arca (simulated)", VenueKind.ECN, D("2"), D("-1"),
        (AssetClass.EQUITY, AssetClass.FX, AssetClass.OPTION, AssetClass.FUTURE,
         AssetClass.COMMODITY, AssetClass.CASH),
        half_spread_ticks=2, lots_displayed=800,
    ),
    DemoVenue(
        "DARK", "Midpoint dark pool (simulated)", VenueKind.DARK, D("1"), D("1"),
        (AssetClass.EQUITY, AssetClass.BOND, AssetClass.FX, AssetClass.LOAN),
        half_spread_ticks=1, lots_displayed=200,
    ),
)  # fmt: skip
SESSION = ("America/New_York", time(9, 30), time(16, 0))

# (code, kind, name, beneficial owner, opening USD cash), per tenant
ACCOUNTS: dict[str, tuple[tuple[str, str, str, str, Decimal], ...]] = {
    "acme-capital": (
        ("C-1001", AccountKind.CLIENT, "Northwind Pension Fund", "Northwind Pension Trust",
         D("25000000")),
        ("PROP-1", AccountKind.PROPRIETARY, "Acme proprietary book", "Acme Capital LLC",
         D("50000000")),
        ("E-1001", AccountKind.EMPLOYEE, "Jane Doe (employee)", "Jane Doe", D("250000")),
    ),
    "initech": (
        ("C-1001", AccountKind.CLIENT, "Initrode treasury mandate", "Initrode Inc.",
         D("10000000")),
        ("PROP-1", AccountKind.PROPRIETARY, "Initech treasury book", "Initech Corporation",
         D("20000000")),
        ("E-1001", AccountKind.EMPLOYEE, "Peter Gibbons (employee)", "Peter Gibbons",
         D("100000")),
    ),
}  # fmt: skip


def _instruments(tenant: Tenant) -> tuple[dict[str, Instrument], int]:
    existing = {i.symbol: i for i in Instrument.objects.for_tenant(tenant)}
    created = 0
    for spec in INSTRUMENTS:
        if spec.symbol in existing:
            continue
        existing[spec.symbol] = instrument_create(
            tenant=tenant,
            actor=None,
            symbol=spec.symbol,
            name=spec.name,
            asset_class=spec.asset_class,
            currency="USD",
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            multiplier=spec.multiplier,
            issuer=spec.issuer,
            sector=spec.sector,
            settlement_days=spec.settlement_days,
        )
        created += 1
    return existing, created


def _venues(tenant: Tenant) -> tuple[dict[str, Venue], int]:
    existing = {v.code: v for v in Venue.objects.for_tenant(tenant)}
    created = 0
    timezone, opens, closes = SESSION
    for spec in VENUES:
        if spec.code in existing:
            continue
        existing[spec.code] = venue_create(
            tenant=tenant,
            actor=None,
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            asset_classes=list(spec.asset_classes),
            taker_fee_bps=spec.taker_fee_bps,
            maker_fee_bps=spec.maker_fee_bps,
            timezone=timezone,
            session_open=opens,
            session_close=closes,
        )
        created += 1
    return existing, created


def _accounts(tenant: Tenant) -> int:
    existing = {a.code: a for a in Account.objects.for_tenant(tenant)}
    created = 0
    for code, kind, name, owner, cash in ACCOUNTS[tenant.slug]:
        account = existing.get(code)
        if account is None:
            account = account_create(
                tenant=tenant,
                actor=None,
                code=code,
                name=name,
                kind=kind,
                beneficial_owner=owner,
                base_currency="USD",
            )
            created += 1
        cash_balance_ensure(tenant=tenant, actor=None, account=account, currency="USD", amount=cash)
    return created


def _quotes(tenant: Tenant, instruments: dict[str, Instrument], venues: dict[str, Venue]) -> None:
    for spec in VENUES:
        venue = venues[spec.code]
        for item in INSTRUMENTS:
            if item.asset_class not in spec.asset_classes:
                continue
            half_spread = item.tick_size * spec.half_spread_ticks
            size = item.lot_size * spec.lots_displayed
            quote_ensure(
                tenant=tenant,
                actor=None,
                venue=venue,
                instrument=instruments[item.symbol],
                bid=item.price - half_spread,
                bid_size=size,
                ask=item.price + half_spread,
                ask_size=size,
                last=item.price,
            )


# (client order id, entering user, account, symbol, side, qty, type, limit, time in force)
ORDERS: dict[str, tuple[tuple[str, str, str, str, str, str, str, str | None, str], ...]] = {
    "acme-capital": (
        ("demo-acme-1", "acme.trader", "C-1001", "AAPL", "buy", "300", "market", None, "day"),
        ("demo-acme-2", "acme.trader", "C-1001", "MSFT", "buy", "200", "limit", "400.00", "gtc"),
        ("demo-acme-3", "acme.pm", "PROP-1", "AAPL", "sell", "100", "limit", "205.00", "day"),
    ),
    "initech": (
        ("demo-initech-1", "initech.admin", "PROP-1", "MSFT", "buy", "50", "limit", "410.00",
         "gtc"),
    ),
}  # fmt: skip


def _orders(tenant: Tenant, instruments: dict[str, Instrument]) -> int:
    """Demo orders entered as a trader would (routed by the worker once it runs)."""
    from django.contrib.auth import get_user_model

    from trading.services.entry import TradeOrderInput, trade_order_submit

    accounts = {a.code: a for a in Account.objects.for_tenant(tenant)}
    users = get_user_model().objects
    created = 0
    for client_id, username, account, symbol, side, qty, kind, limit, tif in ORDERS[tenant.slug]:
        result = trade_order_submit(
            tenant=tenant,
            actor=users.get(username=username),
            data=TradeOrderInput(
                client_order_id=client_id,
                account=accounts[account],
                instrument=instruments[symbol],
                side=side,
                quantity=D(qty),
                order_type=kind,
                limit_price=D(limit) if limit else None,
                time_in_force=tif,
            ),
        )
        created += int(result.created)
    return created


def seed(stdout: Any) -> None:
    """Create the demo reference data of the trading tenants that exist (idempotent)."""
    for slug in TENANTS:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            continue
        instruments, new_instruments = _instruments(tenant)
        venues, new_venues = _venues(tenant)
        new_accounts = _accounts(tenant)
        _quotes(tenant, instruments, venues)
        new_orders = _orders(tenant, instruments)
        stdout.write(
            f"Trading demo for {slug}: {new_instruments} new instruments, {new_venues} new "
            f"venues, {new_accounts} new accounts, {new_orders} new orders."
        )
