"""trading.demo.seed through ``seed_demo``: the trading reference data, and idempotence."""

from __future__ import annotations

import io
from datetime import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from tenancy.models import Tenant
from tests.trading.reference_helpers import reference_snapshot
from trading.models import AssetClass, CashBalance, Instrument, Quote, Venue
from trading.services.reference import instrument_errors, venue_errors

pytestmark = pytest.mark.django_db

WHY = "test of the demo data across tenants"


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _tenant(slug: str) -> Tenant:
    return Tenant.objects.get(slug=slug)


@pytest.mark.parametrize("slug", ["acme-capital", "initech"])
def test_seed_creates_an_instrument_of_every_asset_class(slug):
    _seed()
    rows = list(
        Instrument.objects.for_tenant(_tenant(slug))
        .order_by("symbol")
        .values_list(
            "symbol", "asset_class", "currency", "tick_size", "lot_size", "multiplier",
            "price_convention", "settlement_days",
        )
    )  # fmt: skip
    assert rows == [
        ("AAPL", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), "per_unit", None),
        (
            "AAPL261218C200", "option", "USD", Decimal("0.01"), Decimal("1"), Decimal("100"),
            "per_unit", 1,
        ),
        ("ESZ6", "future", "USD", Decimal("0.25"), Decimal("1"), Decimal("50"), "per_unit", 0),
        (
            "EURUSD", "fx", "USD", Decimal("0.00001"), Decimal("1000"), Decimal("1"), "per_unit",
            None,
        ),
        (
            "GLOBEX-TLB-2029", "loan", "USD", Decimal("0.125"), Decimal("1000"), Decimal("1"),
            "percent_of_par", 7,
        ),
        ("MSFT", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), "per_unit", None),
        ("USD", "cash", "USD", Decimal("0.0001"), Decimal("0.01"), Decimal("1"), "per_unit", 0),
        (
            "UST-4.25-2034", "bond", "USD", Decimal("0.0078125"), Decimal("1000"), Decimal("1"),
            "percent_of_par", 1,
        ),
        ("XAU", "commodity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), "per_unit", 2),
    ]  # fmt: skip
    assert {row[1] for row in rows} == set(AssetClass.values)


@pytest.mark.parametrize("slug", ["acme-capital", "initech"])
def test_seed_creates_three_simulated_venues_with_different_fees(slug):
    _seed()
    rows = list(
        Venue.objects.for_tenant(_tenant(slug))
        .order_by("code")
        .values_list(
            "code", "kind", "taker_fee_bps", "maker_fee_bps", "timezone", "session_open",
            "session_close", "asset_classes", "simulated", "active",
        )
    )  # fmt: skip
    session = ("America/New_York", time(9, 30), time(16, 0))
    assert rows == [
        (
            "ARCX", "ecn", Decimal("2"), Decimal("-1"), *session,
            ["equity", "fx", "option", "future", "commodity", "cash"], True, True,
        ),
        (
            "DARK", "dark", Decimal("1"), Decimal("1"), *session,
            ["equity", "bond", "fx", "loan"], True, True,
        ),
        (
            "XNYS", "exchange", Decimal("3"), Decimal("-2"), *session,
            ["equity", "bond", "option", "future", "commodity"], True, True,
        ),
    ]  # fmt: skip


def test_seed_creates_an_account_of_each_kind_with_usd_cash():
    _seed()
    rows = sorted(
        CashBalance.objects.all_tenants(reason=WHY).values_list(
            "tenant__slug", "account__code", "account__kind", "currency", "amount"
        )
    )
    # acme's cash is what the seed gave, moved by the demo's fills and by the trading history
    # the compliance demo plants for surveillance (booked like any fill)
    assert rows == [
        ("acme-capital", "C-1001", "client", "USD", Decimal("3430000")),
        ("acme-capital", "C-1002", "client", "USD", Decimal("9237000")),
        ("acme-capital", "E-1001", "employee", "USD", Decimal("250250")),
        ("acme-capital", "PROP-1", "proprietary", "USD", Decimal("48754700")),
        ("initech", "C-1001", "client", "USD", Decimal("10000000")),
        ("initech", "E-1001", "employee", "USD", Decimal("100000")),
        ("initech", "PROP-1", "proprietary", "USD", Decimal("20000000")),
    ]


