"""/api/v1/trading/orders/: entry (idempotent), fills against the simulated venue, executions,
the blotter list and its filters, detail, cancel, cancel/replace, roles and tenant isolation."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from orders.models import Order, OrderEvent
from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.trading.factories import QuoteFactory
from tests.trading.order_helpers import (
    CANCEL_ROLES,
    ENTRY_ROLES,
    FORBIDDEN,
    GENERIC_ORDERS,
    NOT_FOUND,
    ORDERS,
    ROLE_MAY_NOT_CANCEL,
    ROLES,
    counts,
    invalid,
    iso,
    market,
    order_body,
    order_snapshot,
    order_url,
    post,
    quote_rows,
    report_rows,
    state,
    too_late,
    trade,
    trade_by_client_id,
    trade_json,
    trading_snapshot,
)
from trading.models import ExecutionReport

pytestmark = pytest.mark.django_db

D = Decimal
DIFFERS = ["Differs from the original submission with this client_order_id."]


@pytest.fixture
def mkt(tenant):
    return market(tenant)


@pytest.fixture
def api(trader):
    return client_for(trader)


def enter(capture, client, tenant, **fields):
    """Enter an order through the API and run its routing and venue work."""
    body = order_body(**fields)
    response = post(capture, client, ORDERS, body)
    assert response.status_code == 201, response.json()
    return trade_by_client_id(tenant, body["client_order_id"])


def executions(client, order):
    response = client.get(order_url(order, "executions"))
    assert response.status_code == 200, response.json()
    return response.json()


# --- entry ------------------------------------------------------------------------------------


def test_create_answers_201_with_the_whole_order(tenant, mkt, api):
    # given a trader and a valid limit order (routing not run: the body is the stored order)
    body = order_body(note="first order")
    # when it is posted
    response = api.post(ORDERS, body, format="json")
    # then 201 with exactly the order as stored: PendingNew until a venue acknowledges it
    assert response.status_code == 201
    order = trade_by_client_id(tenant, "cl-1")
    assert response.json() == {
        "id": order.pk,
        "reference": "T-000001",
        "client_order_id": "cl-1",
        "status": "pending",
        "ord_status": "PendingNew",
        "account": "ACC-1",
        "instrument": "ACME",
        "side": "buy",
        "quantity": "60.000000",
        "order_type": "limit",
        "limit_price": "99.50000000",
        "stop_price": None,
        "trail_amount": None,
        "trail_percent": None,
        "time_in_force": "day",
        "expire_at": None,
        "venue": "smart",
        "handling": "auto",
        "cum_qty": "0.000000",
        "leaves_qty": "60.000000",
        "avg_px": "0.00000000",
        "pending": "",
        "triggered": False,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }
    assert response.json() == trade_json(order)
    assert (order.order.note, order.order.created_by) == ("first order", api.handler._force_user)
    assert list(
        OrderEvent.objects.for_tenant(tenant)
        .filter(order_id=order.pk)
        .order_by("pk")
        .values_list("kind", "from_status", "to_status")
    ) == [
        ("created", "", "draft"),
        ("submitted", "draft", "pending"),
        ("screened", *["pending"] * 2),
    ]


def test_create_a_directed_gtd_stop_limit_order_stores_every_field(tenant, mkt, api):
    body = order_body(
        client_order_id="gtd-1",
        instrument="BOND",
        side="sell_short",
        quantity="30",
        order_type="stop_limit",
        limit_price="97.05",
        stop_price="97.10",
        time_in_force="gtd",
        expire_at="2099-01-02T03:04:05Z",
        venue="XA",
        handling="care",
    )
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 201
    order = trade_by_client_id(tenant, "gtd-1")
    assert response.json() == trade_json(order)
    assert {
        k: response.json()[k]
        for k in (
            "instrument",
            "side",
            "quantity",
            "order_type",
            "limit_price",
            "stop_price",
            "time_in_force",
            "expire_at",
            "venue",
            "handling",
        )
    } == {
        "instrument": "BOND",
        "side": "sell_short",
        "quantity": "30.000000",
        "order_type": "stop_limit",
        "limit_price": "97.05000000",
        "stop_price": "97.10000000",
        "time_in_force": "gtd",
        "expire_at": "2099-01-02T03:04:05Z",
        "venue": "XA",
        "handling": "care",
    }


def test_replaying_the_same_order_answers_200_with_the_same_order(tenant, mkt, api):
    # given an order entered once
    first = api.post(ORDERS, order_body(), format="json")
    assert first.status_code == 201
    before = trading_snapshot(tenant)
    # when the same client order id and payload are sent again (numbers written differently)
    again = api.post(ORDERS, order_body(quantity=60, limit_price="99.5000"), format="json")
    # then 200 with the same order, and nothing new is stored
    assert again.status_code == 200
    assert again.json() == first.json() == trade_json(trade_by_client_id(tenant, "cl-1"))
    assert trading_snapshot(tenant) == before


def test_replaying_with_a_different_payload_answers_409_naming_the_fields(tenant, mkt, api):
    api.post(ORDERS, order_body(), format="json")
    order = trade_by_client_id(tenant, "cl-1")
    before = trading_snapshot(tenant)
    response = api.post(
        ORDERS, order_body(quantity="70", side="sell", venue="XB", note="changed"), format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "idempotency_conflict",
        "detail": "This idempotency key was already used with a different payload.",
        "errors": {"note": DIFFERS, "quantity": DIFFERS, "side": DIFFERS, "venue": DIFFERS},
        "order_id": order.pk,
        "reference": "T-000001",
    }
    assert trading_snapshot(tenant) == before


def test_the_same_client_order_id_in_another_tenant_is_another_order(
    tenant, other_tenant, mkt, api
):
    market(other_tenant)
    other = client_for(member(other_tenant, "trader", username="beta.trader"))
    assert other.post(ORDERS, order_body(), format="json").status_code == 201
    response = api.post(ORDERS, order_body(quantity="70"), format="json")
    assert response.status_code == 201
    assert response.json()["reference"] == "T-000001"


# --- fills against the simulated venue --------------------------------------------------------


def test_a_marketable_order_sweeps_the_venues_quotes_after_routing(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    # given ACME offered at 100.01 x 100 on XA and 100.03 x 100 on XB
    QuoteFactory(tenant=tenant, venue=mkt.xb, instrument=mkt.acme, ask=D("100.03"), ask_size=100)
    # when a buy limit 100.05 for 150 is entered and routed
    response = post(
        django_capture_on_commit_callbacks,
        api,
        ORDERS,
        order_body(quantity="150", limit_price="100.05"),
    )
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["ord_status"]) == ("pending", "PendingNew")
    order = trade_by_client_id(tenant, "cl-1")
    # then it fills 100 at 100.01 on XA and 50 at 100.03 on XB, best price first
    assert state(order) == ("completed", "Filled", D(150), D(150), D(0), D("100.01666667"))
    detail = api.get(order_url(order))
    assert detail.status_code == 200
    assert detail.json() == trade_json(order)
    assert {k: detail.json()[k] for k in ("cum_qty", "leaves_qty", "avg_px", "ord_status")} == {
        "cum_qty": "150.000000",
        "leaves_qty": "0.000000",
        "avg_px": "100.01666667",
        "ord_status": "Filled",
    }
    # the displayed size is consumed
    assert [(r[0], r[4], r[5]) for r in quote_rows(tenant)] == [
        ("XA", D("100.01"), D(0)),
        ("XB", D("100.03"), D(50)),
    ]
    # and the executions endpoint lists the reports in order: New, Trade, Trade
    reports = list(
        ExecutionReport.objects.for_tenant(tenant).filter(order_id=order.pk).order_by("pk")
    )
    assert executions(api, order) == {
        "next": None,
        "previous": None,
        "results": [
            {
                "exec_id": "T-000001-1",
                "exec_type": "New",
                "ord_status": "New",
                "order_qty": "150.000000",
                "last_qty": "0.000000",
                "last_px": "0.00000000",
                "cum_qty": "0.000000",
                "leaves_qty": "150.000000",
                "avg_px": "0.00000000",
                "venue": None,
                "exec_id_venue": None,
                "text": "",
                "created_at": iso(reports[0].created_at),
            },
            {
                "exec_id": "T-000001-2",
                "exec_type": "Trade",
                "ord_status": "PartiallyFilled",
                "order_qty": "150.000000",
                "last_qty": "100.000000",
                "last_px": "100.01000000",
                "cum_qty": "100.000000",
                "leaves_qty": "50.000000",
                "avg_px": "100.01000000",
                "venue": "XA",
                "exec_id_venue": "XA-T-000001-1-1",
                "text": "",
                "created_at": iso(reports[1].created_at),
            },
            {
                "exec_id": "T-000001-3",
                "exec_type": "Trade",
                "ord_status": "Filled",
                "order_qty": "150.000000",
                "last_qty": "50.000000",
                "last_px": "100.03000000",
                "cum_qty": "150.000000",
                "leaves_qty": "0.000000",
                "avg_px": "100.01666667",
                "venue": "XB",
                "exec_id_venue": "XB-T-000001-2-1",
                "text": "",
                "created_at": iso(reports[2].created_at),
            },
        ],
    }


def test_a_partial_fill_rests_the_remainder_at_the_limit(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    order = enter(
        django_capture_on_commit_callbacks, api, tenant, quantity="130", limit_price="100.01"
    )
    assert state(order) == ("partial", "PartiallyFilled", D(130), D(100), D(30), D("100.01"))
    assert report_rows(order) == [
        ("New", "New", "130", "0", "0", "0", "130"),
        ("Trade", "PartiallyFilled", "130", "100", "100.01", "100", "30"),
    ]


def test_executions_page_through_with_a_cursor(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant, limit_price="100.01")
    first = api.get(order_url(order, "executions"), {"page_size": 1})
    assert first.status_code == 200
    assert [r["exec_type"] for r in first.json()["results"]] == ["New"]
    second = api.get(first.json()["next"])
    assert [r["exec_type"] for r in second.json()["results"]] == ["Trade"]
    assert second.json()["next"] is None


# --- the blotter list -----------------------------------------------------------------------


@pytest.fixture
def blotter(tenant, other_tenant, mkt, api, django_capture_on_commit_callbacks):
    """o1 open (ACME buy ACC-1), o2 completed (ACME sell ACC-2), o3 open (BOND buy ACC-2),
    o4 canceled (ACME sell_short ACC-1), o5 care, pending (ACME buy ACC-1); and an order of
    another tenant on the same codes."""
    capture = django_capture_on_commit_callbacks
    QuoteFactory(
        tenant=tenant,
        venue=mkt.xa,
        instrument=mkt.bond,
        bid=D("97.00"),
        bid_size=100,
        ask=D("99.00"),
        ask_size=100,
    )
    enter(capture, api, tenant, client_order_id="o1")
    enter(
        capture,
        api,
        tenant,
        client_order_id="o2",
        side="sell",
        account="ACC-2",
        quantity="10",
        limit_price="99.99",
    )
    enter(
        capture,
        api,
        tenant,
        client_order_id="o3",
        instrument="BOND",
        account="ACC-2",
        quantity="100",
        limit_price="98.00",
    )
    o4 = enter(
        capture,
        api,
        tenant,
        client_order_id="o4",
        side="sell_short",
        quantity="5",
        limit_price="101.00",
    )
    assert post(capture, api, order_url(o4, "cancel")).status_code == 200
    enter(capture, api, tenant, client_order_id="o5", handling="care")
    market(other_tenant)
    other = client_for(member(other_tenant, "trader", username="beta.trader"))
    enter(capture, other, other_tenant, client_order_id="o6")
    assert [
        (t.order.client_order_id, t.order.status)
        for t in sorted(
            (trade_by_client_id(tenant, f"o{n}") for n in range(1, 6)), key=lambda t: t.pk
        )
    ] == [
        ("o1", "open"),
        ("o2", "completed"),
        ("o3", "open"),
        ("o4", "canceled"),
        ("o5", "pending"),
    ]


def _listed(client, params):
    response = client.get(ORDERS, params)
    assert response.status_code == 200, response.json()
    return [row["client_order_id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["o5", "o4", "o3", "o2", "o1"]),
        ({"status": "open"}, ["o3", "o1"]),
        ({"status": ["open", "pending"]}, ["o5", "o3", "o1"]),
        ({"status": "completed"}, ["o2"]),
        ({"status": "canceled"}, ["o4"]),
        ({"status": "expired"}, []),
        ({"symbol": "ACME"}, ["o5", "o4", "o2", "o1"]),
        ({"symbol": "BOND"}, ["o3"]),
        ({"symbol": "NOPE"}, []),
        ({"account": "ACC-2"}, ["o3", "o2"]),
        ({"account": "ACC-1"}, ["o5", "o4", "o1"]),
        ({"side": "buy"}, ["o5", "o3", "o1"]),
        ({"side": "sell"}, ["o2"]),
        ({"side": "sell_short"}, ["o4"]),
        ({"open_only": "true"}, ["o5", "o3", "o1"]),
        ({"open_only": "false"}, ["o5", "o4", "o3", "o2", "o1"]),
        ({"symbol": "ACME", "side": "buy", "open_only": "true"}, ["o5", "o1"]),
        ({"account": "ACC-2", "status": "completed"}, ["o2"]),
    ],
)
def test_list_filters(blotter, api, params, expected):
    assert _listed(api, params) == expected


def test_list_rows_are_the_full_orders_newest_first(tenant, blotter, api):
    response = api.get(ORDERS, {"open_only": "true"})
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [trade_json(trade_by_client_id(tenant, c)) for c in ("o5", "o3", "o1")],
    }


def test_list_pages_through_with_a_cursor(blotter, api):
    pages = []
    response = api.get(ORDERS, {"page_size": 2})
    while True:
        assert response.status_code == 200
        pages.append([row["client_order_id"] for row in response.json()["results"]])
        if response.json()["next"] is None:
            break
        response = api.get(response.json()["next"])
    assert pages == [["o5", "o4"], ["o3", "o2"], ["o1"]]


def test_detail_is_the_whole_order(tenant, blotter, api):
    order = trade_by_client_id(tenant, "o3")
    response = api.get(order_url(order))
    assert response.status_code == 200
    assert response.json() == trade_json(order)
    assert (response.json()["ord_status"], response.json()["instrument"]) == ("New", "BOND")


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_goes_pending_cancel_then_canceled_by_the_venue(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    # given an order resting at XA
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    assert state(order) == ("open", "New", D(60), D(0), D(60), D(0))
    # when the trader cancels it
    response = post(
        django_capture_on_commit_callbacks, api, order_url(order, "cancel"), {"reason": "changed"}
    )
    # then the answer is PendingCancel (the venue has not confirmed yet) ...
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("status", "ord_status", "pending", "leaves_qty")} == {
        "status": "open",
        "ord_status": "PendingCancel",
        "pending": "cancel",
        "leaves_qty": "60.000000",
    }
    # ... and the simulated venue's confirmation makes it Canceled
    assert state(order) == ("canceled", "Canceled", D(60), D(0), D(0), D(0))
    assert report_rows(order) == [
        ("New", "New", "60", "0", "0", "0", "60"),
        ("PendingCancel", "PendingCancel", "60", "0", "0", "0", "60"),
        ("Canceled", "Canceled", "60", "0", "0", "0", "0"),
    ]
    assert [r["text"] for r in executions(api, order)["results"]] == [
        "",
        "changed",
        "Canceled on request.",
    ]
    events = OrderEvent.objects.for_tenant(tenant).filter(order_id=order.pk).order_by("pk")
    assert list(events.values_list("kind", "actor_name", "reason"))[-2:] == [
        ("cancel_requested", "alpha.trader", "changed"),
        ("canceled", "system", "Canceled on request."),
    ]


def test_a_second_cancel_is_too_late(tenant, mkt, api, django_capture_on_commit_callbacks):
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    post(django_capture_on_commit_callbacks, api, order_url(order, "cancel"))
    before = order_snapshot(order)
    response = post(django_capture_on_commit_callbacks, api, order_url(order, "cancel"))
    assert response.status_code == 409
    assert response.json() == too_late("cancel", "canceled", "Canceled")
    assert order_snapshot(order) == before


def test_cancel_of_a_filled_order_is_too_late(tenant, mkt, api, django_capture_on_commit_callbacks):
    order = enter(django_capture_on_commit_callbacks, api, tenant, limit_price="100.01")
    assert state(order)[:2] == ("completed", "Filled")
    before = order_snapshot(order)
    response = post(django_capture_on_commit_callbacks, api, order_url(order, "cancel"))
    assert response.status_code == 409
    assert response.json() == too_late("cancel", "filled", "Filled")
    assert order_snapshot(order) == before


def test_cancel_of_a_care_order_not_at_any_venue_is_immediate(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant, handling="care")
    assert state(order)[:2] == ("pending", "PendingNew")
    response = post(django_capture_on_commit_callbacks, api, order_url(order, "cancel"))
    assert response.status_code == 200
    assert response.json() == trade_json(order)
    assert state(order) == ("canceled", "Canceled", D(60), D(0), D(0), D(0))
    assert report_rows(order) == [("Canceled", "Canceled", "60", "0", "0", "0", "0")]


def test_the_generic_cancel_of_a_trade_order_goes_to_the_venue_too(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    response = post(django_capture_on_commit_callbacks, api, f"{GENERIC_ORDERS}{order.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "open"  # PendingCancel at that moment
    assert state(order)[:2] == ("canceled", "Canceled")
    assert [row[0] for row in report_rows(order)] == ["New", "PendingCancel", "Canceled"]


# --- cancel/replace -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "after", "reports"),
    [
        (
            {"quantity": "80"},
            ("open", "New", D(80), D(0), D(80), D(0)),
            [("PendingReplace", "PendingReplace", "60"), ("Replaced", "New", "80")],
        ),
        (
            {"quantity": "40"},
            ("open", "New", D(40), D(0), D(40), D(0)),
            [("PendingReplace", "PendingReplace", "60"), ("Replaced", "New", "40")],
        ),
        (
            {"limit_price": "99.60"},
            ("open", "New", D(60), D(0), D(60), D(0)),
            [("PendingReplace", "PendingReplace", "60"), ("Replaced", "New", "60")],
        ),
        (
            # a new limit through the ask: the venue fills it at the ask once replaced
            {"limit_price": "100.02", "quantity": "50"},
            ("completed", "Filled", D(50), D(50), D(0), D("100.01")),
            [
                ("PendingReplace", "PendingReplace", "60"),
                ("Replaced", "New", "50"),
                ("Trade", "Filled", "50"),
            ],
        ),
    ],
)
def test_replace_goes_pending_replace_then_replaced_by_the_venue(
    tenant, mkt, api, django_capture_on_commit_callbacks, change, after, reports
):
    # given an order resting at XA (buy 60 at 99.50)
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    # when the trader replaces it
    response = post(django_capture_on_commit_callbacks, api, order_url(order, "replace"), change)
    # then the answer is PendingReplace with the order as it was ...
    assert response.status_code == 200
    body = response.json()
    assert (body["ord_status"], body["pending"], body["quantity"], body["limit_price"]) == (
        "PendingReplace",
        "replace",
        "60.000000",
        "99.50000000",
    )
    # ... and once the venue confirms, the new terms apply
    assert state(order) == after
    fresh = trade(order)
    assert fresh.limit_price == D(change.get("limit_price", "99.50"))
    assert (fresh.pending, fresh.pending_quantity, fresh.pending_limit_price) == ("", None, None)
    assert [row[:3] for row in report_rows(order)] == [("New", "New", "60"), *reports]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"quantity": "0"}, {"quantity": ["Must be greater than zero."]}),
        ({"quantity": "-10"}, {"quantity": ["Must be greater than zero."]}),
        ({"quantity": "abc"}, {"quantity": ["A valid number is required."]}),
        ({"quantity": "10.5"}, {"quantity": ["Must be a multiple of the lot size 10.000000."]}),
        ({"quantity": "15"}, {"quantity": ["Must be a multiple of the lot size 10.000000."]}),
        ({"limit_price": "98.02"}, {"limit_price": ["Must be on the tick size 0.05000000."]}),
        ({"limit_price": "0"}, {"limit_price": ["Must be greater than zero."]}),
        ({"stop_price": "98.00"}, {"stop_price": ["Not allowed for limit orders."]}),
        ({}, {"non_field_errors": ["Give a new quantity, limit_price or stop_price."]}),
        ({"side": "sell"}, {"side": ["Unknown field."]}),
    ],
)
def test_replace_with_bad_values_answers_400_naming_the_field_and_changes_nothing(
    tenant, mkt, api, django_capture_on_commit_callbacks, change, errors
):
    # given a BOND order (lot 10, tick 0.05) resting at XA
    QuoteFactory(tenant=tenant, venue=mkt.xa, instrument=mkt.bond, ask=D("99.00"), ask_size=100)
    order = enter(
        django_capture_on_commit_callbacks,
        api,
        tenant,
        instrument="BOND",
        quantity="100",
        limit_price="98.00",
    )
    assert state(order)[:2] == ("open", "New")
    before = order_snapshot(order)
    response = post(django_capture_on_commit_callbacks, api, order_url(order, "replace"), change)
    assert response.status_code == 400
    assert response.json() == invalid(**errors)
    assert order_snapshot(order) == before


def test_replace_of_a_filled_order_is_too_late(
    tenant, mkt, api, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant, limit_price="100.01")
    before = order_snapshot(order)
    response = post(
        django_capture_on_commit_callbacks, api, order_url(order, "replace"), {"quantity": "90"}
    )
    assert response.status_code == 409
    assert response.json() == too_late("replace", "filled", "Filled")
    assert order_snapshot(order) == before


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_entry_roles_create_orders(tenant, mkt, role):
    user = member(tenant, role, username=f"role.{role}")
    before = counts(tenant)
    response = client_for(user).post(ORDERS, order_body(), format="json")
    if role in ENTRY_ROLES:
        assert response.status_code == 201
        assert response.json()["reference"] == "T-000001"
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert counts(tenant) == before


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_blotter(tenant, mkt, api, role, django_capture_on_commit_callbacks):
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    reader = client_for(member(tenant, role, username=f"role.{role}"))
    assert [row["id"] for row in reader.get(ORDERS).json()["results"]] == [order.pk]
    assert reader.get(order_url(order)).json() == trade_json(order)
    assert [r["exec_type"] for r in executions(reader, order)["results"]] == ["New"]


@pytest.mark.parametrize("role", ROLES)
def test_only_entry_roles_and_operations_cancel(
    tenant, mkt, api, role, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    before = order_snapshot(order)
    user = client_for(member(tenant, role, username=f"role.{role}"))
    response = post(django_capture_on_commit_callbacks, user, order_url(order, "cancel"))
    if role in CANCEL_ROLES:
        assert response.status_code == 200
        assert state(order)[:2] == ("canceled", "Canceled")
    else:
        assert (response.status_code, response.json()) == (403, ROLE_MAY_NOT_CANCEL)
        assert order_snapshot(order) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_entry_roles_and_operations_replace(
    tenant, mkt, api, role, django_capture_on_commit_callbacks
):
    order = enter(django_capture_on_commit_callbacks, api, tenant)
    before = order_snapshot(order)
    user = client_for(member(tenant, role, username=f"role.{role}"))
    response = post(
        django_capture_on_commit_callbacks, user, order_url(order, "replace"), {"quantity": "70"}
    )
    if role in CANCEL_ROLES:
        assert response.status_code == 200
        assert state(order)[:3] == ("open", "New", D(70))
    else:
        assert (response.status_code, response.json()) == (403, ROLE_MAY_NOT_CANCEL)
        assert order_snapshot(order) == before


# --- tenant isolation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", "", None),
        ("get", "executions", None),
        ("post", "cancel", {}),
        ("post", "cancel", {"reason": "not mine"}),
        ("post", "replace", {"quantity": "10"}),
    ],
)
def test_another_tenants_order_answers_404_on_every_route_and_stays_as_it_was(
    tenant, other_tenant, mkt, api, django_capture_on_commit_callbacks, method, action, body
):
    market(other_tenant)
    theirs = client_for(member(other_tenant, "trader", username="beta.trader"))
    foreign = enter(django_capture_on_commit_callbacks, theirs, other_tenant)
    before = (trading_snapshot(other_tenant), trading_snapshot(tenant))
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            getattr(api, method)(url, body, format="json")
            for url in (order_url(foreign, action), order_url(SimpleNamespace(pk=987654), action))
        ]
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2
    assert (trading_snapshot(other_tenant), trading_snapshot(tenant)) == before


def test_an_order_of_another_kind_is_not_a_trade_order(
    tenant, mkt, django_capture_on_commit_callbacks
):
    # given a sales order of the same tenant and a tenant admin (who may cancel sales orders)
    sales = order_in_status(tenant=tenant, status="open", kind="sales")
    admin = client_for(member(tenant, "admin", username="alpha.admin"))
    before = (Order.objects.for_tenant(tenant).filter(pk=sales.pk).values().get(),)
    # when the trading routes are used on its id
    answers = [
        admin.get(f"{ORDERS}{sales.pk}/"),
        admin.get(f"{ORDERS}{sales.pk}/executions/"),
        post(django_capture_on_commit_callbacks, admin, f"{ORDERS}{sales.pk}/cancel/"),
        post(
            django_capture_on_commit_callbacks,
            admin,
            f"{ORDERS}{sales.pk}/replace/",
            {"quantity": "1"},
        ),
    ]
    # then each answers 404 and the sales order is untouched
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 4
    assert (Order.objects.for_tenant(tenant).filter(pk=sales.pk).values().get(),) == before


# --- the generic order endpoint -------------------------------------------------------------


def test_the_generic_order_endpoint_refuses_trade_orders_naming_kind(tenant, mkt, api):
    before = trading_snapshot(tenant)
    response = api.post(GENERIC_ORDERS, {"kind": "trade", "client_order_id": "g-1"}, format="json")
    assert response.status_code == 400
    assert response.json() == invalid(kind=["Enter trade orders through their own endpoint."])
    assert trading_snapshot(tenant) == before
