"""The trading blotter in the admin: tenant-scoped lists, the open / done / care filters, the
auto-refresh, executions inline, cancel and replace (buttons, views, actions)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from tenancy.middleware import SESSION_KEY
from tests.conftest import admin_client_for, client_for, member
from tests.trading.order_helpers import (
    CANCEL_ROLES,
    ORDERS,
    ROLES,
    market,
    order_body,
    order_snapshot,
    post,
    report_rows,
    state,
    trade_by_client_id,
)
from trading.models import VenueOrder
from trading.services.venue_reports import venue_report_apply
from trading.venues import base as venue_base
from trading.venues.base import ReportKind, VenueReport

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = "/admin/trading/tradeorder/"
REFRESH = '<meta http-equiv="refresh" content="5">'


def change_url(order, view="change"):
    return f"{CHANGELIST}{order.pk}/{view}/"


def enter(capture, client, tenant, **fields):
    body = order_body(**fields)
    response = post(capture, client, ORDERS, body)
    assert response.status_code == 201, response.json()
    return trade_by_client_id(tenant, body["client_order_id"])


def listed(response):
    assert response.status_code == 200
    return sorted(t.order.client_order_id for t in response.context["cl"].result_list)


def notes(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def staff(tenant, role, username=None):
    return admin_client_for(member(tenant, role, username=username or f"staff.{role}"))


@pytest.fixture
def mkt(tenant):
    return market(tenant)


@pytest.fixture
def book(tenant, other_tenant, mkt, trader, django_capture_on_commit_callbacks):
    """open-1 (resting), filled-1 (completed), care-1 (care, pending), canceled-1, and an open
    order of another tenant (open-b)."""
    capture = django_capture_on_commit_callbacks
    api = client_for(trader)
    orders = {
        "open-1": enter(capture, api, tenant, client_order_id="open-1"),
        "filled-1": enter(
            capture, api, tenant, client_order_id="filled-1", limit_price="100.01", quantity="10"
        ),
        "care-1": enter(capture, api, tenant, client_order_id="care-1", handling="care"),
        "canceled-1": enter(capture, api, tenant, client_order_id="canceled-1"),
    }
    post(capture, api, f"{ORDERS}{orders['canceled-1'].pk}/cancel/")
    market(other_tenant)
    theirs = client_for(member(other_tenant, "trader", username="beta.trader"))
    orders["open-b"] = enter(capture, theirs, other_tenant, client_order_id="open-b")
    assert {name: state(o)[0] for name, o in orders.items()} == {
        "open-1": "open",
        "filled-1": "completed",
        "care-1": "pending",
        "canceled-1": "canceled",
        "open-b": "open",
    }
    return orders


# --- lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_staff_see_only_their_tenants_trade_orders(book, tenant, role):
    response = staff(tenant, role).get(CHANGELIST)
    assert listed(response) == ["canceled-1", "care-1", "filled-1", "open-1"]


def test_a_member_of_two_tenants_sees_the_tenant_they_work_in(book, tenant, other_tenant):
    member(other_tenant, "viewer", username="two.hats")
    client = admin_client_for(member(tenant, "trader", username="two.hats"))
    for slug, expected in (
        ("beta", ["open-b"]),
        ("alpha", ["canceled-1", "care-1", "filled-1", "open-1"]),
    ):
        session = client.session
        session[SESSION_KEY] = slug
        session.save()
        assert listed(client.get(CHANGELIST)) == expected


@pytest.mark.parametrize(
    ("blotter", "expected"),
    [
        ("open", ["care-1", "open-1"]),
        ("done", ["canceled-1", "filled-1"]),
        ("care", ["care-1"]),
    ],
)
def test_blotter_filters_list_exactly_the_right_orders(book, tenant, blotter, expected):
    response = staff(tenant, "trader", "alpha.desk").get(CHANGELIST, {"blotter": blotter})
    assert listed(response) == expected


@pytest.mark.parametrize(
    ("params", "refreshes"),
    [
        ({"blotter": "open"}, True),
        ({"blotter": "care"}, True),
        ({"blotter": "done"}, False),
        ({}, False),
        ({"blotter": "open", "q": "ACME"}, False),
    ],
)
def test_the_open_blotter_refreshes_itself_and_history_does_not(book, tenant, params, refreshes):
    response = staff(tenant, "trader", "alpha.desk").get(CHANGELIST, params)
    assert response.status_code == 200
    assert response.content.decode().count(REFRESH) == (1 if refreshes else 0)


# --- the change page ------------------------------------------------------------------------


def test_the_change_page_shows_the_execution_reports_inline(
    tenant, mkt, trader, django_capture_on_commit_callbacks
):
    order = enter(
        django_capture_on_commit_callbacks,
        client_for(trader),
        tenant,
        quantity="130",
        limit_price="100.01",
    )
    response = staff(tenant, "viewer").get(change_url(order))
    assert response.status_code == 200
    html = response.content.decode()
    reports = response.context["inline_admin_formsets"][0].formset.queryset
    assert [(r.exec_id, r.get_exec_type_display(), r.last_qty) for r in reports] == [
        ("T-000001-1", "New", D(0)),
        ("T-000001-2", "Trade", D(100)),
    ]
    assert list(dict.fromkeys(re.findall(r"T-000001-\d", html))) == ["T-000001-1", "T-000001-2"]
    assert "Execution reports" in html


def _work_forms(html):
    return (
        'id="work-order"' in html,
        re.findall(r'action="(/admin/trading/tradeorder/\d+/(?:cancel|replace)/)"', html),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", ["open-1", "care-1", "filled-1", "canceled-1"])
def test_cancel_and_replace_are_offered_to_allowed_roles_on_live_orders(book, tenant, role, which):
    order = book[which]
    response = staff(tenant, role).get(change_url(order))
    assert response.status_code == 200
    offered = role in CANCEL_ROLES and which in ("open-1", "care-1")
    expected = [change_url(order, "cancel"), change_url(order, "replace")] if offered else []
    assert _work_forms(response.content.decode()) == (offered, expected)


def test_no_buttons_while_a_cancel_is_pending(
    tenant, mkt, trader, monkeypatch, django_capture_on_commit_callbacks
):
    # given a venue that acknowledges orders and never answers a cancel
    sent: list[str] = []

    class Silent:
        def __init__(self, venue):
            pass

        def send(self, child):
            sent.append(child.cl_ord_id)
            venue_report_apply(VenueReport(ReportKind.ACK, child.tenant_id, child.cl_ord_id, "V-1"))

        def cancel(self, child):
            sent.append(f"cancel {child.cl_ord_id}")

        def replace(self, child, quantity, limit_price):
            sent.append(f"replace {child.cl_ord_id}")

    monkeypatch.setitem(venue_base._factories, "simulated", Silent)
    order = enter(django_capture_on_commit_callbacks, client_for(trader), tenant)
    post(django_capture_on_commit_callbacks, client_for(trader), f"{ORDERS}{order.pk}/cancel/")
    assert sent == ["T-000001-1", "cancel T-000001-1"]
    assert state(order)[:2] == ("open", "PendingCancel")
    response = staff(tenant, "trader", "alpha.desk").get(change_url(order))
    assert _work_forms(response.content.decode()) == (False, [])


# --- the cancel and replace views -----------------------------------------------------------


def test_posting_the_cancel_view_cancels_the_order_at_the_venue(
    book, tenant, django_capture_on_commit_callbacks
):
    order = book["open-1"]
    client = staff(tenant, "operations")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(order, "cancel"), {"reason": "desk call"})
    assert (response.status_code, response["Location"]) == (302, change_url(order))
    assert notes(response) == [("info", "T-000001: cancel requested.")]
    assert state(order) == ("canceled", "Canceled", D(60), D(0), D(0), D(0))
    assert [r[0] for r in report_rows(order)] == ["New", "PendingCancel", "Canceled"]
    assert list(
        VenueOrder.objects.for_tenant(tenant)
        .filter(order_id=order.pk)
        .values_list("state", flat=True)
    ) == ["canceled"]


@pytest.mark.parametrize(
    ("role", "which", "message"),
    [
        ("viewer", "open-1", "Cancel refused: Your role may not cancel or replace this order."),
        (
            "compliance_officer",
            "open-1",
            "Cancel refused: Your role may not cancel or replace this order.",
        ),
        ("trader", "filled-1", "Cancel refused: Too late to cancel: the order is filled."),
        ("trader", "canceled-1", "Cancel refused: Too late to cancel: the order is canceled."),
    ],
)
def test_a_refused_cancel_shows_why_and_changes_nothing(
    book, tenant, django_capture_on_commit_callbacks, role, which, message
):
    order = book[which]
    before = order_snapshot(order)
    client = staff(tenant, role, f"alpha.{role}.desk")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(order, "cancel"), {"reason": "no"})
    assert response.status_code == 302
    assert notes(response) == [("error", message)]
    assert order_snapshot(order) == before


def test_a_get_on_the_cancel_view_changes_nothing(book, tenant):
    order = book["open-1"]
    before = order_snapshot(order)
    response = staff(tenant, "trader", "alpha.desk").get(change_url(order, "cancel"))
    assert (response.status_code, response["Location"]) == (302, change_url(order))
    assert order_snapshot(order) == before


def test_posting_the_replace_view_replaces_the_order(
    book, tenant, django_capture_on_commit_callbacks
):
    order = book["open-1"]
    client = staff(tenant, "portfolio_manager")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change_url(order, "replace"), {"quantity": "80", "limit_price": "99.60"}
        )
    assert (response.status_code, response["Location"]) == (302, change_url(order))
    assert notes(response) == [("info", "T-000001: replace requested.")]
    assert state(order) == ("open", "New", D(80), D(0), D(80), D(0))
    assert order_snapshot(order)["trade"]["limit_price"] == D("99.60")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quantity": "abc"}, "Replace refused: quantity: Enter a number."),
        ({"quantity": "-5"}, "Replace refused: quantity: Must be greater than zero."),
        ({"quantity": "0"}, "Replace refused: quantity: Must be greater than zero."),
        (
            {"quantity": "60.5"},
            "Replace refused: quantity: Must be a multiple of the lot size 1.000000.",
        ),
        (
            {"quantity": "1" * 21},
            "Replace refused: quantity: Ensure that there are no more than 20 digits in total.",
        ),
        (
            {"limit_price": "99.555"},
            "Replace refused: limit_price: Must be on the tick size 0.01000000.",
        ),
        ({"stop_price": "99.00"}, "Replace refused: stop_price: Not allowed for limit orders."),
        ({}, "Replace refused: Give a new quantity, limit_price or stop_price."),
    ],
)
def test_a_bad_replace_shows_an_error_and_changes_nothing(
    book, tenant, django_capture_on_commit_callbacks, data, message
):
    order = book["open-1"]
    before = order_snapshot(order)
    client = staff(tenant, "trader", "alpha.desk")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(order, "replace"), data)
    assert (response.status_code, response["Location"]) == (302, change_url(order))
    assert notes(response) == [("error", message)]
    assert order_snapshot(order) == before


# --- actions --------------------------------------------------------------------------------


def _action(client, name, orders):
    return client.post(
        CHANGELIST,
        {
            "action": name,
            "_selected_action": [o.pk for o in orders],
            "index": "0",
            "select_across": "0",
        },
    )


def test_cancel_selected_cancels_the_live_ones_and_names_the_others(
    book, tenant, django_capture_on_commit_callbacks
):
    live = [book["open-1"], book["care-1"]]
    filled_before = order_snapshot(book["filled-1"])
    client = staff(tenant, "operations")
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(client, "cancel_selected", [*live, book["filled-1"]])
    assert response.status_code == 302
    assert notes(response) == [
        ("info", "Cancel requested for 2 order(s)."),
        ("warning", "Not canceled: T-000002 (Too late to cancel: the order is filled.)"),
    ]
    assert [state(o)[:2] for o in live] == [("canceled", "Canceled")] * 2
    assert order_snapshot(book["filled-1"]) == filled_before


def test_cancel_selected_by_a_viewer_cancels_nothing(
    book, tenant, django_capture_on_commit_callbacks
):
    before = order_snapshot(book["open-1"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(staff(tenant, "viewer"), "cancel_selected", [book["open-1"]])
    assert notes(response) == [
        (
            "warning",
            "Not canceled: T-000001 (Your role may not cancel or replace this order.)",
        )
    ]
    assert order_snapshot(book["open-1"]) == before


def test_release_care_routes_the_care_orders_only(book, tenant, django_capture_on_commit_callbacks):
    care = book["care-1"]
    open_before = order_snapshot(book["open-1"])
    client = staff(tenant, "trader", "alpha.desk")
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(client, "release_care", [care, book["open-1"]])
    assert notes(response) == [("info", "Released 1 care order(s) to routing.")]
    fresh = trade_by_client_id(tenant, "care-1")
    assert fresh.handling == "auto"
    # routed: it now rests at XA (buy 60 at 99.50)
    assert state(care) == ("open", "New", D(60), D(0), D(60), D(0))
    assert order_snapshot(book["open-1"]) == open_before
    assert list(fresh.order.events.order_by("pk").values_list("kind", "actor_name", "reason"))[
        -3
    ] == (
        "note",
        "alpha.desk",
        "Released from the care queue to smart routing.",
    )


def test_release_care_by_a_viewer_changes_nothing(book, tenant, django_capture_on_commit_callbacks):
    before = order_snapshot(book["care-1"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(staff(tenant, "viewer"), "release_care", [book["care-1"]])
    assert notes(response) == [
        ("warning", "T-000003: Your role may not cancel or replace this order.")
    ]
    assert order_snapshot(book["care-1"]) == before


# --- another tenant's order -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "view", "data"),
    [
        ("get", "change", None),
        ("post", "change", {}),
        ("post", "cancel", {"reason": "x"}),
        ("get", "cancel", None),
        ("post", "replace", {"quantity": "10"}),
    ],
)
def test_another_tenants_order_answers_404_and_stays_as_it_was(
    book, tenant, django_capture_on_commit_callbacks, method, view, data
):
    foreign = book["open-b"]
    before = order_snapshot(foreign)
    client = staff(tenant, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(change_url(foreign, view), data)
    assert response.status_code == 404
    assert order_snapshot(foreign) == before


def test_an_action_on_another_tenants_order_touches_nothing(
    book, tenant, django_capture_on_commit_callbacks
):
    foreign = book["open-b"]
    before = order_snapshot(foreign)
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(staff(tenant, "admin"), "cancel_selected", [foreign])
    assert response.status_code == 302
    assert notes(response) == []  # the selection, scoped to the tenant, is empty
    assert order_snapshot(foreign) == before
