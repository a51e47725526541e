"""GET/POST /api/v1/orders/: creation (idempotent), retrieval, filters, cursor pagination,
the journal endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderEvent
from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import ROLES, counts, event_rows, iso, order_json, reload

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"
DIFFERS = ["Differs from the original submission with this client_order_id."]


def _post(client, **body):
    return client.post(URL, body, format="json")


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2020, 1, day, hour, tzinfo=UTC)


def _set_created(order: Order, when: datetime) -> None:
    Order.objects.for_tenant(order.tenant_id).filter(pk=order.pk).update(created_at=when)


def _refs(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["reference"] for row in response.json()["results"]]


# --- creation ------------------------------------------------------------------------------


def test_create_answers_201_with_the_order(tenant, trader):
    # given a trader
    api = client_for(trader)
    # when they post a trade order
    response = _post(
        api, kind="trade", client_order_id="c-1", note="n", expires_at="2031-01-01T00:00:00Z"
    )
    # then it is created, submitted and open, and the body is the stored order
    assert response.status_code == 201
    order = Order.objects.for_tenant(tenant).get()
    assert response.json() == order_json(order, allowed=["cancel"])
    assert response.json()["reference"] == "T-000001"
    assert response.json()["status"] == "open"
    assert response.json()["expires_at"] == "2031-01-01T00:00:00Z"
    assert response.json()["created_by"] == "alpha.trader"
    assert [row[0] for row in event_rows(order)] == ["created", "submitted", "screened", "accepted"]


def test_create_with_submit_false_leaves_a_draft(tenant, trader):
    response = _post(client_for(trader), kind="trade", client_order_id="d-1", submit=False)
    assert response.status_code == 201
    order = Order.objects.for_tenant(tenant).get()
    assert response.json() == order_json(order, allowed=["submit", "cancel"])
    assert event_rows(order) == [("created", "", "draft", "alpha.trader", "")]


def test_same_submission_twice_answers_200_with_the_same_order(tenant, trader):
    # given an order created through the API
    api = client_for(trader)
    first = _post(api, kind="trade", client_order_id="c-1", note="n")
    before = counts(tenant)
    # when the same body is posted again
    again = _post(api, kind="trade", client_order_id="c-1", note="n")
    # then the answer is 200 with exactly the same order and nothing new is written
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert counts(tenant) == before


def test_same_instant_in_another_offset_is_the_same_submission(tenant, trader):
    # given an order expiring at midnight UTC
    api = client_for(trader)
    first = _post(api, kind="trade", client_order_id="c-1", expires_at="2031-01-01T00:00:00Z")
    before = counts(tenant)
    # when it is replayed with the same instant written in +01:00
    again = _post(api, kind="trade", client_order_id="c-1", expires_at="2031-01-01T01:00:00+01:00")
    # then it is the same submission
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert counts(tenant) == before


def test_replay_after_the_expiry_has_passed_still_answers_the_stored_order(tenant, trader):
    # given an order submitted with an expiry that has since passed
    api = client_for(trader)
    first = _post(api, kind="trade", client_order_id="c-1", expires_at="2031-01-01T00:00:00Z")
    Order.objects.for_tenant(tenant).filter(pk=first.json()["id"]).update(
        expires_at=datetime(2001, 1, 1, tzinfo=UTC)
    )
    stored = Order.objects.for_tenant(tenant).get()
    stored.submission = {**stored.submission, "expires_at": "2001-01-01T00:00:00Z"}
    Order.objects.for_tenant(tenant).filter(pk=stored.pk).update(submission=stored.submission)
    before = counts(tenant)
    # when the client retries the same submission
    again = _post(api, kind="trade", client_order_id="c-1", expires_at="2001-01-01T00:00:00Z")
    # then it is answered with the stored order, not refused as a new one would be
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert counts(tenant) == before


def test_same_client_id_with_another_payload_answers_409_naming_the_fields(tenant, trader):
    # given an order
    api = client_for(trader)
    first = _post(api, kind="trade", client_order_id="c-1", note="n")
    order = Order.objects.for_tenant(tenant).get()
    before = (counts(tenant), order_json(order, allowed=["cancel"]))
    # when the same client id comes back with another note, an expiry, and submit=false
    response = _post(
        api,
        kind="trade",
        client_order_id="c-1",
        note="m",
        expires_at="2031-01-01T00:00:00Z",
        submit=False,
    )
    # then 409 names exactly those fields, points at the original, and nothing changed
    assert response.status_code == 409
    assert response.json() == {
        "code": "idempotency_conflict",
        "detail": "This idempotency key was already used with a different payload.",
        "errors": {"expires_at": DIFFERS, "note": DIFFERS, "submit": DIFFERS},
        "order_id": first.json()["id"],
        "reference": "T-000001",
    }
    assert (counts(tenant), order_json(order, allowed=["cancel"])) == before


def test_same_client_id_for_the_other_kind_is_a_new_order(tenant):
    # given an admin (who may enter both kinds) and a trade order "c-1"
    api = client_for(member(tenant, "admin", username="alpha.admin"))
    trade = _post(api, kind="trade", client_order_id="c-1")
    # when "c-1" is posted as a sales order
    sales = _post(api, kind="sales", client_order_id="c-1")
    # then it is a second order with its own reference
    assert (trade.status_code, sales.status_code) == (201, 201)
    assert (trade.json()["reference"], sales.json()["reference"]) == ("T-000001", "S-000001")
    assert counts(tenant)[0] == 2


GATE_DENIED = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}
ENTRY = {
    "trade": {"admin", "trader", "portfolio_manager"},
    "sales": {"admin", "seller", "operations"},
}


@pytest.mark.parametrize("kind", ["trade", "sales"])
@pytest.mark.parametrize("role", ROLES)
def test_create_per_role_and_kind(tenant, role, kind):
    # given a member with this role
    api = client_for(member(tenant, role, username=f"u-{role}"))
    # when they post an order of this kind
    response = _post(api, kind=kind, client_order_id="c-1")
    # then entry roles get 201; everyone else 403 with nothing persisted
    if role in ENTRY[kind]:
        assert response.status_code == 201
        assert counts(tenant)[0] == 1
    elif role in {"compliance_officer", "viewer"}:
        assert (response.status_code, response.json()) == (403, GATE_DENIED)
        assert counts(tenant) == (0, 0, [])
    else:
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "detail": f"Your role may not enter {kind} orders.",
        }
        assert counts(tenant) == (0, 0, [])


def test_unauthenticated_requests_are_refused(tenant, api):
    order = order_in_status(tenant=tenant, status="open")
    before = counts(tenant)
    assert api.get(URL).status_code == 401
    assert _post(api, kind="trade", client_order_id="x").status_code == 401
    assert api.post(f"{URL}{order.pk}/cancel/", {}, format="json").status_code == 401
    assert counts(tenant) == before


def test_orders_are_not_updated_or_deleted_by_rest_verbs(tenant, trader):
    # given an order
    order = order_in_status(tenant=tenant, status="open")
    api = client_for(trader)
    before = (counts(tenant), order_json(order, allowed=["cancel"]))
    # when PUT, PATCH and DELETE are tried on it
    responses = [
        api.put(f"{URL}{order.pk}/", {"note": "x"}, format="json"),
        api.patch(f"{URL}{order.pk}/", {"status": "completed"}, format="json"),
        api.delete(f"{URL}{order.pk}/"),
    ]
    # then each is refused as a method the resource does not have, and nothing changed
    assert [(r.status_code, r.json()) for r in responses] == [
        (405, {"code": "method_not_allowed", "detail": f'Method "{m}" not allowed.'})
        for m in ("PUT", "PATCH", "DELETE")
    ]
    assert (counts(tenant), order_json(order, allowed=["cancel"])) == before


# --- retrieval -----------------------------------------------------------------------------


def test_retrieve_answers_the_order_with_the_callers_transitions(tenant):
    # given a held order, an officer and a trader
    order = order_in_status(tenant=tenant, status="held")
    officer = member(tenant, "compliance_officer", username="alpha.co")
    trader = member(tenant, "trader", username="alpha.t")
    # when each reads it
    as_officer = client_for(officer).get(f"{URL}{order.pk}/")
    as_trader = client_for(trader).get(f"{URL}{order.pk}/")
    # then the body is the order, with the transitions each may request
    assert as_officer.status_code == as_trader.status_code == 200
    assert as_officer.json() == order_json(order, allowed=["approve", "reject"])
    assert as_trader.json() == order_json(order, allowed=["cancel"])


def test_another_tenants_order_answers_404_like_a_missing_one(tenant, other_tenant, trader):
    # given an order of beta
    foreign = order_in_status(tenant=other_tenant, status="open")
    api = client_for(trader)
    # when alpha's trader reads it, its journal, and a missing id
    responses = [
        api.get(f"{URL}{foreign.pk}/"),
        api.get(f"{URL}{foreign.pk + 1000}/"),
    ]
    # then both answer the same 404
    assert [(r.status_code, r.json()) for r in responses] == [
        (404, {"code": "not_found", "detail": "Not found."}),
        (404, {"code": "not_found", "detail": "Not found."}),
    ]
    events = api.get(f"{URL}{foreign.pk}/events/")
    assert (events.status_code, events.json()) == (
        404,
        {"code": "not_found", "detail": "Order not found."},
    )


# --- the journal endpoint ------------------------------------------------------------------


def test_events_endpoint_lists_the_journal_oldest_first(tenant, trader):
    # given an order created by the trader and canceled
    api = client_for(trader)
    created = _post(api, kind="trade", client_order_id="c-1")
    order_id = created.json()["id"]
    api.post(f"{URL}{order_id}/cancel/", {"reason": "changed my mind"}, format="json")
    # when the journal is read
    response = api.get(f"{URL}{order_id}/events/")
    # then every event is there, exactly
    assert response.status_code == 200
    events = list(OrderEvent.objects.for_tenant(tenant).filter(order_id=order_id).order_by("id"))
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": e.pk,
                "kind": kind,
                "from_status": from_status,
                "to_status": to_status,
                "actor": actor,
                "reason": reason,
                "data": data,
                "created_at": iso(e.created_at),
            }
            for e, (kind, from_status, to_status, actor, reason, data) in zip(
                events,
                [
                    (
                        "created",
                        "",
                        "draft",
                        "alpha.trader",
                        "",
                        {"reference": "T-000001", "client_order_id": "c-1"},
                    ),
                    ("submitted", "draft", "pending", "alpha.trader", "", {}),
                    (
                        "screened",
                        "pending",
                        "pending",
                        "system",
                        "",
                        {"outcome": "accept", "screens": [], "findings": []},
                    ),
                    ("accepted", "pending", "open", "system", "", {"screening": "accept"}),
                    ("canceled", "open", "canceled", "alpha.trader", "changed my mind", {}),
                ],
                strict=True,
            )
        ],
    }


def test_events_endpoint_pages_with_a_cursor(tenant, trader):
    # given an order with six events
    order = order_in_status(tenant=tenant, status="partial")
    order_id = order.pk
    api = client_for(trader)
    api.post(f"{URL}{order_id}/cancel/", {}, format="json")
    # when the journal is read two at a time
    seen: list[str] = []
    url = f"{URL}{order_id}/events/?page_size=2"
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen.extend(row["kind"] for row in body["results"])
        url = body["next"]
    # then every event comes once, oldest first
    assert seen == ["created", "submitted", "accepted", "partially_filled", "canceled"]


# --- list, filters, pagination -------------------------------------------------------------


@pytest.fixture
def five_orders(tenant, other_tenant):
    """T-000001 open, T-000002 held, S-000001 open, S-000002 canceled, T-000003 draft,
    created on Jan 1..5 2020 at 10:00 UTC; plus beta's T-000001 (open)."""
    specs = [
        ("trade", "open", "a"),
        ("trade", "held", "b"),
        ("sales", "open", "c"),
        ("sales", "canceled", "d"),
        ("trade", "draft", "e"),
    ]
    orders = []
    for day, (kind, status, cid) in enumerate(specs, start=1):
        order = order_in_status(tenant=tenant, status=status, kind=kind, client_order_id=cid)
        _set_created(order, _at(day))
        orders.append(order)
    foreign = order_in_status(tenant=other_tenant, status="open", client_order_id="a")
    _set_created(foreign, _at(3))
    return orders


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["T-000003", "S-000002", "S-000001", "T-000002", "T-000001"]),
        ({"kind": "trade"}, ["T-000003", "T-000002", "T-000001"]),
        ({"kind": "sales"}, ["S-000002", "S-000001"]),
        ({"status": "open"}, ["S-000001", "T-000001"]),
        ({"status": ["open", "held"]}, ["S-000001", "T-000002", "T-000001"]),
        ({"status": ["canceled"], "kind": "sales"}, ["S-000002"]),
        ({"status": "completed"}, []),
        (
            {"created_after": "2020-01-02T10:00:00Z"},
            ["T-000003", "S-000002", "S-000001", "T-000002"],
        ),
        (
            {"created_after": "2020-01-02T11:00:00+01:00"},
            ["T-000003", "S-000002", "S-000001", "T-000002"],
        ),
        ({"created_before": "2020-01-02T10:00:00Z"}, ["T-000001"]),
        (
            {"created_after": "2020-01-02T00:00:00Z", "created_before": "2020-01-04T10:00:00Z"},
            ["S-000001", "T-000002"],
        ),
        ({"reference": "T-000001"}, ["T-000001"]),
        ({"reference": "T-000009"}, []),
        ({"client_order_id": "c"}, ["S-000001"]),
        ({"client_order_id": "a", "kind": "trade"}, ["T-000001"]),
        ({"kind": "trade", "status": "draft", "client_order_id": "e"}, ["T-000003"]),
    ],
    ids=lambda value: str(value),
)
def test_list_filters(tenant, trader, five_orders, params, expected):
    # given five orders of alpha and one of beta
    # when alpha's trader lists with filters
    response = client_for(trader).get(URL, params)
    # then exactly the matching alpha orders come back, newest first
    assert _refs(response) == expected


