"""The bad-input table of the trade order endpoints, the market data feed and venue sessions:
everything a client can send wrongly answers an exact 4xx naming the field, never a 500, and
stores nothing (orders, journal, reference counters, children, reports, quotes, venues)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from tests.conftest import client_for, member
from tests.trading.factories import AccountFactory, InstrumentFactory, VenueFactory
from tests.trading.order_helpers import (
    BATCH,
    JSON,
    MARKET_DATA,
    ORDERS,
    invalid,
    market,
    order_body,
    order_snapshot,
    order_url,
    parse_error,
    post,
    raw_body,
    session_url,
    trade_by_client_id,
    trading_snapshot,
)
from trading.models import Venue

pytestmark = pytest.mark.django_db

D = Decimal
REQUIRED = "This field is required."
NULL = "This field may not be null."
STRING = "Must be a string."
NUMBER = "A valid number is required."
POSITIVE = "Must be greater than zero."
UNKNOWN = "Unknown field."
NUL = "Null characters are not allowed."
CLIENT_ID_MSG = "Use 1-64 characters: letters, digits and . _ : - /"
ACME_TICK = "Must be on the tick size 0.01000000."
BOND_TICK = "Must be on the tick size 0.05000000."
ACME_LOT = "Must be a multiple of the lot size 1.000000."
BOND_LOT = "Must be a multiple of the lot size 10.000000."
NO_VENUE = 'No venue {}; use "smart" or a venue code.'
BATCH_MSG = ["Send a JSON list of 1 to 1000 orders."]
PAGE_SIZE = {"page_size": ["Must be an integer from 1 to 500."]}
BAD_CURSOR = {"cursor": ["Invalid cursor."]}
DATETIME_MSG = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
DIGITS_20 = "Ensure that there are no more than 20 digits in total."
FIVE_THOUSAND_DIGITS = parse_error(
    "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; "
    "use sys.set_int_max_str_digits() to increase the limit"
)


def choice(value):
    return f'"{value}" is not a valid choice.'


def select(value):
    return f"Select a valid choice. {value} is not one of the available choices."


def longer(n):
    return f"Ensure this field has no more than {n} characters."


def places(n):
    return f"Ensure that there are no more than {n} decimal places."


@pytest.fixture
def world(tenant, other_tenant):
    """The tenant's market, plus codes that exist only in another tenant (BETA-1, BETAQ, BV)."""
    mkt = market(tenant)
    AccountFactory(tenant=other_tenant, code="BETA-1")
    InstrumentFactory(tenant=other_tenant, symbol="BETAQ")
    VenueFactory(tenant=other_tenant, code="BV")
    InstrumentFactory(tenant=tenant, symbol="OLD", active=False)
    AccountFactory(tenant=tenant, code="SHUT", active=False)
    VenueFactory(tenant=tenant, code="XOFF", active=False)
    return mkt


def _snapshot(tenant, other_tenant):
    def venues(t):
        return list(Venue.objects.for_tenant(t).order_by("pk").values())

    return (
        trading_snapshot(tenant),
        trading_snapshot(other_tenant),
        venues(tenant),
        venues(other_tenant),
    )


def body(**fields) -> str:
    return json.dumps(order_body(**fields))


def without(name) -> str:
    return json.dumps(order_body(**{name: ...}))


def raw(name, literal) -> str:
    return raw_body(order_body(), name, literal)


# --- POST /orders/ and every item of /orders/batch/ -----------------------------------------