def test_seed_quotes_every_instrument_on_every_venue_that_trades_it():
    _seed()
    for slug in ("acme-capital", "initech"):
        tenant = _tenant(slug)
        quoted = set(
            Quote.objects.for_tenant(tenant).values_list("venue__code", "instrument__symbol")
        )
        expected = {
            (venue.code, instrument.symbol)
            for venue in Venue.objects.for_tenant(tenant)
            for instrument in Instrument.objects.for_tenant(tenant)
            if venue.trades(instrument.asset_class)
        }
        assert quoted == expected
        assert len(quoted) == 18
    aapl = sorted(
        Quote.objects.for_tenant(_tenant("acme-capital"))
        .filter(instrument__symbol="AAPL")
        .values_list("venue__code", "bid", "bid_size", "ask", "ask_size", "last")
    )
    d = Decimal
    assert aapl == [
        ("ARCX", d("189.98"), d("800"), d("190.02"), d("800"), d("190")),
        ("DARK", d("189.99"), d("200"), d("190.01"), d("200"), d("190")),
        ("XNYS", d("189.99"), d("500"), d("190.01"), d("500"), d("190")),
    ]


def test_demo_rows_obey_the_reference_rules_and_quotes_are_on_tick():
    _seed()
    for instrument in Instrument.objects.all_tenants(reason=WHY):
        values = {f.name: getattr(instrument, f.name) for f in Instrument._meta.concrete_fields}
        assert instrument_errors(values) == {}, instrument.symbol
    for venue in Venue.objects.all_tenants(reason=WHY):
        values = {f.name: getattr(venue, f.name) for f in Venue._meta.concrete_fields}
        assert venue_errors(values) == {}, venue.code
    for quote in Quote.objects.all_tenants(reason=WHY).select_related("instrument"):
        tick, lot = quote.instrument.tick_size, quote.instrument.lot_size
        assert [price % tick for price in (quote.bid, quote.ask, quote.last)] == [0, 0, 0]
        assert [size % lot for size in (quote.bid_size, quote.ask_size)] == [0, 0]
        assert quote.bid < quote.last < quote.ask


def test_the_seller_tenant_gets_no_trading_data():
    _seed()
    assert reference_snapshot(_tenant("globex-goods")) == {
        "Instrument": [],
        "Account": [],
        "CashBalance": [],
        "Venue": [],
        "Quote": [],
        "Position": [],
    }


def test_second_run_changes_nothing():
    # given a seeded database
    first = _seed()
    before = reference_snapshot()
    # when the seed runs again
    second = _seed()
    # then every trading row is the same (timestamps included) and the output says so
    assert reference_snapshot() == before
    assert (
        "Trading demo for acme-capital: 9 new instruments, 3 new venues, "
        "3 new accounts, 3 new orders." in first
    )
    assert (
        "Trading demo for acme-capital: 0 new instruments, 0 new venues, "
        "0 new accounts, 0 new orders." in second
    )
    assert (
        "Trading demo for initech: 0 new instruments, 0 new venues, 0 new accounts, 0 new orders."
        in second
    )


def test_a_re_seed_keeps_what_the_demo_user_changed():
    # given a seeded database where a venue was deactivated and a quote moved
    _seed()
    tenant = _tenant("acme-capital")
    Venue.objects.for_tenant(tenant).filter(code="DARK").update(active=False)
    Quote.objects.for_tenant(tenant).filter(instrument__symbol="AAPL").update(last=Decimal("200"))
    before = reference_snapshot()
    # when the seed runs again
    _seed()
    # then nothing is put back
    assert reference_snapshot() == before