def test_list_only_shows_the_callers_tenant(tenant, other_tenant, five_orders):
    # given beta's only order, and a beta viewer
    viewer = member(other_tenant, "viewer", username="beta.viewer")
    # when the viewer lists orders
    response = client_for(viewer).get(URL)
    # then they see beta's order only
    assert _refs(response) == ["T-000001"]
    assert response.json()["results"][0]["client_order_id"] == "a"
    assert response.json()["results"][0]["allowed_transitions"] == []


def _walk(api, url):
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.json()
        pages.append([row["id"] for row in response.json()["results"]])
        url = response.json()["next"]
    return pages


def test_cursor_pages_are_newest_first_with_ties_broken_by_id(tenant, trader):
    # given five orders, three sharing one creation time across a page boundary
    orders = [order_in_status(tenant=tenant, status="open") for _ in range(5)]
    for order, day in zip(orders, [3, 2, 2, 2, 1], strict=True):
        _set_created(order, _at(day))
    o1, o2, o3, o4, o5 = (o.pk for o in orders)
    # when they are listed two per page
    pages = _walk(client_for(trader), f"{URL}?page_size=2")
    # then newest first, ties by id descending, every order exactly once
    assert pages == [[o1, o4], [o3, o2], [o5]]


def test_cursor_pages_are_stable_when_new_orders_arrive(tenant, trader):
    # given four orders and the first page of two
    orders = [order_in_status(tenant=tenant, status="open") for _ in range(4)]
    for order, day in zip(orders, [1, 2, 3, 4], strict=True):
        _set_created(order, _at(day))
    api = client_for(trader)
    first = api.get(f"{URL}?page_size=2").json()
    # when a newer order arrives before the next page is read
    newcomer = order_in_status(tenant=tenant, status="open")
    rest = _walk(api, first["next"])
    # then the walk continues where it was, without repeats, and the newcomer leads a new walk
    assert [row["id"] for row in first["results"]] == [orders[3].pk, orders[2].pk]
    assert rest == [[orders[1].pk, orders[0].pk]]
    assert _walk(api, f"{URL}?page_size=2")[0] == [newcomer.pk, orders[3].pk]