CREATE_CASES = [
    # malformed bodies
    (
        "truncated json",
        '{"client_order_id": "x",',
        parse_error(
            "Expecting property name enclosed in double quotes: line 1 column 25 (char 24)"
        ),
    ),
    (
        "NaN literal",
        raw("quantity", "NaN"),
        parse_error("Out of range float values are not JSON compliant: 'NaN'"),
    ),
    ("5000-digit number", raw("quantity", "9" * 5000), FIVE_THOUSAND_DIGITS),
    ("null body", "null", invalid(non_field_errors=["No data provided"])),
    (
        "list body",
        "[]",
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    (
        "string body",
        '"order"',
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got str."]),
    ),
    (
        "empty object",
        "{}",
        invalid(
            client_order_id=[REQUIRED],
            account=[REQUIRED],
            instrument=[REQUIRED],
            side=[REQUIRED],
            quantity=[REQUIRED],
            order_type=[REQUIRED],
            time_in_force=[REQUIRED],
        ),
    ),
    # missing required fields, one at a time
    *[
        (f"missing {name}", without(name), invalid(**{name: [REQUIRED]}))
        for name in (
            "client_order_id",
            "account",
            "instrument",
            "side",
            "quantity",
            "order_type",
            "time_in_force",
        )
    ],
    # wrong JSON types
    (
        "client id as number",
        raw("client_order_id", "123"),
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    ("client id as bool", raw("client_order_id", "true"), invalid(client_order_id=[CLIENT_ID_MSG])),
    ("client id null", raw("client_order_id", "null"), invalid(client_order_id=[NULL])),
    ("quantity abc", body(quantity="abc"), invalid(quantity=[NUMBER])),
    ("quantity bool", raw("quantity", "true"), invalid(quantity=[NUMBER])),
    ("quantity list", raw("quantity", "[60]"), invalid(quantity=[NUMBER])),
    ("quantity null", raw("quantity", "null"), invalid(quantity=[NULL])),
    ("account as number", raw("account", "5"), invalid(account=[STRING])),
    ("account as object", raw("account", '{"code": "ACC-1"}'), invalid(account=[STRING])),
    ("account null", raw("account", "null"), invalid(account=[NULL])),
    ("instrument as list", raw("instrument", '["ACME"]'), invalid(instrument=[STRING])),
    ("side as number", raw("side", "1"), invalid(side=[choice(1)])),
    ("venue as number", raw("venue", "7"), invalid(venue=[STRING])),
    ("venue null", raw("venue", "null"), invalid(venue=[NULL])),
    ("note as number", raw("note", "5"), invalid(note=[STRING])),
    ("limit price abc", body(limit_price="abc"), invalid(limit_price=[NUMBER])),
    ("expire_at as number", raw("expire_at", "5"), invalid(expire_at=[DATETIME_MSG])),
    ("expire_at unparsable", body(expire_at="next week"), invalid(expire_at=[DATETIME_MSG])),
    # huge numbers
    ("quantity 1e400", raw("quantity", "1e400"), invalid(quantity=[NUMBER])),
    ("quantity -1e400", raw("quantity", "-1e400"), invalid(quantity=[NUMBER])),
    ("quantity 25 digits", raw("quantity", "9" * 25), invalid(quantity=[DIGITS_20])),
    ("quantity 25 digit string", body(quantity="9" * 25), invalid(quantity=[DIGITS_20])),
    (
        "quantity 15 digits before the point",
        body(quantity="1" * 15),
        invalid(
            quantity=["Ensure that there are no more than 14 digits before the decimal point."]
        ),
    ),
    ("limit price 1e400", raw("limit_price", "1e400"), invalid(limit_price=[NUMBER])),
    ("limit price 25 digits", raw("limit_price", "1" * 25), invalid(limit_price=[DIGITS_20])),
    (
        "trail percent 1e400",
        raw_body(
            order_body(order_type="trailing_stop", limit_price=None), "trail_percent", "1e400"
        ),
        invalid(trail_percent=[NUMBER]),
    ),
    ("quantity 7 decimals", body(quantity="60.0000001"), invalid(quantity=[places(6)])),
    ("limit price 9 decimals", body(limit_price="99.500000001"), invalid(limit_price=[places(8)])),
    # zero and negative
    ("quantity zero", body(quantity="0"), invalid(quantity=[POSITIVE])),
    ("quantity negative", body(quantity="-60"), invalid(quantity=[POSITIVE])),
    ("limit price zero", body(limit_price="0"), invalid(limit_price=[POSITIVE])),
    ("limit price negative", body(limit_price="-99.50"), invalid(limit_price=[POSITIVE])),
    (
        "stop price negative",
        body(order_type="stop", limit_price=None, stop_price="-1"),
        invalid(stop_price=[POSITIVE]),
    ),
    (
        "trail amount zero",
        body(order_type="trailing_stop", limit_price=None, trail_amount="0"),
        invalid(trail_amount=[POSITIVE]),
    ),
    (
        "trail percent 100",
        body(order_type="trailing_stop", limit_price=None, trail_percent="100"),
        invalid(trail_percent=["Must be between 0 and 100."]),
    ),
    # the tick and the lot
    ("limit price off the tick", body(limit_price="99.505"), invalid(limit_price=[ACME_TICK])),
    (
        "bond limit off its 0.05 tick",
        body(instrument="BOND", quantity="100", limit_price="98.02"),
        invalid(limit_price=[BOND_TICK]),
    ),
    (
        "stop price off the tick",
        body(order_type="stop_limit", stop_price="99.601"),
        invalid(stop_price=[ACME_TICK]),
    ),
    ("fractional quantity of a lot-1 share", body(quantity="60.5"), invalid(quantity=[ACME_LOT])),
    (
        "bond quantity not a multiple of 10",
        body(instrument="BOND", quantity="15", limit_price="98.00"),
        invalid(quantity=[BOND_LOT]),
    ),
    (
        "several rules broken at once",
        body(quantity="0", limit_price="99.555", expire_at="2099-01-01T00:00:00Z"),
        invalid(
            quantity=[POSITIVE],
            limit_price=[ACME_TICK],
            expire_at=["Only good-till-date orders take an expiry."],
        ),
    ),
    # unknown enums
    ("unknown side", body(side="hold"), invalid(side=[choice("hold")])),
    ("side upper case", body(side="BUY"), invalid(side=[choice("BUY")])),
    ("unknown order type", body(order_type="iceberg"), invalid(order_type=[choice("iceberg")])),
    ("unknown time in force", body(time_in_force="gtx"), invalid(time_in_force=[choice("gtx")])),
    ("unknown handling", body(handling="manual"), invalid(handling=[choice("manual")])),
    # unknown codes, and another tenant's codes (the same answer)
    ("unknown account", body(account="NOPE"), invalid(account=["No code NOPE."])),
    ("another tenant's account", body(account="BETA-1"), invalid(account=["No code BETA-1."])),
    ("unknown instrument", body(instrument="NOPE"), invalid(instrument=["No symbol NOPE."])),
    (
        "another tenant's instrument",
        body(instrument="BETAQ"),
        invalid(instrument=["No symbol BETAQ."]),
    ),
    ("account in lower case", body(account="acc-1"), invalid(account=["No code acc-1."])),
    ("unknown venue", body(venue="NOPE"), invalid(venue=[NO_VENUE.format("NOPE")])),
    ("another tenant's venue", body(venue="BV"), invalid(venue=[NO_VENUE.format("BV")])),
    # inactive reference data, and a venue that does not trade the asset class
    (
        "inactive instrument",
        body(instrument="OLD"),
        invalid(instrument=["Instrument is not active."]),
    ),
    ("inactive account", body(account="SHUT"), invalid(account=["Account is not active."])),
    ("inactive venue", body(venue="XOFF"), invalid(venue=["Venue is not active."])),
    (
        "venue does not trade bonds",
        body(instrument="BOND", quantity="100", limit_price="98.00", venue="XB"),
        invalid(venue=["Venue XB does not trade bond."]),
    ),
    # over-long strings, NUL and surrogates
    (
        "client id 65 characters",
        body(client_order_id="c" * 65),
        invalid(client_order_id=[longer(64), CLIENT_ID_MSG]),
    ),
    (
        "client id with a space",
        body(client_order_id="a b"),
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    ("account 33 characters", body(account="A" * 33), invalid(account=[longer(32)])),
    ("account 5000 characters", body(account="A" * 5000), invalid(account=[longer(32)])),
    ("instrument 33 characters", body(instrument="S" * 33), invalid(instrument=[longer(32)])),
    ("venue 17 characters", body(venue="V" * 17), invalid(venue=[longer(16)])),
    ("note 501 characters", body(note="n" * 501), invalid(note=[longer(500)])),
    ("account with NUL", body(account="ACC\x00-1"), invalid(account=[NUL])),
    ("instrument with NUL", body(instrument="AC\x00ME"), invalid(instrument=[NUL])),
    ("venue with NUL", body(venue="X\x00A"), invalid(venue=[NUL])),
    ("note with NUL", body(note="a\x00b"), invalid(note=[NUL])),
    (
        "account with a lone surrogate",
        raw("account", '"ACC\\ud800"'),
        invalid(account=["Surrogate characters are not allowed: U+D800."]),
    ),
    # keys the endpoint does not take (read-only fields of the order included)
    ("unknown key", body(colour="red"), invalid(colour=[UNKNOWN])),
    ("status is not an input", body(status="open"), invalid(status=[UNKNOWN])),
    ("cum_qty is not an input", body(cum_qty="60"), invalid(cum_qty=[UNKNOWN])),
    (
        "unknown key besides a bad value",
        body(quantity="abc", kind="trade"),
        invalid(quantity=[NUMBER], kind=[UNKNOWN]),
    ),
    # order type and price rules
    (
        "limit price on a market order",
        body(order_type="market"),
        invalid(limit_price=["Not allowed for market orders."]),
    ),
    (
        "limit order without a limit price",
        body(limit_price=None),
        invalid(limit_price=["Required for limit orders."]),
    ),
    (
        "stop order without a stop price",
        body(order_type="stop", limit_price=None),
        invalid(stop_price=["Required for stop orders."]),
    ),
    (
        "stop-limit order without prices",
        body(order_type="stop_limit", limit_price=None),
        invalid(
            limit_price=["Required for stop_limit orders."],
            stop_price=["Required for stop_limit orders."],
        ),
    ),
    (
        "stop price on a limit order",
        body(stop_price="99.00"),
        invalid(stop_price=["Not allowed for limit orders."]),
    ),
    (
        "trailing stop without a trail",
        body(order_type="trailing_stop", limit_price=None),
        invalid(trail_amount=["Give exactly one of trail_amount and trail_percent."]),
    ),
    (
        "trailing stop with both trails",
        body(order_type="trailing_stop", limit_price=None, trail_amount="1", trail_percent="1"),
        invalid(trail_amount=["Give exactly one of trail_amount and trail_percent."]),
    ),
    (
        "trail on a limit order",
        body(trail_amount="0.50"),
        invalid(trail_amount=["Only trailing stops take a trail."]),
    ),
    (
        "market order good till canceled",
        body(order_type="market", limit_price=None, time_in_force="gtc"),
        invalid(time_in_force=["A market order cannot rest: use day, ioc, fok, opg or atc."]),
    ),
    # good till date
    (
        "gtd without expire_at",
        body(time_in_force="gtd"),
        invalid(expire_at=["Required for good-till-date orders."]),
    ),
    (
        "gtd with a past expire_at",
        body(time_in_force="gtd", expire_at="2001-01-01T00:00:00Z"),
        invalid(expire_at=["Must be in the future."]),
    ),
    (
        "expire_at on a day order",
        body(expire_at="2099-01-01T00:00:00Z"),
        invalid(expire_at=["Only good-till-date orders take an expiry."]),
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
def test_create_refuses_bad_input_and_stores_nothing(
    tenant, other_tenant, world, trader, django_capture_on_commit_callbacks, payload, expected
):
    before = _snapshot(tenant, other_tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trader).post(ORDERS, payload, content_type=JSON)
    assert (response.status_code, response.json()) == (400, expected)
    assert _snapshot(tenant, other_tenant) == before


# Malformed JSON spoils the whole batch; every other bad order is refused on its own.
ITEM_CASES = [c for c in CREATE_CASES if c[2]["code"] == "invalid"]


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in ITEM_CASES], ids=[c[0] for c in ITEM_CASES]
)
def test_a_bad_batch_item_answers_its_400_and_stores_nothing(
    tenant, other_tenant, world, trader, django_capture_on_commit_callbacks, payload, expected
):
    before = _snapshot(tenant, other_tenant)
    batch = f"[{payload}]"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trader).post(BATCH, batch, content_type=JSON)
    assert response.status_code == 200
    assert response.json() == {"results": [{"index": 0, "status": 400, **expected}]}
    assert _snapshot(tenant, other_tenant) == before


# --- POST /orders/batch/ as a whole ---------------------------------------------------------

BATCH_CASES = [
    ("object, not a list", json.dumps(order_body()), invalid(non_field_errors=BATCH_MSG)),
    ("null", "null", invalid(non_field_errors=BATCH_MSG)),
    ("string", '"orders"', invalid(non_field_errors=BATCH_MSG)),
    ("empty list", "[]", invalid(non_field_errors=BATCH_MSG)),
    (
        "1001 orders",
        json.dumps([order_body(client_order_id=f"b-{n}") for n in range(1001)]),
        invalid(non_field_errors=BATCH_MSG),
    ),
    (
        "truncated json",
        "[{",
        parse_error("Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"),
    ),
    ("5000-digit number", "[" + "9" * 5000 + "]", FIVE_THOUSAND_DIGITS),
]


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in BATCH_CASES], ids=[c[0] for c in BATCH_CASES]
)
def test_batch_refuses_a_bad_envelope_and_stores_nothing(
    tenant, other_tenant, world, trader, django_capture_on_commit_callbacks, payload, expected
):
    before = _snapshot(tenant, other_tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trader).post(BATCH, payload, content_type=JSON)
    assert (response.status_code, response.json()) == (400, expected)
    assert _snapshot(tenant, other_tenant) == before


