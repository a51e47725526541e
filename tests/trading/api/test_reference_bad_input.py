"""The bad-input table of the trading reference endpoints: everything a client can send wrongly
answers an exact 4xx naming the field, never a 500, and persists nothing."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import client_for, member
from tests.trading.factories import AccountFactory, InstrumentFactory, PositionFactory, VenueFactory
from tests.trading.reference_helpers import JSON, NOT_FOUND, invalid, reference_snapshot

pytestmark = pytest.mark.django_db

INSTRUMENTS = "/api/v1/trading/instruments/"
ACCOUNTS = "/api/v1/trading/accounts/"
VENUES = "/api/v1/trading/venues/"
POSITIONS = "/api/v1/trading/positions/"

STRING = "Must be a string."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
REQUIRED = "This field is required."
NUMBER = "A valid number is required."
INTEGER = "A valid integer is required."
BOOLEAN = "Must be a valid boolean."
NUL = "Null characters are not allowed."
POSITIVE = "Must be greater than zero."
UNKNOWN = "Unknown field."
READ_ONLY = "This field is read-only."
SYMBOL_MSG = (
    "Use 1-32 characters: upper-case letters, digits, space and . / : _ - "
    "(starting with a letter or digit)."
)
CODE_MSG = (
    "Use 1-32 characters: upper-case letters, digits and . _ - (starting with a letter or digit)."
)
VENUE_CODE_MSG = "Use 1-16 characters: upper-case letters, digits, _ and - (MIC-like, e.g. XNYS)."
CURRENCY_MSG = "Use a three-letter ISO 4217 code in upper case, e.g. USD."
TIMEZONE_MSG = "Unknown time zone; use an IANA name such as America/New_York."
FEE_MSG = "Must be from -100 to 1000 basis points."
SETTLEMENT_MSG = "Must be from 0 to 30 days."
TIME_MSG = "Time has wrong format. Use one of these formats instead: hh:mm[:ss[.uuuuuu]]."
SESSION_MSG = "Must be later than the session open."
PAR_MSG = "Percent of par applies to bonds and loans only."
INSTRUMENT_TAKEN = "An instrument with this symbol already exists."
ACCOUNT_TAKEN = "An account with this code already exists."
VENUE_TAKEN = "A venue with this code already exists."
BAD_CURSOR = {"cursor": ["Invalid cursor."]}
PAGE_SIZE = {"page_size": ["Must be an integer from 1 to 500."]}


def parse_error(message):
    return {"code": "parse_error", "detail": f"JSON parse error - {message}"}


def digits(n):
    return f"Ensure that there are no more than {n} digits in total."


def places(n):
    return f"Ensure that there are no more than {n} decimal places."


def whole(n):
    return f"Ensure that there are no more than {n} digits before the decimal point."


def longer(n):
    return f"Ensure this field has no more than {n} characters."


def choice(value):
    return f'"{value}" is not a valid choice.'


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


INSTRUMENT = {"symbol": "NEW", "name": "New Co", "asset_class": "equity", "currency": "USD"}
ACCOUNT = {
    "code": "NEW-1",
    "name": "New account",
    "kind": "client",
    "beneficial_owner": "Jane",
    "base_currency": "USD",
}
VENUE = {"code": "NEWV", "name": "New venue", "kind": "ecn", "asset_classes": ["equity"]}


def with_(base, **fields):
    return json.dumps({**base, **fields})


def without(base, name):
    return json.dumps({k: v for k, v in base.items() if k != name})


def raw_with(base, name, literal):
    """A body whose ``name`` holds a raw JSON literal (1e400, a 100-digit number...)."""
    return json.dumps({**base, name: "@@"}).replace('"@@"', literal)


MALFORMED = [
    (
        "truncated json",
        '{"symbol": "X",',
        400,
        parse_error(
            "Expecting property name enclosed in double quotes: line 1 column 16 (char 15)"
        ),
    ),
    (
        "NaN literal",
        '{"symbol": NaN}',
        400,
        parse_error("Out of range float values are not JSON compliant: 'NaN'"),
    ),
    (
        "5000-digit number",
        '{"symbol": ' + "9" * 5000 + "}",
        400,
        parse_error(
            "Exceeds the limit (4300 digits) for integer string conversion: value has "
            "5000 digits; use sys.set_int_max_str_digits() to increase the limit"
        ),
    ),
    ("null body", "null", 400, invalid(non_field_errors=["No data provided"])),
    (
        "list body",
        "[]",
        400,
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    (
        "string body",
        '"AAPL"',
        400,
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got str."]),
    ),
]

INSTRUMENT_CASES = [
    *MALFORMED,
    (
        "empty object",
        "{}",
        400,
        invalid(symbol=[REQUIRED], name=[REQUIRED], asset_class=[REQUIRED], currency=[REQUIRED]),
    ),
    # symbol
    ("symbol missing", without(INSTRUMENT, "symbol"), 400, invalid(symbol=[REQUIRED])),
    ("symbol number", with_(INSTRUMENT, symbol=123), 400, invalid(symbol=[STRING])),
    ("symbol huge float", raw_with(INSTRUMENT, "symbol", "1e400"), 400, invalid(symbol=[STRING])),
    ("symbol list", with_(INSTRUMENT, symbol=["A"]), 400, invalid(symbol=[STRING])),
    ("symbol null", with_(INSTRUMENT, symbol=None), 400, invalid(symbol=[NULL])),
    ("symbol empty", with_(INSTRUMENT, symbol=""), 400, invalid(symbol=[BLANK])),
    ("symbol blank", with_(INSTRUMENT, symbol="   "), 400, invalid(symbol=[BLANK])),
    (
        "symbol 33 chars",
        with_(INSTRUMENT, symbol="A" * 33),
        400,
        invalid(symbol=[SYMBOL_MSG, longer(32)]),
    ),
    ("symbol lower case", with_(INSTRUMENT, symbol="aapl"), 400, invalid(symbol=[SYMBOL_MSG])),
    ("symbol leading dash", with_(INSTRUMENT, symbol="-X"), 400, invalid(symbol=[SYMBOL_MSG])),
    ("symbol non-ascii", with_(INSTRUMENT, symbol="ÄPFEL"), 400, invalid(symbol=[SYMBOL_MSG])),
    ("symbol quote", with_(INSTRUMENT, symbol="A'B"), 400, invalid(symbol=[SYMBOL_MSG])),
    ("symbol NUL", with_(INSTRUMENT, symbol="A\x00"), 400, invalid(symbol=[SYMBOL_MSG, NUL])),
    ("symbol taken", with_(INSTRUMENT, symbol="TAKEN"), 400, invalid(symbol=[INSTRUMENT_TAKEN])),
    # name, issuer, sector
    ("name 201 chars", with_(INSTRUMENT, name="n" * 201), 400, invalid(name=[longer(200)])),
    ("name number", with_(INSTRUMENT, name=5), 400, invalid(name=[STRING])),
    ("name blank", with_(INSTRUMENT, name=" "), 400, invalid(name=[BLANK])),
    ("name NUL", with_(INSTRUMENT, name="a\x00"), 400, invalid(name=[NUL])),
    ("issuer 201 chars", with_(INSTRUMENT, issuer="i" * 201), 400, invalid(issuer=[longer(200)])),
    ("issuer object", with_(INSTRUMENT, issuer={"a": 1}), 400, invalid(issuer=[STRING])),
    ("sector 101 chars", with_(INSTRUMENT, sector="s" * 101), 400, invalid(sector=[longer(100)])),
    ("sector null", with_(INSTRUMENT, sector=None), 400, invalid(sector=[NULL])),
    # enums
    (
        "asset class unknown",
        with_(INSTRUMENT, asset_class="crypto"),
        400,
        invalid(asset_class=[choice("crypto")]),
    ),
    (
        "asset class upper case",
        with_(INSTRUMENT, asset_class="EQUITY"),
        400,
        invalid(asset_class=[choice("EQUITY")]),
    ),
    ("asset class number", with_(INSTRUMENT, asset_class=1), 400, invalid(asset_class=[choice(1)])),
    ("asset class null", with_(INSTRUMENT, asset_class=None), 400, invalid(asset_class=[NULL])),
    (
        "price convention unknown",
        with_(INSTRUMENT, price_convention="per_share"),
        400,
        invalid(price_convention=[choice("per_share")]),
    ),
    (
        "percent of par for an equity",
        with_(INSTRUMENT, price_convention="percent_of_par"),
        400,
        invalid(price_convention=[PAR_MSG]),
    ),
    (
        "percent of par with a multiplier",
        with_(INSTRUMENT, asset_class="bond", multiplier="10"),
        400,
        invalid(multiplier=["Must be 1 for prices in percent of par."]),
    ),
    # currency
    (
        "currency lower case",
        with_(INSTRUMENT, currency="usd"),
        400,
        invalid(currency=[CURRENCY_MSG]),
    ),
    ("currency 2 letters", with_(INSTRUMENT, currency="US"), 400, invalid(currency=[CURRENCY_MSG])),
    (
        "currency 4 letters",
        with_(INSTRUMENT, currency="USDX"),
        400,
        invalid(currency=[CURRENCY_MSG, longer(3)]),
    ),
    ("currency digits", with_(INSTRUMENT, currency="840"), 400, invalid(currency=[CURRENCY_MSG])),
    ("currency number", with_(INSTRUMENT, currency=840), 400, invalid(currency=[STRING])),
    # tick size
    ("tick zero", with_(INSTRUMENT, tick_size="0"), 400, invalid(tick_size=[POSITIVE])),
    ("tick negative", with_(INSTRUMENT, tick_size=-0.01), 400, invalid(tick_size=[POSITIVE])),
    ("tick text", with_(INSTRUMENT, tick_size="abc"), 400, invalid(tick_size=[NUMBER])),
    ("tick NaN string", with_(INSTRUMENT, tick_size="NaN"), 400, invalid(tick_size=[NUMBER])),
    (
        "tick Infinity string",
        with_(INSTRUMENT, tick_size="Infinity"),
        400,
        invalid(tick_size=[NUMBER]),
    ),
    ("tick 1e400", raw_with(INSTRUMENT, "tick_size", "1e400"), 400, invalid(tick_size=[NUMBER])),
    ("tick '1e400'", with_(INSTRUMENT, tick_size="1e400"), 400, invalid(tick_size=[digits(20)])),
    (
        "tick 100-digit number",
        raw_with(INSTRUMENT, "tick_size", "9" * 100),
        400,
        invalid(tick_size=[digits(20)]),
    ),
    (
        "tick 13 whole digits",
        with_(INSTRUMENT, tick_size="1234567890123.5"),
        400,
        invalid(tick_size=[whole(12)]),
    ),
    (
        "tick 9 decimal places",
        with_(INSTRUMENT, tick_size="0.000000001"),
        400,
        invalid(tick_size=[places(8)]),
    ),
    ("tick boolean", with_(INSTRUMENT, tick_size=True), 400, invalid(tick_size=[NUMBER])),
    ("tick list", with_(INSTRUMENT, tick_size=[1]), 400, invalid(tick_size=[NUMBER])),
    ("tick null", with_(INSTRUMENT, tick_size=None), 400, invalid(tick_size=[NULL])),
    # lot size, multiplier, average daily volume
    ("lot zero", with_(INSTRUMENT, lot_size=0), 400, invalid(lot_size=[POSITIVE])),
    ("lot negative", with_(INSTRUMENT, lot_size="-100"), 400, invalid(lot_size=[POSITIVE])),
    (
        "lot 7 decimal places",
        with_(INSTRUMENT, lot_size="0.0000001"),
        400,
        invalid(lot_size=[places(6)]),
    ),
    (
        "lot 15 whole digits",
        with_(INSTRUMENT, lot_size="123456789012345"),
        400,
        invalid(lot_size=[whole(14)]),
    ),
    ("multiplier zero", with_(INSTRUMENT, multiplier="0"), 400, invalid(multiplier=[POSITIVE])),
    (
        "multiplier huge",
        raw_with(INSTRUMENT, "multiplier", "1" + "0" * 30),
        400,
        invalid(multiplier=[digits(20)]),
    ),
    (
        "average daily volume negative",
        with_(INSTRUMENT, average_daily_volume="-1"),
        400,
        invalid(average_daily_volume=["Must be zero or more."]),
    ),
    # settlement days
    (
        "settlement 31 days",
        with_(INSTRUMENT, settlement_days=31),
        400,
        invalid(settlement_days=[SETTLEMENT_MSG]),
    ),
    (
        "settlement negative",
        with_(INSTRUMENT, settlement_days=-1),
        400,
        invalid(settlement_days=[SETTLEMENT_MSG]),
    ),
    (
        "settlement huge",
        raw_with(INSTRUMENT, "settlement_days", "9" * 100),
        400,
        invalid(settlement_days=[SETTLEMENT_MSG]),
    ),
    (
        "settlement fraction",
        with_(INSTRUMENT, settlement_days=1.5),
        400,
        invalid(settlement_days=[INTEGER]),
    ),
    (
        "settlement text",
        with_(INSTRUMENT, settlement_days="two"),
        400,
        invalid(settlement_days=[INTEGER]),
    ),
    (
        "settlement 1e400",
        raw_with(INSTRUMENT, "settlement_days", "1e400"),
        400,
        invalid(settlement_days=[INTEGER]),
    ),
    # active
    ("active maybe", with_(INSTRUMENT, active="maybe"), 400, invalid(active=[BOOLEAN])),
    ("active 2", with_(INSTRUMENT, active=2), 400, invalid(active=[BOOLEAN])),
    ("active null", with_(INSTRUMENT, active=None), 400, invalid(active=[NULL])),
    # keys the resource does not take
    ("unknown key", with_(INSTRUMENT, colour="red"), 400, invalid(colour=[UNKNOWN])),
    ("read-only id", with_(INSTRUMENT, id=5), 400, invalid(id=[READ_ONLY])),
    (
        "read-only settlement lag",
        with_(INSTRUMENT, settlement_lag=0),
        400,
        invalid(settlement_lag=[READ_ONLY]),
    ),
    (
        "unknown key with another error",
        with_(INSTRUMENT, tick_size=0, tenant=2),
        400,
        invalid(tick_size=[POSITIVE], tenant=[UNKNOWN]),
    ),
    # several at once: every field is named
    (
        "several fields",
        json.dumps({"symbol": "", "name": 1, "asset_class": "x", "currency": "usd"}),
        400,
        invalid(symbol=[BLANK], name=[STRING], asset_class=[choice("x")], currency=[CURRENCY_MSG]),
    ),
]

ACCOUNT_CASES = [
    *MALFORMED,
    (
        "empty object",
        "{}",
        400,
        invalid(
            code=[REQUIRED],
            name=[REQUIRED],
            kind=[REQUIRED],
            beneficial_owner=[REQUIRED],
            base_currency=[REQUIRED],
        ),
    ),
    ("code number", with_(ACCOUNT, code=1001), 400, invalid(code=[STRING])),
    ("code null", with_(ACCOUNT, code=None), 400, invalid(code=[NULL])),
    ("code lower case", with_(ACCOUNT, code="c-1"), 400, invalid(code=[CODE_MSG])),
    ("code with space", with_(ACCOUNT, code="C 1"), 400, invalid(code=[CODE_MSG])),
    ("code 33 chars", with_(ACCOUNT, code="C" * 33), 400, invalid(code=[CODE_MSG, longer(32)])),
    ("code NUL", with_(ACCOUNT, code="C\x00"), 400, invalid(code=[CODE_MSG, NUL])),
    ("code taken", with_(ACCOUNT, code="TAKEN"), 400, invalid(code=[ACCOUNT_TAKEN])),
    ("kind unknown", with_(ACCOUNT, kind="retail"), 400, invalid(kind=[choice("retail")])),
    ("kind list", with_(ACCOUNT, kind=["client"]), 400, invalid(kind=[choice(["client"])])),
    ("name 201 chars", with_(ACCOUNT, name="n" * 201), 400, invalid(name=[longer(200)])),
    (
        "beneficial owner blank",
        with_(ACCOUNT, beneficial_owner=""),
        400,
        invalid(beneficial_owner=[BLANK]),
    ),
    (
        "beneficial owner number",
        with_(ACCOUNT, beneficial_owner=7),
        400,
        invalid(beneficial_owner=[STRING]),
    ),
    (
        "base currency lower case",
        with_(ACCOUNT, base_currency="eur"),
        400,
        invalid(base_currency=[CURRENCY_MSG]),
    ),
    ("active text", with_(ACCOUNT, active="sometimes"), 400, invalid(active=[BOOLEAN])),
    (
        "cash balances are read-only",
        with_(ACCOUNT, cash_balances=[{"currency": "USD", "amount": "1e9"}]),
        400,
        invalid(cash_balances=[READ_ONLY]),
    ),
    ("unknown key", with_(ACCOUNT, owner="x"), 400, invalid(owner=[UNKNOWN])),
]

VENUE_CASES = [
    *MALFORMED,
    (
        "empty object",
        "{}",
        400,
        invalid(code=[REQUIRED], name=[REQUIRED], kind=[REQUIRED], asset_classes=[REQUIRED]),
    ),
    ("code lower case", with_(VENUE, code="xnys"), 400, invalid(code=[VENUE_CODE_MSG])),
    ("code with dot", with_(VENUE, code="X.NY"), 400, invalid(code=[VENUE_CODE_MSG])),
    ("code 17 chars", with_(VENUE, code="X" * 17), 400, invalid(code=[VENUE_CODE_MSG, longer(16)])),
    ("code number", with_(VENUE, code=1234), 400, invalid(code=[STRING])),
    ("code taken", with_(VENUE, code="TAKEN"), 400, invalid(code=[VENUE_TAKEN])),
    ("kind unknown", with_(VENUE, kind="lit"), 400, invalid(kind=[choice("lit")])),
    # fees
    (
        "taker fee over 1000 bps",
        with_(VENUE, taker_fee_bps="1000.0001"),
        400,
        invalid(taker_fee_bps=[FEE_MSG]),
    ),
    (
        "maker fee under -100 bps",
        with_(VENUE, maker_fee_bps=-100.5),
        400,
        invalid(maker_fee_bps=[FEE_MSG]),
    ),
    (
        "fee 5 whole digits",
        with_(VENUE, taker_fee_bps="10000"),
        400,
        invalid(taker_fee_bps=[whole(4)]),
    ),
    (
        "fee 5 decimal places",
        with_(VENUE, taker_fee_bps="0.00001"),
        400,
        invalid(taker_fee_bps=[places(4)]),
    ),
    ("fee 1e400", raw_with(VENUE, "taker_fee_bps", "1e400"), 400, invalid(taker_fee_bps=[NUMBER])),
    ("fee text", with_(VENUE, maker_fee_bps="free"), 400, invalid(maker_fee_bps=[NUMBER])),
    # timezone
    (
        "timezone unknown",
        with_(VENUE, timezone="Mars/Olympus"),
        400,
        invalid(timezone=[TIMEZONE_MSG]),
    ),
    ("timezone lower case", with_(VENUE, timezone="utc"), 400, invalid(timezone=[TIMEZONE_MSG])),
    (
        "timezone path",
        with_(VENUE, timezone="../../etc/passwd"),
        400,
        invalid(timezone=[TIMEZONE_MSG]),
    ),
    (
        "timezone 65 chars",
        with_(VENUE, timezone="A" * 65),
        400,
        invalid(timezone=[TIMEZONE_MSG, longer(64)]),
    ),
    ("timezone number", with_(VENUE, timezone=5), 400, invalid(timezone=[STRING])),
    ("timezone blank", with_(VENUE, timezone=""), 400, invalid(timezone=[BLANK])),
    # session
    ("open 25:00", with_(VENUE, session_open="25:00"), 400, invalid(session_open=[TIME_MSG])),
    ("open text", with_(VENUE, session_open="morning"), 400, invalid(session_open=[TIME_MSG])),
    ("open number", with_(VENUE, session_open=930), 400, invalid(session_open=[TIME_MSG])),
    (
        "close before open",
        with_(VENUE, session_open="16:00", session_close="09:30"),
        400,
        invalid(session_close=[SESSION_MSG]),
    ),
    (
        "close equal to open",
        with_(VENUE, session_open="10:00", session_close="10:00"),
        400,
        invalid(session_close=[SESSION_MSG]),
    ),
    (
        "close before the default open",
        with_(VENUE, session_close="09:00"),
        400,
        invalid(session_close=[SESSION_MSG]),
    ),
    # asset classes
    (
        "asset classes a string",
        with_(VENUE, asset_classes="equity"),
        400,
        invalid(asset_classes=['Expected a list of items but got type "str".']),
    ),
    (
        "asset classes empty",
        with_(VENUE, asset_classes=[]),
        400,
        invalid(asset_classes=["This list may not be empty."]),
    ),
    (
        "asset class unknown",
        with_(VENUE, asset_classes=["equity", "crypto"]),
        400,
        invalid(asset_classes={"1": [choice("crypto")]}),
    ),
    (
        "asset class number",
        with_(VENUE, asset_classes=[1]),
        400,
        invalid(asset_classes={"0": [choice(1)]}),
    ),
    (
        "asset class null",
        with_(VENUE, asset_classes=[None]),
        400,
        invalid(asset_classes={"0": [NULL]}),
    ),
    (
        "asset classes duplicated",
        with_(VENUE, asset_classes=["equity", "fx", "equity"]),
        400,
        invalid(asset_classes=["Duplicate asset class 'equity'."]),
    ),
    (
        "asset classes too many",
        with_(VENUE, asset_classes=["equity"] * 9),
        400,
        invalid(
            asset_classes=[
                "Duplicate asset class 'equity'.",
                "Ensure this field has no more than 8 elements.",
            ]
        ),
    ),
    (
        "asset classes an object",
        with_(VENUE, asset_classes={"equity": True}),
        400,
        invalid(asset_classes=['Expected a list of items but got type "dict".']),
    ),
    ("asset classes null", with_(VENUE, asset_classes=None), 400, invalid(asset_classes=[NULL])),
    # read-only and unknown keys
    ("simulated false", with_(VENUE, simulated=False), 400, invalid(simulated=[READ_ONLY])),
    (
        "session is open",
        with_(VENUE, session_is_open=False),
        400,
        invalid(session_is_open=[READ_ONLY]),
    ),
    ("unknown key", with_(VENUE, mic="XNYS"), 400, invalid(mic=[UNKNOWN])),
]


@pytest.fixture
def world(tenant, other_tenant):
    """Existing rows (whose codes the cases collide with), and an operations user."""
    InstrumentFactory(tenant=tenant, symbol="TAKEN")
    AccountFactory(tenant=tenant, code="TAKEN")
    VenueFactory(tenant=tenant, code="TAKEN")
    PositionFactory(tenant=tenant)
    InstrumentFactory(tenant=other_tenant, symbol="NEW")
    return member(tenant, "operations", username="alpha.ops")


def _post_refused(user, url, raw, status, expected):
    before = reference_snapshot()
    response = client_for(user).generic("POST", url, raw, content_type=JSON)
    assert (response.status_code, response.json()) == (status, expected)
    assert reference_snapshot() == before


def _ids(cases):
    return [c[0] for c in cases]


def _params(cases):
    return [c[1:] for c in cases]


@pytest.mark.parametrize(
    ("raw", "status", "expected"), _params(INSTRUMENT_CASES), ids=_ids(INSTRUMENT_CASES)
)
def test_instrument_create_refuses_bad_input(world, raw, status, expected):
    _post_refused(world, INSTRUMENTS, raw, status, expected)


@pytest.mark.parametrize(
    ("raw", "status", "expected"), _params(ACCOUNT_CASES), ids=_ids(ACCOUNT_CASES)
)
def test_account_create_refuses_bad_input(world, raw, status, expected):
    _post_refused(world, ACCOUNTS, raw, status, expected)


@pytest.mark.parametrize(("raw", "status", "expected"), _params(VENUE_CASES), ids=_ids(VENUE_CASES))
def test_venue_create_refuses_bad_input(world, raw, status, expected):
    _post_refused(world, VENUES, raw, status, expected)


# --- PATCH ----------------------------------------------------------------------------------

PATCH_CASES = [
    # (resource, body, expected errors)
    ("instrument", '{"symbol": "X",', None),
    (
        "instrument",
        "[1]",
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    ),
    ("instrument", '{"symbol": null}', {"symbol": [NULL]}),
    ("instrument", '{"symbol": "TAKEN"}', {"symbol": [INSTRUMENT_TAKEN]}),
    ("instrument", '{"tick_size": 0}', {"tick_size": [POSITIVE]}),
    ("instrument", '{"tick_size": 1e400}', {"tick_size": [NUMBER]}),
    ("instrument", '{"multiplier": "' + "9" * 30 + '"}', {"multiplier": [digits(20)]}),
    ("instrument", '{"asset_class": "crypto"}', {"asset_class": [choice("crypto")]}),
    ("instrument", '{"price_convention": "percent_of_par"}', {"price_convention": [PAR_MSG]}),
    ("instrument", '{"settlement_days": 99}', {"settlement_days": [SETTLEMENT_MSG]}),
    ("instrument", '{"active": null}', {"active": [NULL]}),
    ("instrument", '{"id": 1}', {"id": [READ_ONLY]}),
    ("instrument", '{"tenant": 1}', {"tenant": [UNKNOWN]}),
    ("account", '{"code": "TAKEN"}', {"code": [ACCOUNT_TAKEN]}),
    ("account", '{"code": ""}', {"code": [BLANK]}),
    ("account", '{"kind": "retail"}', {"kind": [choice("retail")]}),
    ("account", '{"base_currency": "usd"}', {"base_currency": [CURRENCY_MSG]}),
    ("account", '{"cash_balances": []}', {"cash_balances": [READ_ONLY]}),
    ("venue", '{"code": "OTHER"}', {"code": ["Cannot be changed; create a new venue."]}),
    ("venue", '{"code": "x y"}', {"code": [VENUE_CODE_MSG]}),
    ("venue", '{"session_close": "09:00"}', {"session_close": [SESSION_MSG]}),
    ("venue", '{"session_open": "24:00"}', {"session_open": [TIME_MSG]}),
    ("venue", '{"asset_classes": []}', {"asset_classes": ["This list may not be empty."]}),
    (
        "venue",
        '{"asset_classes": ["bond", "bond"]}',
        {"asset_classes": ["Duplicate asset class 'bond'."]},
    ),
    ("venue", '{"taker_fee_bps": 1001}', {"taker_fee_bps": [FEE_MSG]}),
    ("venue", '{"timezone": "Europe/Atlantis"}', {"timezone": [TIMEZONE_MSG]}),
    ("venue", '{"simulated": false}', {"simulated": [READ_ONLY]}),
]


@pytest.mark.parametrize(
    ("resource", "raw", "errors"), PATCH_CASES, ids=[f"{c[0]} {c[1]}"[:60] for c in PATCH_CASES]
)
def test_patch_refuses_bad_input(tenant, world, resource, raw, errors):
    # given a row of each kind (a 09:30-16:00 venue)
    url = {
        "instrument": lambda: f"{INSTRUMENTS}{InstrumentFactory(tenant=tenant, symbol='OWN').pk}/",
        "account": lambda: f"{ACCOUNTS}{AccountFactory(tenant=tenant, code='OWN').pk}/",
        "venue": lambda: f"{VENUES}{VenueFactory(tenant=tenant, code='OWN').code}/",
    }[resource]()
    before = reference_snapshot()
    # when a bad PATCH arrives
    response = client_for(world).generic("PATCH", url, raw, content_type=JSON)
    # then the exact 400 answers and nothing changed
    expected = (
        parse_error("Expecting property name enclosed in double quotes: line 1 column 16 (char 15)")
        if errors is None
        else invalid(**errors)
    )
    assert (response.status_code, response.json()) == (400, expected)
    assert reference_snapshot() == before


def test_an_unsupported_media_type_is_a_415(world):
    before = reference_snapshot()
    response = client_for(world).generic(
        "POST", INSTRUMENTS, json.dumps(INSTRUMENT), content_type="text/plain"
    )
    assert (response.status_code, response.json()) == (
        415,
        {
            "code": "unsupported_media_type",
            "detail": 'Unsupported media type "text/plain" in request.',
        },
    )
    assert reference_snapshot() == before


def test_form_encoded_bodies_are_validated_too(world):
    before = reference_snapshot()
    response = client_for(world).generic(
        "POST",
        VENUES,
        "code=ABC&name=x&kind=lit&asset_classes=equity",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.json()) == (400, invalid(kind=[choice("lit")]))
    assert reference_snapshot() == before


# --- list parameters ------------------------------------------------------------------------

LIST_CASES = [
    (
        INSTRUMENTS,
        {"asset_class": "crypto"},
        {"asset_class": ["Select a valid choice. crypto is not one of the available choices."]},
    ),
    (
        INSTRUMENTS,
        {"active": "maybe"},
        {"active": ["Select a valid choice. maybe is not one of the available choices."]},
    ),
    (
        INSTRUMENTS,
        {"price_convention": "x"},
        {"price_convention": ["Select a valid choice. x is not one of the available choices."]},
    ),
    (
        INSTRUMENTS,
        {"symbol": "A" * 33},
        {"symbol": ["Ensure this value has at most 32 characters (it has 33)."]},
    ),
    (INSTRUMENTS, {"symbol": "A\x00"}, {"symbol": [NUL]}),
    (
        INSTRUMENTS,
        {"q": "q" * 101},
        {"q": ["Ensure this value has at most 100 characters (it has 101)."]},
    ),
    (INSTRUMENTS, {"q": "\x00"}, {"q": [NUL]}),
    (
        INSTRUMENTS,
        {"currency": "USDX"},
        {"currency": ["Ensure this value has at most 3 characters (it has 4)."]},
    ),
    (INSTRUMENTS, {"cursor": "zz"}, BAD_CURSOR),
    (INSTRUMENTS, {"cursor": cursor("p=A\x00")}, BAD_CURSOR),
    (INSTRUMENTS, {"cursor": cursor("p=" + "A" * 65)}, BAD_CURSOR),
    (INSTRUMENTS, {"cursor": cursor("o=-1")}, BAD_CURSOR),
    (INSTRUMENTS, {"page_size": "0"}, PAGE_SIZE),
    (INSTRUMENTS, {"page_size": "9" * 30}, PAGE_SIZE),
    (
        ACCOUNTS,
        {"kind": "retail"},
        {"kind": ["Select a valid choice. retail is not one of the available choices."]},
    ),
    (
        ACCOUNTS,
        {"active": "1"},
        {"active": ["Select a valid choice. 1 is not one of the available choices."]},
    ),
    (
        ACCOUNTS,
        {"code": "C" * 33},
        {"code": ["Ensure this value has at most 32 characters (it has 33)."]},
    ),
    (ACCOUNTS, {"cursor": cursor("r=x")}, BAD_CURSOR),
    (ACCOUNTS, {"page_size": "-1"}, PAGE_SIZE),
    (
        VENUES,
        {"asset_class": "crypto"},
        {"asset_class": ["Select a valid choice. crypto is not one of the available choices."]},
    ),
    (
        VENUES,
        {"kind": ["ecn", "lit"]},
        {"kind": ["Select a valid choice. lit is not one of the available choices."]},
    ),
    (VENUES, {"cursor": cursor("p=\x01")}, BAD_CURSOR),
    (
        POSITIONS,
        {"open": "yes"},
        {"open": ["Select a valid choice. yes is not one of the available choices."]},
    ),
    (
        POSITIONS,
        {"asset_class": "crypto"},
        {"asset_class": ["Select a valid choice. crypto is not one of the available choices."]},
    ),
    (POSITIONS, {"account": "\x00"}, {"account": [NUL]}),
    (
        POSITIONS,
        {"instrument": "I" * 33},
        {"instrument": ["Ensure this value has at most 32 characters (it has 33)."]},
    ),
    (POSITIONS, {"cursor": cursor("p=abc")}, BAD_CURSOR),
    (POSITIONS, {"cursor": cursor("p=" + "9" * 19)}, BAD_CURSOR),
    (POSITIONS, {"cursor": cursor("p=-1")}, BAD_CURSOR),
    (POSITIONS, {"page_size": "1.5"}, PAGE_SIZE),
]


@pytest.mark.parametrize(
    ("url", "params", "errors"),
    LIST_CASES,
    ids=[f"{c[0].split('/')[-2]} {c[1]}"[:60] for c in LIST_CASES],
)
def test_lists_refuse_bad_parameters(world, url, params, errors):
    response = client_for(world).get(url, params)
    assert (response.status_code, response.json()) == (400, invalid(**errors))


URL_CASES = [
    ("get", f"{INSTRUMENTS}abc/"),
    ("get", f"{INSTRUMENTS}-1/"),
    ("get", f"{INSTRUMENTS}1.5/"),
    ("get", f"{INSTRUMENTS}0/"),
    ("get", f"{INSTRUMENTS}%00/"),
    ("get", f"{INSTRUMENTS}99999999999999999999999/"),
    ("get", f"{INSTRUMENTS}999999999999999999/"),
    ("patch", f"{INSTRUMENTS}999999999999999999/"),
    ("patch", f"{INSTRUMENTS}abc/"),
    ("get", f"{ACCOUNTS}TAKEN/"),
    ("patch", f"{ACCOUNTS}999999999999999999/"),
    ("get", f"{VENUES}taken/"),
    ("get", f"{VENUES}{'X' * 17}/"),
    ("get", f"{VENUES}X%00/"),
    ("patch", f"{VENUES}NOPE/"),
    ("get", f"{POSITIONS}abc/"),
    ("get", f"{POSITIONS}999999999999999999/"),
    ("get", "/api/v1/trading/nothing/"),
]


@pytest.mark.parametrize(("method", "url"), URL_CASES, ids=[f"{m} {u}" for m, u in URL_CASES])
def test_bad_ids_in_the_url_answer_a_json_404(world, method, url):
    before = reference_snapshot()
    api = client_for(world)
    response = (
        getattr(api, method)(url, {"name": "x"}, format="json")
        if method == "patch"
        else api.get(url)
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert reference_snapshot() == before