def test_previous_link_goes_back_to_the_same_page(tenant, trader):
    orders = [order_in_status(tenant=tenant, status="open") for _ in range(3)]
    for order, day in zip(orders, [1, 2, 3], strict=True):
        _set_created(order, _at(day))
    api = client_for(trader)
    first = api.get(f"{URL}?page_size=2").json()
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()
    assert [row["id"] for row in second["results"]] == [orders[0].pk]
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    assert second["next"] is None


def test_default_page_is_fifty(tenant, trader):
    for _ in range(51):
        order_in_status(tenant=tenant, status="draft")
    body = client_for(trader).get(URL).json()
    assert (len(body["results"]), body["next"] is not None) == (50, True)


def test_list_query_count_does_not_grow_with_the_page(tenant, trader):
    # given a trader's client warmed up
    api = client_for(trader)
    for _ in range(2):
        order_in_status(tenant=tenant, status="open")
    api.get(URL)
    # when the list is read with 2 and then 10 orders
    with CaptureQueriesContext(connection) as small:
        assert len(api.get(URL).json()["results"]) == 2
    for _ in range(8):
        order_in_status(tenant=tenant, status="held")
    with CaptureQueriesContext(connection) as large:
        assert len(api.get(URL).json()["results"]) == 10
    # then the number of queries is the same (no query per order)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_created_order_reads_back_identically(tenant, trader):
    # given an order created through the API
    api = client_for(trader)
    created = _post(api, kind="trade", client_order_id="c-1")
    # when it is read back
    read = api.get(f"{URL}{created.json()['id']}/")
    # then the creation answer was already the stored state (timestamps included)
    assert read.json() == created.json()
    assert reload(Order.objects.for_tenant(tenant).get()).status == "open"