# --- POST /orders/{id}/cancel/ and /orders/{id}/replace/ -----------------------------------

CANCEL_CASES = [
    ("truncated json", '{"reason": ', parse_error("Expecting value: line 1 column 12 (char 11)")),
    (
        "list body",
        "[]",
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    ("reason as number", '{"reason": 5}', invalid(reason=[STRING])),
    ("reason null", '{"reason": null}', invalid(reason=[NULL])),
    ("reason 501 characters", json.dumps({"reason": "r" * 501}), invalid(reason=[longer(500)])),
    ("reason with NUL", json.dumps({"reason": "a\x00b"}), invalid(reason=[NUL])),
    ("unknown key", '{"why": "because"}', invalid(why=[UNKNOWN])),
]

REPLACE_CASES = [
    ("truncated json", '{"quantity": ', parse_error("Expecting value: line 1 column 14 (char 13)")),
    ("null body", "null", invalid(non_field_errors=["No data provided"])),
    (
        "list body",
        '[{"quantity": "70"}]',
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    (
        "empty body",
        "{}",
        invalid(non_field_errors=["Give a new quantity, limit_price or stop_price."]),
    ),
    (
        "all null",
        '{"quantity": null, "limit_price": null, "stop_price": null}',
        invalid(non_field_errors=["Give a new quantity, limit_price or stop_price."]),
    ),
    ("quantity abc", '{"quantity": "abc"}', invalid(quantity=[NUMBER])),
    ("quantity bool", '{"quantity": true}', invalid(quantity=[NUMBER])),
    ("quantity 1e400", '{"quantity": 1e400}', invalid(quantity=[NUMBER])),
    ("quantity 25 digits", '{"quantity": ' + "9" * 25 + "}", invalid(quantity=[DIGITS_20])),
    ("quantity zero", '{"quantity": "0"}', invalid(quantity=[POSITIVE])),
    ("quantity negative", '{"quantity": -70}', invalid(quantity=[POSITIVE])),
    ("quantity not a lot", '{"quantity": "70.5"}', invalid(quantity=[ACME_LOT])),
    ("limit price off the tick", '{"limit_price": "99.555"}', invalid(limit_price=[ACME_TICK])),
    ("limit price zero", '{"limit_price": 0}', invalid(limit_price=[POSITIVE])),
    ("limit price 1e400", '{"limit_price": 1e400}', invalid(limit_price=[NUMBER])),
    (
        "stop price on a limit order",
        '{"stop_price": "99.00"}',
        invalid(stop_price=["Not allowed for limit orders."]),
    ),
    ("unknown key", '{"quantity": "70", "side": "sell"}', invalid(side=[UNKNOWN])),
    ("read-only key", '{"quantity": "70", "cum_qty": "0"}', invalid(cum_qty=[UNKNOWN])),
]


@pytest.fixture
def resting(tenant, world, trader, django_capture_on_commit_callbacks):
    """Buy 60 ACME at 99.50, resting at XA (New)."""
    response = post(django_capture_on_commit_callbacks, client_for(trader), ORDERS, order_body())
    assert response.status_code == 201
    order = trade_by_client_id(tenant, "cl-1")
    assert (order.order.status, order.leaves_qty) == ("open", D(60))
    return order


@pytest.mark.parametrize(
    ("action", "payload", "expected"),
    [("cancel", *c[1:]) for c in CANCEL_CASES] + [("replace", *c[1:]) for c in REPLACE_CASES],
    ids=[f"cancel: {c[0]}" for c in CANCEL_CASES] + [f"replace: {c[0]}" for c in REPLACE_CASES],
)
def test_cancel_and_replace_refuse_bad_input_and_change_nothing(
    tenant,
    other_tenant,
    resting,
    trader,
    django_capture_on_commit_callbacks,
    action,
    payload,
    expected,
):
    before = (order_snapshot(resting), _snapshot(tenant, other_tenant))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trader).post(order_url(resting, action), payload, content_type=JSON)
    assert (response.status_code, response.json()) == (400, expected)
    assert (order_snapshot(resting), _snapshot(tenant, other_tenant)) == before


# --- GET /orders/ and /orders/{id}/executions/ ---------------------------------------------

LIST_CASES = [
    ({"side": "hold"}, {"side": [select("hold")]}),
    ({"status": "bogus"}, {"status": [select("bogus")]}),
    ({"status": ["open", "bogus"]}, {"status": [select("bogus")]}),
    ({"open_only": "maybe"}, {"open_only": [select("maybe")]}),
    ({"open_only": "1"}, {"open_only": [select("1")]}),
    (
        {"symbol": "S" * 33},
        {"symbol": ["Ensure this value has at most 32 characters (it has 33)."]},
    ),
    (
        {"account": "A" * 33},
        {"account": ["Ensure this value has at most 32 characters (it has 33)."]},
    ),
    ({"symbol": "AC\x00ME"}, {"symbol": [NUL]}),
    ({"cursor": "not-a-cursor"}, BAD_CURSOR),
    ({"cursor": base64.b64encode(b"p=yesterday").decode()}, BAD_CURSOR),
    ({"page_size": "0"}, PAGE_SIZE),
    ({"page_size": "501"}, PAGE_SIZE),
    ({"page_size": "ten"}, PAGE_SIZE),
]


@pytest.mark.parametrize(("params", "errors"), LIST_CASES)
def test_list_refuses_bad_parameters(resting, trader, params, errors):
    response = client_for(trader).get(ORDERS, params)
    assert (response.status_code, response.json()) == (400, invalid(**errors))


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"cursor": "not base64!"}, BAD_CURSOR),
        ({"cursor": base64.b64encode(b"p=abc").decode()}, BAD_CURSOR),
        ({"cursor": base64.b64encode(b"p=" + b"9" * 19).decode()}, BAD_CURSOR),
        ({"page_size": "0"}, PAGE_SIZE),
        ({"page_size": "501"}, PAGE_SIZE),
    ],
)
def test_executions_refuse_bad_parameters(resting, trader, params, errors):
    response = client_for(trader).get(order_url(resting, "executions"), params)
    assert (response.status_code, response.json()) == (400, invalid(**errors))


