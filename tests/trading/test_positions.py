"""Booking fills into positions, trades and cash (trading.services.booking): hand-computed
quantity, average cost and realized P&L, through zero both ways, bonds priced in % of par,
futures with a multiplier; cash moved by notional and fees; settlement dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.trading.factories import AccountFactory, InstrumentFactory, VenueFactory
from tests.trading.helpers import (
    D,
    children,
    enter,
    fill,
    manual_venue_install,
    position_of,
    report,
)
from trading.models import CashBalance, Position, Trade
from trading.services.booking import position_apply, settlement_date
from trading.venues.base import ReportKind

# --- position_apply: the arithmetic ------------------------------------------------------------

# (signed quantity, price) -> (quantity, average cost, realized by this fill, realized total)
EQUITY_SEQUENCE = [
    (("100", "10"), ("100", "10", "0", "0")),
    (("50", "13"), ("150", "11", "0", "0")),  # (1000 + 650) / 150
    (("-60", "12"), ("90", "11", "60", "60")),  # (12 - 11) x 60
    (("-90", "10"), ("0", "0", "-90", "-30")),  # flat: no cost left
    (("-40", "9"), ("-40", "9", "0", "-30")),  # short from flat
    (("-10", "10"), ("-50", "9.2", "0", "-30")),  # (40 x 9 + 10 x 10) / 50
    (("20", "8"), ("-30", "9.2", "24", "-6")),  # short covered below cost: (9.2 - 8) x 20
    (("80", "9"), ("50", "9", "6", "0")),  # through zero: 30 covered, 50 long at 9
    (("-150", "10"), ("-100", "10", "50", "50")),  # through zero again: 50 sold, 100 short
]


def _position() -> Position:
    return Position(quantity=D("0"), avg_cost=D("0"), realized_pnl=D("0"))


def _run(sequence, per_unit: str) -> list[tuple]:
    position = _position()
    result = []
    for (qty, px), _ in sequence:
        realized = position_apply(
            position=position, signed_qty=D(qty), price=D(px), notional_per_unit=D(per_unit)
        )
        result.append((position.quantity, position.avg_cost, realized, position.realized_pnl))
    return result


def _expected(sequence) -> list[tuple]:
    return [tuple(D(v) for v in after) for _, after in sequence]


def test_equity_buys_and_sells_through_zero_both_ways():
    assert _run(EQUITY_SEQUENCE, "1") == _expected(EQUITY_SEQUENCE)


def test_bond_priced_in_percent_of_par_realizes_in_cash_terms():
    # face 100,000 bought at 99.50 and 40,000 sold at 101.25: (101.25 - 99.50)% x 40,000
    sequence = [
        (("100000", "99.50"), ("100000", "99.50", "0", "0")),
        (("-40000", "101.25"), ("60000", "99.50", "700", "700")),
        (("-60000", "98.75"), ("0", "0", "-450", "250")),  # -0.75% x 60,000
    ]
    assert _run(sequence, "0.01") == _expected(sequence)


def test_future_with_a_multiplier_realizes_points_times_multiplier():
    sequence = [
        (("2", "4000"), ("2", "4000", "0", "0")),
        (("3", "4006"), ("5", "4003.6", "0", "0")),
        (("-6", "4010"), ("-1", "4010", "1600", "1600")),  # (4010 - 4003.6) x 5 x 50
        (("1", "4020"), ("0", "0", "-500", "1100")),  # short 1 covered 10 points higher
    ]
    assert _run(sequence, "50") == _expected(sequence)


def test_average_cost_is_rounded_as_stored():
    position = _position()
    position_apply(position=position, signed_qty=D("3"), price=D("10"), notional_per_unit=D(1))
    position_apply(position=position, signed_qty=D("3"), price=D("10.01"), notional_per_unit=D(1))
    position_apply(position=position, signed_qty=D("3"), price=D("10.01"), notional_per_unit=D(1))
    assert position.avg_cost == D("10.00666667")
    realized = position_apply(
        position=position, signed_qty=D("-9"), price=D("10.02"), notional_per_unit=D(1)
    )
    assert realized == D("0.120000")  # (10.02 - 10.00666667) x 9 = 0.11999997 -> 6 places


# --- settlement dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trade_date", "lag", "settles"),
    [
        (date(2026, 11, 25), 1, date(2026, 11, 26)),  # Wed T+1 -> Thu
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Fri T+1 -> Mon
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Sat T+1 -> Mon
        (date(2026, 11, 26), 2, date(2026, 11, 30)),  # Thu T+2 -> Mon
        (date(2026, 11, 27), 2, date(2026, 12, 1)),  # Fri T+2 -> Tue
        (date(2026, 11, 25), 3, date(2026, 11, 30)),  # Wed T+3 -> Mon
        (date(2026, 11, 25), 0, date(2026, 11, 25)),  # same day
        (date(2026, 11, 23), 10, date(2026, 12, 7)),  # two full weeks
    ],
)
def test_settlement_date_skips_weekends(trade_date, lag, settles):
    assert settlement_date(trade_date, lag) == settles


# --- real fills: trades, positions, cash ---------------------------------------------------------

WED = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
FRI = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


@pytest.fixture
def book(tenant, trader, monkeypatch):
    """An account, a venue trading everything (scripted by the test), and a way to fill."""
    manual_venue_install(monkeypatch)
    account = AccountFactory(tenant=tenant, code="ACC-1")
    venue = VenueFactory(
        tenant=tenant, code="XA", asset_classes=["equity", "bond", "fx", "future", "commodity"]
    )

    def trade(instrument, side, qty, px, *, fee="0", at=WED):
        order = enter(
            tenant=tenant,
            actor=trader,
            account=account,
            instrument=instrument,
            side=side,
            quantity=qty,
            order_type="limit",
            limit_price=px,
            venue=venue,
        )
        child = children(order)[0]
        report(child, ReportKind.ACK)
        fill(child, qty, px, fee=fee, at=at)
        return order

    trade.account = account  # type: ignore[attr-defined]
    return trade


def _cash(account) -> dict[str, D]:
    return dict(
        CashBalance.objects.for_tenant(account.tenant_id)
        .filter(account=account)
        .values_list("currency", "amount")
    )


def _trades(account) -> list[tuple]:
    return list(
        Trade.objects.for_tenant(account.tenant_id)
        .filter(account=account)
        .order_by("pk")
        .values_list(
            "side", "quantity", "price", "gross", "fee", "realized_pnl", "trade_date", "settle_date"
        )
    )


@pytest.mark.django_db
def test_equity_fills_book_position_cash_and_trades(tenant, book):
    # given an equity
    acme = InstrumentFactory(tenant=tenant, symbol="ACME", asset_class="equity")
    # when the account trades a sequence of buys and sells, through zero
    steps = [
        ("buy", "100", "10.00", "0.30"),
        ("buy", "50", "13.00", "0.20"),
        ("sell", "60", "12.00", "0.22"),
        ("sell", "130", "10.50", "0.41"),  # 90 sold out of the long, 40 short at 10.50
        ("buy", "40", "10.00", "0.12"),  # short covered half a point better
    ]
    for side, qty, px, fee in steps:
        book(acme, side, qty, px, fee=fee)
    # then position, realized P&L, cash and each trade are as computed by hand
    position = position_of(book.account, acme)
    assert (position.quantity, position.avg_cost, position.realized_pnl) == (
        D("0"),
        D("0"),
        D("35"),  # +60 (12 - 11) x 60, -45 (10.50 - 11) x 90, +20 (10.50 - 10) x 40
    )
    cash = (
        -1000 - 650 + 720 + 1365 - 400 - (D("0.30") + D("0.20") + D("0.22") + D("0.41") + D("0.12"))
    )
    assert _cash(book.account) == {"USD": cash}
    assert cash == D("33.75")  # realized 35 less 1.25 of fees
    thu = date(2026, 11, 26)
    wed = date(2026, 11, 25)
    assert _trades(book.account) == [
        ("buy", D("100"), D("10"), D("1000"), D("0.30"), D("0"), wed, thu),
        ("buy", D("50"), D("13"), D("650"), D("0.20"), D("0"), wed, thu),
        ("sell", D("60"), D("12"), D("720"), D("0.22"), D("60"), wed, thu),
        ("sell", D("130"), D("10.50"), D("1365"), D("0.41"), D("-45"), wed, thu),
        ("buy", D("40"), D("10"), D("400"), D("0.12"), D("20"), wed, thu),
    ]


@pytest.mark.django_db
def test_bond_in_percent_of_par_moves_cash_by_its_price_over_100(tenant, book):
    bond = InstrumentFactory(
        tenant=tenant,
        symbol="UST-30",
        asset_class="bond",
        price_convention="percent_of_par",
        lot_size=D("1000"),
        settlement_days=1,
    )
    book(bond, "buy", "100000", "99.50", fee="10")
    book(bond, "sell", "40000", "101.25", fee="4")
    position = position_of(book.account, bond)
    assert (position.quantity, position.avg_cost, position.realized_pnl) == (
        D("60000"),
        D("99.50"),
        D("700"),
    )
    assert _cash(book.account) == {"USD": D("-99500") - 10 + D("40500") - 4}
    assert [t[3] for t in _trades(book.account)] == [D("99500"), D("40500")]


@pytest.mark.django_db
def test_future_notional_uses_the_multiplier(tenant, book):
    future = InstrumentFactory(
        tenant=tenant,
        symbol="ESZ6",
        asset_class="future",
        multiplier=D("50"),
        tick_size=D("0.25"),
        settlement_days=0,
    )
    book(future, "buy", "2", "4000.00", fee="2.50")
    book(future, "sell", "3", "4010.00", fee="3.75")
    position = position_of(book.account, future)
    assert (position.quantity, position.avg_cost, position.realized_pnl) == (
        D("-1"),
        D("4010"),
        D("1000"),  # 10 points x 2 contracts x 50
    )
    assert _cash(book.account) == {"USD": D("-400000") + D("601500") - D("6.25")}
    assert [(t[3], t[6], t[7]) for t in _trades(book.account)] == [
        (D("400000"), date(2026, 11, 25), date(2026, 11, 25)),  # settlement_days 0
        (D("601500"), date(2026, 11, 25), date(2026, 11, 25)),
    ]


@pytest.mark.django_db
def test_cash_is_kept_per_currency_of_the_instrument(tenant, book):
    sap = InstrumentFactory(tenant=tenant, symbol="SAP", currency="EUR")
    acme = InstrumentFactory(tenant=tenant, symbol="ACME", currency="USD")
    book(sap, "buy", "10", "150.00", fee="0.45")
    book(acme, "sell", "5", "20.00", fee="0.03")
    assert _cash(book.account) == {"EUR": D("-1500.45"), "USD": D("99.97")}


@pytest.mark.parametrize(
    ("asset_class", "settlement_days", "traded", "settles"),
    [
        ("equity", None, FRI, date(2026, 11, 30)),  # T+1
        ("equity", 3, FRI, date(2026, 11, 30)),  # the market default wins for equities
        ("fx", None, WED, date(2026, 11, 27)),  # T+2
        ("fx", None, FRI, date(2026, 12, 1)),  # T+2 over the weekend
        ("bond", 3, WED, date(2026, 11, 30)),  # the instrument's own lag
        ("commodity", None, FRI, date(2026, 12, 1)),  # no lag given: T+2
    ],
)
@pytest.mark.django_db
def test_settlement_date_by_asset_class(
    tenant, book, asset_class, settlement_days, traded, settles
):
    instrument = InstrumentFactory(
        tenant=tenant, symbol="X1", asset_class=asset_class, settlement_days=settlement_days
    )
    book(instrument, "buy", "10", "1.50", at=traded)
    assert [(t[6], t[7]) for t in _trades(book.account)] == [(traded.date(), settles)]


@pytest.mark.django_db
def test_positions_are_per_account_and_instrument(tenant, trader, book):
    acme = InstrumentFactory(tenant=tenant, symbol="ACME")
    other = AccountFactory(tenant=tenant, code="ACC-2")
    book(acme, "buy", "10", "10.00")
    assert list(Position.objects.for_tenant(tenant).values_list("account__code", "quantity")) == [
        ("ACC-1", D("10"))
    ]
    assert not Position.objects.for_tenant(tenant).filter(account=other).exists()
