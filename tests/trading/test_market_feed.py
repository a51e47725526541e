"""``manage.py market_feed``: CSV replay (validated whole before anything is ingested) and the
seeded random walk."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import client_for, member
from tests.trading.factories import InstrumentFactory, QuoteFactory
from tests.trading.order_helpers import (
    ORDERS,
    market,
    order_body,
    post,
    quote_rows,
    state,
    trade_by_client_id,
    trading_snapshot,
)
from trading.models import Quote

pytestmark = pytest.mark.django_db

D = Decimal
HEADER = "venue,symbol,bid,bid_size,ask,ask_size,last"
HEADER_MSG = "the header must be venue,symbol,bid,bid_size,ask,ask_size,last."


@pytest.fixture
def mkt(tenant):
    return market(tenant)


def write(tmp_path, *lines, name="quotes.csv", bom=False):
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def feed(*args):
    out = io.StringIO()
    call_command("market_feed", *args, "--interval", "0", stdout=out)
    return out.getvalue()


def replay(path, tenant="alpha"):
    return feed("--tenant", tenant, "--csv", str(path))


# --- CSV replay -------------------------------------------------------------------------------


def test_csv_replay_ingests_every_row_exactly(tenant, mkt, tmp_path):
    path = write(
        tmp_path,
        HEADER,
        "XA,ACME,99.95,200,100.05,300,100.00",
        "XB, ACME ,99.90,10,,0,",
        "XA,BOND,97.05,50,97.50,60,97.25",
    )
    assert replay(path) == "Replayed 3 quotes.\n"
    assert quote_rows(tenant) == [
        ("XA", "ACME", D("99.95"), D(200), D("100.05"), D(300), D("100.00")),
        ("XA", "BOND", D("97.05"), D(50), D("97.50"), D(60), D("97.25")),
        ("XB", "ACME", D("99.90"), D(10), None, D(0), None),
    ]


def test_csv_rows_are_replayed_in_order_the_last_quote_wins(tenant, mkt, tmp_path):
    path = write(
        tmp_path,
        HEADER,
        "XA,ACME,99.95,200,100.05,300,100.00",
        "XA,ACME,99.96,201,100.04,301,100.01",
    )
    assert replay(path) == "Replayed 2 quotes.\n"
    assert quote_rows(tenant) == [
        ("XA", "ACME", D("99.96"), D(201), D("100.04"), D(301), D("100.01"))
    ]


def test_a_replayed_quote_fills_a_resting_order(
    tenant, mkt, trader, tmp_path, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    response = post(capture, client_for(trader), ORDERS, order_body())
    assert response.status_code == 201
    order = trade_by_client_id(tenant, "cl-1")
    path = write(tmp_path, HEADER, "XA,ACME,99.00,100,99.40,100,99.45")
    with capture(execute=True):
        replay(path)
    assert state(order) == ("completed", "Filled", D(60), D(60), D(0), D("99.50"))


def test_a_header_with_spaces_or_a_bom_is_accepted(tenant, mkt, tmp_path):
    path = write(
        tmp_path,
        "venue, symbol, bid, bid_size, ask, ask_size, last",
        "XB,ACME,99.90,10,100.10,20,100.00",
        bom=True,
    )
    assert replay(path) == "Replayed 1 quotes.\n"
    assert quote_rows(tenant)[-1] == (
        "XB",
        "ACME",
        D("99.90"),
        D(10),
        D("100.10"),
        D(20),
        D("100.00"),
    )


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("XA,ACME,0,10,100.05,10,100.00", "bid: Must be greater than zero."),
        ("XA,ACME,-1,10,100.05,10,100.00", "bid: Must be greater than zero."),
        ("XA,ACME,99.95,10,100.055,10,100.00", "ask: Must be on the tick size 0.01000000."),
        ("XA,ACME,100.10,10,100.05,10,100.00", "bid: Must not be above the ask."),
        ("XA,ACME,abc,10,100.05,10,100.00", "bid: A valid number is required."),
        ("XA,ACME,99.95,,100.05,10,100.00", "bid_size: A valid number is required."),
        (
            "XA,ACME,99.95,-5,100.05,10,100.00",
            "bid_size: Ensure this value is greater than or equal to 0.",
        ),
        (
            "XA,ACME,99.95,10,100.05,10,1" + "0" * 25,
            "last: Ensure that there are no more than 20 digits in total.",
        ),
        ("NOPE,ACME,99.95,10,100.05,10,100.00", "venue: No code NOPE."),
        ("XA,BETAQ,99.95,10,100.05,10,100.00", "symbol: No symbol BETAQ."),
        ("XA,ACME,99.95,10,100.05,10", "expected 7 fields."),
        ("XA,ACME,99.95,10,100.05,10,100.00,7", "expected 7 fields."),
    ],
)
def test_a_bad_row_stops_the_replay_naming_the_line_and_field_and_ingests_nothing(
    tenant, other_tenant, mkt, tmp_path, row, error
):
    InstrumentFactory(tenant=other_tenant, symbol="BETAQ")
    path = write(
        tmp_path,
        HEADER,
        "XB,ACME,99.90,10,100.10,20,100.00",
        "XA,BOND,97.05,50,97.50,60,97.25",
        row,
        "XB,ACME,99.91,10,100.09,20,100.00",
    )
    before = (trading_snapshot(tenant), trading_snapshot(other_tenant))
    with pytest.raises(CommandError) as refused:
        replay(path)
    assert str(refused.value) == f"{path}, line 4: {error}"
    assert (trading_snapshot(tenant), trading_snapshot(other_tenant)) == before


def test_line_numbers_count_blank_lines(tenant, mkt, tmp_path):
    path = write(tmp_path, HEADER, "", "XB,ACME,99.90,10,100.10,20,100.00", "", "XA,ACME,0,1,1,1,1")
    before = trading_snapshot(tenant)
    with pytest.raises(CommandError) as refused:
        replay(path)
    assert str(refused.value) == f"{path}, line 5: bid: Must be greater than zero."
    assert trading_snapshot(tenant) == before


@pytest.mark.parametrize(
    "header",
    [
        "venue,symbol,bid,ask",
        "venue,symbol,bid,bid_size,ask,ask_size,last,extra",
        "symbol,venue,bid,bid_size,ask,ask_size,last",
        "VENUE,SYMBOL,BID,BID_SIZE,ASK,ASK_SIZE,LAST",
        "XA,ACME,99.95,10,100.05,10,100.00",
    ],
)
def test_a_bad_header_is_refused(tenant, mkt, tmp_path, header):
    path = write(tmp_path, header, "XA,ACME,99.95,10,100.05,10,100.00")
    before = trading_snapshot(tenant)
    with pytest.raises(CommandError) as refused:
        replay(path)
    assert str(refused.value) == f"{path}: {HEADER_MSG}"
    assert trading_snapshot(tenant) == before


def test_an_empty_file_is_refused(tenant, mkt, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        replay(path)
    assert str(refused.value) == f"{path}: {HEADER_MSG}"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--tenant", "alpha", "--csv", "/nonexistent/q.csv"], "/nonexistent/q.csv: No such file"),
        (["--all-tenants", "--csv", "q.csv"], "--csv needs --tenant."),
        (["--tenant", "nope", "--csv", "q.csv"], "No active tenant 'nope'."),
    ],
)
def test_bad_arguments_are_refused(tenant, mkt, args, error):
    before = trading_snapshot(tenant)
    with pytest.raises(CommandError) as refused:
        feed(*args)
    assert str(refused.value).startswith(error)
    assert trading_snapshot(tenant) == before


def test_the_csv_of_one_tenant_never_names_another_tenants_venues(
    tenant, other_tenant, mkt, tmp_path
):
    market(other_tenant)
    path = write(tmp_path, HEADER, "XA,ACME,99.95,10,100.05,10,100.00")
    theirs = trading_snapshot(other_tenant)
    replay(path)
    assert trading_snapshot(other_tenant) == theirs


# --- random walk --------------------------------------------------------------------------------


@pytest.fixture
def walk_market(tenant, mkt):
    """Quotes on both venues, one on BOND (tick 0.05) anchored off its tick at 97.12."""
    QuoteFactory(
        tenant=tenant,
        venue=mkt.xb,
        instrument=mkt.acme,
        bid=D("99.98"),
        ask=D("100.02"),
        last=D("100.00"),
    )
    QuoteFactory(
        tenant=tenant,
        venue=mkt.xa,
        instrument=mkt.bond,
        bid=D("97.00"),
        ask=D("97.20"),
        last=D("97.12"),
    )
    return mkt


def _reset(tenant, rows):
    for pk, values in rows.items():
        Quote.objects.for_tenant(tenant).filter(pk=pk).update(**values)


def _initial(tenant):
    return {
        q["id"]: {k: v for k, v in q.items() if k in ("bid", "bid_size", "ask", "ask_size", "last")}
        for q in Quote.objects.for_tenant(tenant).values()
    }


def test_the_random_walk_is_deterministic_by_seed_and_keeps_the_book_sane(tenant, walk_market):
    initial = _initial(tenant)
    before = quote_rows(tenant)
    # when the walk runs two batches with seed 7
    assert feed("--tenant", "alpha", "--count", "2", "--seed", "7") == "Sent 2 batches.\n"
    first = quote_rows(tenant)
    # then the quotes moved ...
    assert first != before
    # ... the same way again from the same start and seed ...
    _reset(tenant, initial)
    feed("--tenant", "alpha", "--count", "2", "--seed", "7")
    assert quote_rows(tenant) == first
    # ... and differently with another seed
    _reset(tenant, initial)
    feed("--tenant", "alpha", "--count", "2", "--seed", "8")
    assert quote_rows(tenant) != first
    # every quote keeps bid < ask, prices on its tick, sizes in round lots, the last within
    # six ticks (two steps of at most three) of where it started
    ticks = {"ACME": D("0.01"), "BOND": D("0.05")}
    lots = {"ACME": D(1), "BOND": D(10)}
    starts = {(r[0], r[1]): r[6] for r in before}
    for rows in (first, quote_rows(tenant)):
        assert [(r[0], r[1]) for r in rows] == [("XA", "ACME"), ("XA", "BOND"), ("XB", "ACME")]
        for venue, symbol, bid, bid_size, ask, ask_size, last in rows:
            tick = ticks[symbol]
            assert bid < ask
            assert [p % tick for p in (bid, ask, last)] == [0, 0, 0]
            assert bid_size % (lots[symbol] * 10) == 0
            assert ask_size % (lots[symbol] * 10) == 0
            assert bid_size > 0
            assert ask_size > 0
            assert abs(last - starts[(venue, symbol)]) <= 6 * tick + tick  # off-tick start


def test_the_random_walk_of_all_tenants_moves_each_tenants_quotes(
    tenant, other_tenant, walk_market
):
    market(other_tenant)
    before = (quote_rows(tenant), quote_rows(other_tenant))
    assert feed("--all-tenants", "--count", "1", "--seed", "3") == "Sent 1 batches.\n"
    after = (quote_rows(tenant), quote_rows(other_tenant))
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert [len(rows) for rows in after] == [3, 1]


def test_a_tenant_without_quotes_walks_nothing(tenant):
    member(tenant, "viewer", username="alpha.viewer")
    assert feed("--tenant", "alpha", "--count", "1", "--seed", "1") == "Sent 1 batches.\n"
    assert Quote.objects.for_tenant(tenant).count() == 0