# --- POST /market-data/ ---------------------------------------------------------------------

QUOTE = {
    "venue": "XA",
    "symbol": "ACME",
    "bid": "99.98",
    "bid_size": "10",
    "ask": "100.02",
    "ask_size": "10",
    "last": "100.00",
}


def quotes(*items) -> str:
    return json.dumps({"quotes": list(items)})


def q(**fields):
    return {k: v for k, v in {**QUOTE, **fields}.items() if v is not ...}


def raw_quote(name, literal) -> str:
    return '{"quotes": [' + raw_body(QUOTE, name, literal) + "]}"


def quote_errors(errors, index=0):
    """DRF names the bad quotes of a list by their index."""
    return invalid(quotes={str(index): errors})


MARKET_DATA_CASES = [
    # the envelope
    (
        "truncated json",
        '{"quotes": [',
        parse_error("Expecting value: line 1 column 13 (char 12)"),
    ),
    ("null body", "null", invalid(non_field_errors=["No data provided"])),
    (
        "a bare list of quotes",
        json.dumps([QUOTE]),
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    ("no quotes key", "{}", invalid(quotes=[REQUIRED])),
    ("quotes null", '{"quotes": null}', invalid(quotes=[NULL])),
    (
        "quotes not a list",
        '{"quotes": "XA"}',
        invalid(quotes={"non_field_errors": ['Expected a list of items but got type "str".']}),
    ),
    (
        "empty list",
        '{"quotes": []}',
        invalid(quotes={"non_field_errors": ["This list may not be empty."]}),
    ),
    (
        "1001 quotes",
        quotes(*[QUOTE] * 1001),
        invalid(quotes={"non_field_errors": ["Ensure this field has no more than 1000 elements."]}),
    ),
    (
        "unknown top-level key",
        json.dumps({"quotes": [QUOTE], "feed": "x"}),
        invalid(feed=[UNKNOWN]),
    ),
    (
        "a quote that is not an object",
        '{"quotes": ["XA ACME"]}',
        quote_errors({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
    ),
    # one quote
    (
        "bid above the ask",
        quotes(q(bid="100.03")),
        quote_errors({"bid": ["Must not be above the ask."]}),
    ),
    (
        "the second quote is the bad one",
        quotes(q(venue="XB"), q(ask="99.00")),
        quote_errors({"bid": ["Must not be above the ask."]}, index=1),
    ),
    ("bid zero", quotes(q(bid="0")), quote_errors({"bid": [POSITIVE]})),
    ("ask negative", quotes(q(ask="-100.02")), quote_errors({"ask": [POSITIVE]})),
    ("last zero", quotes(q(last=0)), quote_errors({"last": [POSITIVE]})),
    (
        "bid size negative",
        quotes(q(bid_size="-10")),
        quote_errors({"bid_size": ["Ensure this value is greater than or equal to 0."]}),
    ),
    ("ask off the tick", quotes(q(ask="100.025")), quote_errors({"ask": [ACME_TICK]})),
    (
        "bond quote off its tick",
        quotes(q(symbol="BOND", bid="97.01", ask="99.00", last="98.00")),
        quote_errors({"bid": [BOND_TICK]}),
    ),
    ("bid abc", quotes(q(bid="abc")), quote_errors({"bid": [NUMBER]})),
    ("ask 1e400", raw_quote("ask", "1e400"), quote_errors({"ask": [NUMBER]})),
    (
        "ask size 25 digits",
        raw_quote("ask_size", "9" * 25),
        quote_errors({"ask_size": [DIGITS_20]}),
    ),
    ("bid size null", quotes(q(bid_size=None)), quote_errors({"bid_size": [NULL]})),
    ("venue as number", raw_quote("venue", "5"), quote_errors({"venue": [STRING]})),
    ("unknown venue", quotes(q(venue="NOPE")), quote_errors({"venue": ["No code NOPE."]})),
    ("another tenant's venue", quotes(q(venue="BV")), quote_errors({"venue": ["No code BV."]})),
    ("unknown symbol", quotes(q(symbol="NOPE")), quote_errors({"symbol": ["No symbol NOPE."]})),
    (
        "another tenant's symbol",
        quotes(q(symbol="BETAQ")),
        quote_errors({"symbol": ["No symbol BETAQ."]}),
    ),
    ("venue 17 characters", quotes(q(venue="V" * 17)), quote_errors({"venue": [longer(16)]})),
    ("symbol with NUL", quotes(q(symbol="AC\x00ME")), quote_errors({"symbol": [NUL]})),
    ("missing venue", quotes(q(venue=...)), quote_errors({"venue": [REQUIRED]})),
    ("missing symbol", quotes(q(symbol=...)), quote_errors({"symbol": [REQUIRED]})),
    ("unknown key in a quote", quotes(q(size="10")), quote_errors({"size": [UNKNOWN]})),
]


@pytest.fixture
def ops(tenant):
    return member(tenant, "operations", username="alpha.ops")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [c[1:] for c in MARKET_DATA_CASES],
    ids=[c[0] for c in MARKET_DATA_CASES],
)
def test_market_data_refuses_bad_input_and_stores_nothing(
    tenant, other_tenant, resting, ops, django_capture_on_commit_callbacks, payload, expected
):
    before = _snapshot(tenant, other_tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ops).post(MARKET_DATA, payload, content_type=JSON)
    assert (response.status_code, response.json()) == (400, expected)
    assert _snapshot(tenant, other_tenant) == before


# --- POST /venues/{code}/session/ -----------------------------------------------------------

SESSION_CASES = [
    ("truncated json", '{"event": ', parse_error("Expecting value: line 1 column 11 (char 10)")),
    ("null body", "null", invalid(non_field_errors=["No data provided"])),
    (
        "list body",
        '[{"event": "open", "price": "100"}]',
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    ("empty body", "{}", invalid(event=[REQUIRED], price=[REQUIRED])),
    ("unknown event", '{"event": "halt", "price": "100"}', invalid(event=[choice("halt")])),
    ("event upper case", '{"event": "OPEN", "price": "100"}', invalid(event=[choice("OPEN")])),
    ("event as number", '{"event": 1, "price": "100"}', invalid(event=[choice(1)])),
    ("event null", '{"event": null, "price": "100"}', invalid(event=[NULL])),
    ("missing price", '{"event": "open"}', invalid(price=[REQUIRED])),
    ("price null", '{"event": "open", "price": null}', invalid(price=[NULL])),
    ("price zero", '{"event": "open", "price": "0"}', invalid(price=[POSITIVE])),
    ("price negative", '{"event": "close", "price": -1}', invalid(price=[POSITIVE])),
    ("price abc", '{"event": "open", "price": "abc"}', invalid(price=[NUMBER])),
    ("price 1e400", '{"event": "open", "price": 1e400}', invalid(price=[NUMBER])),
    ("price 25 digits", '{"event": "open", "price": ' + "9" * 25 + "}", invalid(price=[DIGITS_20])),
    (
        "unknown key",
        '{"event": "open", "price": "100", "venue": "XA"}',
        invalid(venue=[UNKNOWN]),
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in SESSION_CASES], ids=[c[0] for c in SESSION_CASES]
)
def test_session_refuses_bad_input_and_changes_nothing(
    tenant, other_tenant, world, trader, ops, django_capture_on_commit_callbacks, payload, expected
):
    # given an at-the-open order waiting at XA for the auction
    response = post(
        django_capture_on_commit_callbacks,
        client_for(trader),
        ORDERS,
        order_body(time_in_force="opg", venue="XA"),
    )
    assert response.status_code == 201
    before = _snapshot(tenant, other_tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ops).post(session_url("XA"), payload, content_type=JSON)
    assert (response.status_code, response.json()) == (400, expected)
    assert _snapshot(tenant, other_tenant) == before
