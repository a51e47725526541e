"""The bad-input table for the order endpoints: everything a client can send wrongly answers an
exact 4xx naming the field, never a 500, and persists nothing."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import counts, snapshot

pytestmark = pytest.mark.django_db

JSON = "application/json"
CLIENT_ID_MSG = "Use 1-64 characters: letters, digits and . _ : - /"
DATETIME_MSG = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
PAGE_SIZE = {"page_size": ["Must be an integer from 1 to 500."]}
BAD_CURSOR = {"cursor": ["Invalid cursor."]}
NOT_FOUND = {"code": "not_found", "detail": "Not found."}
ORDER_NOT_FOUND = {"code": "not_found", "detail": "Order not found."}


def invalid(**errors):
    return {"code": "invalid", "detail": "Invalid input.", "errors": errors}


def parse_error(message):
    return {"code": "parse_error", "detail": f"JSON parse error - {message}"}


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


def body(**fields) -> str:
    return json.dumps({"kind": "trade", "client_order_id": "ok-1", **fields})


CREATE_CASES = [
    # malformed bodies
    (
        "truncated json",
        '{"kind": "trade",',
        400,
        parse_error(
            "Expecting property name enclosed in double quotes: line 1 column 18 (char 17)"
        ),
    ),
    (
        "NaN literal",
        '{"kind": "trade", "client_order_id": NaN}',
        400,
        parse_error("Out of range float values are not JSON compliant: 'NaN'"),
    ),
    (
        "5000-digit number",
        '{"kind": "trade", "client_order_id": ' + "9" * 5000 + "}",
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
        '"trade"',
        400,
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got str."]),
    ),
    (
        "empty object",
        "{}",
        400,
        invalid(kind=["This field is required."], client_order_id=["This field is required."]),
    ),
    # kind
    ("unknown kind", body(kind="bond"), 400, invalid(kind=['"bond" is not a valid choice.'])),
    ("kind as number", body(kind=1), 400, invalid(kind=['"1" is not a valid choice.'])),
    (
        "kind as list",
        body(kind=["trade"]),
        400,
        invalid(kind=["\"['trade']\" is not a valid choice."]),
    ),
    ("kind null", body(kind=None), 400, invalid(kind=["This field may not be null."])),
    ("kind upper case", body(kind="TRADE"), 400, invalid(kind=['"TRADE" is not a valid choice.'])),
    # client_order_id
    (
        "client id as number",
        body(client_order_id=123),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id huge float",
        '{"kind": "trade", "client_order_id": 1e400}',
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id huge int",
        '{"kind": "trade", "client_order_id": ' + "9" * 100 + "}",
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id boolean",
        body(client_order_id=True),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id null",
        body(client_order_id=None),
        400,
        invalid(client_order_id=["This field may not be null."]),
    ),
    (
        "client id empty",
        body(client_order_id=""),
        400,
        invalid(client_order_id=["This field may not be blank."]),
    ),
    (
        "client id blank",
        body(client_order_id="   "),
        400,
        invalid(client_order_id=["This field may not be blank."]),
    ),
    (
        "client id 65 chars",
        body(client_order_id="a" * 65),
        400,
        invalid(
            client_order_id=["Ensure this field has no more than 64 characters.", CLIENT_ID_MSG]
        ),
    ),
    (
        "client id with space",
        body(client_order_id="a b"),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id leading dash",
        body(client_order_id="-abc"),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id non-ascii",
        body(client_order_id="ordre-é"),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    (
        "client id NUL",
        body(client_order_id="a\x00b"),
        400,
        invalid(client_order_id=["Null characters are not allowed.", CLIENT_ID_MSG]),
    ),
    (
        "client id quote",
        body(client_order_id="a'; drop"),
        400,
        invalid(client_order_id=[CLIENT_ID_MSG]),
    ),
    # note
    (
        "note 501 chars",
        body(note="n" * 501),
        400,
        invalid(note=["Ensure this field has no more than 500 characters."]),
    ),
    ("note as number", body(note=5), 400, invalid(note=["Must be a string."])),
    ("note as object", body(note={"a": 1}), 400, invalid(note=["Must be a string."])),
    ("note NUL", body(note="a\x00b"), 400, invalid(note=["Null characters are not allowed."])),
    # expires_at
    (
        "expires in the past",
        body(expires_at="2001-01-01T00:00:00Z"),
        400,
        invalid(expires_at=["Must be in the future."]),
    ),
    (
        "expires unparsable",
        body(expires_at="next tuesday"),
        400,
        invalid(expires_at=[DATETIME_MSG]),
    ),
    (
        "expires month 13",
        body(expires_at="2031-13-01T00:00:00Z"),
        400,
        invalid(expires_at=[DATETIME_MSG]),
    ),
    ("expires as number", body(expires_at=1893456000), 400, invalid(expires_at=[DATETIME_MSG])),
    (
        "expires year 0",
        body(expires_at="0000-01-01T00:00:00Z"),
        400,
        invalid(expires_at=[DATETIME_MSG]),
    ),
    (
        "expires overflows UTC",
        body(expires_at="9999-12-31T23:59:59-01:00"),
        400,
        invalid(expires_at=["Datetime value out of range."]),
    ),
    # submit
    ("submit 2", body(submit=2), 400, invalid(submit=["Must be a valid boolean."])),
    ("submit maybe", body(submit="maybe"), 400, invalid(submit=["Must be a valid boolean."])),
    ("submit null", body(submit=None), 400, invalid(submit=["This field may not be null."])),
    # several at once: every field is named
    (
        "several fields",
        json.dumps({"kind": "x", "client_order_id": "", "note": 1}),
        400,
        invalid(
            kind=['"x" is not a valid choice.'],
            client_order_id=["This field may not be blank."],
            note=["Must be a string."],
        ),
    ),
]


@pytest.mark.parametrize(
    ("raw", "status", "expected"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
def test_create_refuses_bad_input(tenant, trader, raw, status, expected):
    # given a trader and an existing order
    order_in_status(tenant=tenant, status="open")
    before = counts(tenant)
    # when a malformed creation is posted
    response = client_for(trader).generic("POST", "/api/v1/orders/", raw, content_type=JSON)
    # then the exact 4xx names the problem and nothing is persisted
    assert (response.status_code, response.json()) == (status, expected)
    assert counts(tenant) == before


def test_create_refuses_an_unsupported_media_type(tenant, trader):
    before = counts(tenant)
    response = client_for(trader).generic(
        "POST", "/api/v1/orders/", body(), content_type="text/plain"
    )
    assert (response.status_code, response.json()) == (
        415,
        {
            "code": "unsupported_media_type",
            "detail": 'Unsupported media type "text/plain" in request.',
        },
    )
    assert counts(tenant) == before


def test_create_validates_form_encoded_bodies_too(tenant, trader):
    before = counts(tenant)
    response = client_for(trader).generic(
        "POST",
        "/api/v1/orders/",
        "kind=bond&client_order_id=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.json()) == (
        400,
        invalid(kind=['"bond" is not a valid choice.']),
    )
    assert counts(tenant) == before


LIST_CASES = [
    (
        "status bogus",
        {"status": "bogus"},
        invalid(status=["Select a valid choice. bogus is not one of the available choices."]),
    ),
    (
        "status one bogus of two",
        {"status": ["open", "bogus"]},
        invalid(status=["Select a valid choice. bogus is not one of the available choices."]),
    ),
    (
        "kind bogus",
        {"kind": "bond"},
        invalid(kind=["Select a valid choice. bond is not one of the available choices."]),
    ),
    (
        "created_after garbage",
        {"created_after": "garbage"},
        invalid(created_after=["Enter a valid date/time."]),
    ),
    (
        "created_before month 13",
        {"created_before": "2020-13-45"},
        invalid(created_before=["Enter a valid date/time."]),
    ),
    (
        "created_after year 99999",
        {"created_after": "99999-01-01"},
        invalid(created_after=["Enter a valid date/time."]),
    ),
    (
        "created_after NUL",
        {"created_after": "\x00"},
        invalid(created_after=["Enter a valid date/time."]),
    ),
    (
        "reference 21 chars",
        {"reference": "T" * 21},
        invalid(reference=["Ensure this value has at most 20 characters (it has 21)."]),
    ),
    (
        "reference NUL",
        {"reference": "T-\x00"},
        invalid(reference=["Null characters are not allowed."]),
    ),
    (
        "client id 65 chars",
        {"client_order_id": "a" * 65},
        invalid(client_order_id=["Ensure this value has at most 64 characters (it has 65)."]),
    ),
    (
        "client id NUL",
        {"client_order_id": "a\x00"},
        invalid(client_order_id=["Null characters are not allowed."]),
    ),
    ("cursor garbage", {"cursor": "zz"}, invalid(**BAD_CURSOR)),
    ("cursor negative offset", {"cursor": cursor("o=-1")}, invalid(**BAD_CURSOR)),
    ("cursor forged position", {"cursor": cursor("p=garbage")}, invalid(**BAD_CURSOR)),
    ("cursor naive position", {"cursor": cursor("p=2020-01-01 00:00:00")}, invalid(**BAD_CURSOR)),
    (
        "cursor impossible date",
        {"cursor": cursor("p=2020-02-30 00:00:00+00:00")},
        invalid(**BAD_CURSOR),
    ),
    (
        "cursor bad offset zone",
        {"cursor": cursor("p=2020-01-01 00:00:00+99:00")},
        invalid(**BAD_CURSOR),
    ),
    ("cursor huge position", {"cursor": cursor("p=" + "x" * 5000)}, invalid(**BAD_CURSOR)),
    ("page_size 0", {"page_size": "0"}, invalid(**PAGE_SIZE)),
    ("page_size -1", {"page_size": "-1"}, invalid(**PAGE_SIZE)),
    ("page_size empty", {"page_size": ""}, invalid(**PAGE_SIZE)),
    ("page_size text", {"page_size": "ten"}, invalid(**PAGE_SIZE)),
    ("page_size 1.5", {"page_size": "1.5"}, invalid(**PAGE_SIZE)),
    ("page_size huge", {"page_size": "9" * 30}, invalid(**PAGE_SIZE)),
    ("page_size over max", {"page_size": "501"}, invalid(**PAGE_SIZE)),
]


@pytest.mark.parametrize(
    ("params", "expected"), [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES]
)
def test_list_refuses_bad_parameters(tenant, trader, params, expected):
    # given an order
    order_in_status(tenant=tenant, status="open")
    # when the list is read with a bad parameter
    response = client_for(trader).get("/api/v1/orders/", params)
    # then 400 names the parameter
    assert (response.status_code, response.json()) == (400, expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cursor": "zz"}, invalid(**BAD_CURSOR)),
        ({"cursor": cursor("p=garbage")}, invalid(**BAD_CURSOR)),
        ({"page_size": "0"}, invalid(**PAGE_SIZE)),
        ({"page_size": "9" * 30}, invalid(**PAGE_SIZE)),
    ],
    ids=["cursor garbage", "cursor forged", "page_size 0", "page_size huge"],
)
def test_events_refuse_bad_parameters(tenant, trader, params, expected):
    order = order_in_status(tenant=tenant, status="open")
    response = client_for(trader).get(f"/api/v1/orders/{order.pk}/events/", params)
    assert (response.status_code, response.json()) == (400, expected)


URL_CASES = [
    ("get", "/api/v1/orders/abc/", NOT_FOUND),
    ("get", "/api/v1/orders/99999999999999999999999/", NOT_FOUND),
    ("get", "/api/v1/orders/999999999999999999/", NOT_FOUND),
    ("get", "/api/v1/orders/-1/", NOT_FOUND),
    ("get", "/api/v1/orders/1.5/", NOT_FOUND),
    ("get", "/api/v1/orders/0/", NOT_FOUND),
    ("get", "/api/v1/orders/%00/", NOT_FOUND),
    ("get", "/api/v1/orders/abc/events/", NOT_FOUND),
    ("get", "/api/v1/orders/99999999999999999999999/events/", NOT_FOUND),
    ("get", "/api/v1/orders/999999999999999999/events/", ORDER_NOT_FOUND),
    ("post", "/api/v1/orders/abc/cancel/", NOT_FOUND),
    ("post", "/api/v1/orders/99999999999999999999999/cancel/", NOT_FOUND),
    ("post", "/api/v1/orders/999999999999999999/cancel/", ORDER_NOT_FOUND),
    ("post", "/api/v1/orders/999999999999999999/approve/", ORDER_NOT_FOUND),
    ("post", "/api/v1/orders/1/teleport/", NOT_FOUND),
]


@pytest.mark.parametrize(("method", "url", "expected"), URL_CASES, ids=[c[1] for c in URL_CASES])
def test_bad_ids_in_the_url_answer_a_json_404(tenant, trader, method, url, expected):
    # given an open order (whose id may be 1)
    order = order_in_status(tenant=tenant, status="open")
    before = (counts(tenant), snapshot(order))
    # when a bad or missing id is used
    api = client_for(trader)
    response = api.get(url) if method == "get" else api.post(url, {}, format="json")
    # then a JSON 404 answers and nothing changed
    assert (response.status_code, response.json()) == (404, expected)
    assert (counts(tenant), snapshot(order)) == before


TRANSITION_CASES = [
    (
        "reason 501 chars",
        json.dumps({"reason": "r" * 501}),
        400,
        invalid(reason=["Ensure this field has no more than 500 characters."]),
    ),
    ("reason number", '{"reason": 5}', 400, invalid(reason=["Must be a string."])),
    ("reason huge number", '{"reason": 1e400}', 400, invalid(reason=["Must be a string."])),
    ("reason list", '{"reason": ["a"]}', 400, invalid(reason=["Must be a string."])),
    ("reason null", '{"reason": null}', 400, invalid(reason=["This field may not be null."])),
    (
        "reason NUL",
        '{"reason": "a\\u0000"}',
        400,
        invalid(reason=["Null characters are not allowed."]),
    ),
    (
        "list body",
        "[1]",
        400,
        invalid(non_field_errors=["Invalid data. Expected a dictionary, but got list."]),
    ),
    (
        "truncated json",
        '{"reason": "x"',
        400,
        parse_error("Expecting ',' delimiter: line 1 column 15 (char 14)"),
    ),
]


@pytest.mark.parametrize("name", ["submit", "approve", "reject", "cancel"])
@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [c[1:] for c in TRANSITION_CASES],
    ids=[c[0] for c in TRANSITION_CASES],
)
def test_transitions_refuse_bad_bodies(tenant, name, raw, status, expected):
    # given an order where the transition is possible, and an admin
    source = {"submit": "draft", "approve": "held", "reject": "held", "cancel": "open"}[name]
    order = order_in_status(tenant=tenant, status=source)
    admin = member(tenant, "admin", username="alpha.admin")
    before = (counts(tenant), snapshot(order))
    # when the request body is bad
    response = client_for(admin).generic(
        "POST", f"/api/v1/orders/{order.pk}/{name}/", raw, content_type=JSON
    )
    # then the exact 4xx answers and the order is untouched
    assert (response.status_code, response.json()) == (status, expected)
    assert (counts(tenant), snapshot(order)) == before
