"""POST /api/v1/trading/orders/batch/: each order validated, screened and entered on its own;
per-order results in request order; valid ones stored (and routed), refused ones not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderEvent, OrderSequence
from orders.screening import Decision, Finding, Severity, screen_register
from tests.conftest import client_for, member
from tests.trading.order_helpers import (
    BATCH,
    ENTRY_ROLES,
    FORBIDDEN,
    ORDERS,
    ROLES,
    counts,
    market,
    order_body,
    order_snapshot,
    post,
    state,
    trade_by_client_id,
    trade_json,
    trading_snapshot,
)

pytestmark = pytest.mark.django_db

D = Decimal
DIFFERS = ["Differs from the original submission with this client_order_id."]


@pytest.fixture
def mkt(tenant):
    return market(tenant)


def test_a_mixed_batch_answers_per_order_results_in_request_order(
    tenant, mkt, trader, django_capture_on_commit_callbacks
):
    # given an order entered earlier (T-000001)
    api = client_for(trader)
    assert api.post(ORDERS, order_body(client_order_id="old"), format="json").status_code == 201
    old = trade_by_client_id(tenant, "old")
    old_before = order_snapshot(old)
    # when a batch mixes new, invalid, replayed and conflicting orders
    batch = [
        order_body(client_order_id="new-1"),
        order_body(client_order_id="bad-type", quantity="abc"),
        order_body(client_order_id="old"),
        order_body(client_order_id="bad-tick", limit_price="99.555"),
        order_body(client_order_id="new-1"),
        order_body(client_order_id="old", quantity="70"),
        order_body(client_order_id="bad-account", account="NOPE", side="sideways"),
        order_body(client_order_id="new-2", side="sell", quantity="10", limit_price="99.99"),
    ]
    response = post(django_capture_on_commit_callbacks, api, BATCH, batch)
    # then each order has its own result, in request order
    new_1 = trade_by_client_id(tenant, "new-1")
    new_2 = trade_by_client_id(tenant, "new-2")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "index": 0,
                "status": 201,
                "id": new_1.pk,
                "reference": "T-000002",
                "order_status": "pending",
            },
            {
                "index": 1,
                "status": 400,
                "code": "invalid",
                "detail": "Invalid input.",
                "errors": {"quantity": ["A valid number is required."]},
            },
            {
                "index": 2,
                "status": 200,
                "id": old.pk,
                "reference": "T-000001",
                "order_status": "pending",
            },
            {
                "index": 3,
                "status": 400,
                "code": "invalid",
                "detail": "Invalid input.",
                "errors": {"limit_price": ["Must be on the tick size 0.01000000."]},
            },
            {
                "index": 4,
                "status": 200,
                "id": new_1.pk,
                "reference": "T-000002",
                "order_status": "pending",
            },
            {
                "index": 5,
                "status": 409,
                "code": "idempotency_conflict",
                "detail": "This idempotency key was already used with a different payload.",
                "errors": {"quantity": DIFFERS},
                "order_id": old.pk,
                "reference": "T-000001",
            },
            {
                "index": 6,
                "status": 400,
                "code": "invalid",
                "detail": "Invalid input.",
                "errors": {
                    "account": ["No code NOPE."],
                    "side": ['"sideways" is not a valid choice.'],
                },
            },
            {
                "index": 7,
                "status": 201,
                "id": new_2.pk,
                "reference": "T-000003",
                "order_status": "pending",
            },
        ]
    }
    # the valid ones are stored (references gapless) and routed; the refused ones are not
    assert sorted(Order.objects.for_tenant(tenant).values_list("client_order_id", "reference")) == [
        ("new-1", "T-000002"),
        ("new-2", "T-000003"),
        ("old", "T-000001"),
    ]
    assert list(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")) == [
        ("trade", 3)
    ]
    assert state(new_1) == ("open", "New", D(60), D(0), D(60), D(0))
    assert state(new_2) == ("completed", "Filled", D(10), D(10), D(0), D("99.99"))
    assert new_1.order.submission == {
        "client_order_id": "new-1",
        "account": "ACC-1",
        "instrument": "ACME",
        "side": "buy",
        "quantity": "60.000000",
        "order_type": "limit",
        "time_in_force": "day",
        "limit_price": "99.50000000",
        "stop_price": None,
        "trail_amount": None,
        "trail_percent": None,
        "expire_at": None,
        "venue": None,
        "handling": "auto",
        "note": "",
    }
    # the earlier order was only read (it was never routed: its entry ran no after-commit work)
    assert order_snapshot(old) == old_before


def test_a_batch_entry_is_the_same_order_as_a_single_entry(
    tenant, mkt, trader, django_capture_on_commit_callbacks
):
    api = client_for(trader)
    response = post(django_capture_on_commit_callbacks, api, BATCH, [order_body()])
    assert response.status_code == 200
    order = trade_by_client_id(tenant, "cl-1")
    # a replay through the single endpoint answers 200 with that order
    single = api.post(ORDERS, order_body(), format="json")
    assert (single.status_code, single.json()) == (200, trade_json(order))


def test_a_batch_of_only_refused_orders_stores_nothing(tenant, mkt, trader):
    before = trading_snapshot(tenant)
    batch = [order_body(client_order_id=f"z-{n}", quantity="0") for n in range(3)]
    response = client_for(trader).post(BATCH, batch, format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [400, 400, 400]
    assert trading_snapshot(tenant) == before


def test_a_batch_of_1000_orders_is_accepted(tenant, mkt, trader):
    batch = [order_body(client_order_id=f"k-{n:04d}") for n in range(1000)]
    response = client_for(trader).post(BATCH, batch, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [(n, 201) for n in range(1000)]
    assert [r["reference"] for r in results[:2] + results[-1:]] == [
        "T-000001",
        "T-000002",
        "T-001000",
    ]
    assert counts(tenant)["TradeOrder"] == 1000


@pytest.mark.parametrize("role", ROLES)
def test_only_entry_roles_send_batches(tenant, mkt, role):
    user = client_for(member(tenant, role, username=f"role.{role}"))
    before = trading_snapshot(tenant)
    response = user.post(BATCH, [order_body()], format="json")
    if role in ENTRY_ROLES:
        assert response.status_code == 200
        assert response.json()["results"][0]["status"] == 201
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert trading_snapshot(tenant) == before


def test_a_batch_sees_only_the_callers_tenant(tenant, other_tenant, mkt, trader):
    market(other_tenant)
    other = client_for(member(other_tenant, "trader", username="beta.trader"))
    assert (
        other.post(ORDERS, order_body(client_order_id="shared"), format="json").status_code == 201
    )
    theirs = trading_snapshot(other_tenant)
    response = client_for(trader).post(BATCH, [order_body(client_order_id="shared")], format="json")
    # the same client order id in another tenant is a new order here, not a replay
    assert response.json()["results"][0]["status"] == 201
    assert response.json()["results"][0]["reference"] == "T-000001"
    assert trading_snapshot(other_tenant) == theirs


def _journal(order_id: int) -> list[tuple[str, str, str]]:
    return list(
        OrderEvent.objects.all_tenants(reason="test")
        .filter(order_id=order_id)
        .order_by("id")
        .values_list("kind", "from_status", "to_status")
    )


def test_a_batch_journals_each_order_like_a_single_entry(tenant, mkt, trader):
    api = client_for(trader)
    api.post(ORDERS, order_body(client_order_id="single"), format="json")
    api.post(BATCH, [order_body(client_order_id="batched")], format="json")
    single = trade_by_client_id(tenant, "single")
    batched = trade_by_client_id(tenant, "batched")
    assert (
        _journal(batched.pk)
        == _journal(single.pk)
        == [
            ("created", "", "draft"),
            ("submitted", "draft", "pending"),
            ("screened", "pending", "pending"),
        ]
    )


def test_a_batch_enqueues_one_routing_task_for_all_its_orders(
    tenant, mkt, trader, django_capture_on_commit_callbacks, monkeypatch
):

    sent = []

    def record(task, kwargs, **options):
        sent.append((task.name, kwargs))

    monkeypatch.setattr("oms_site.celery.publish", record)
    batch = [order_body(client_order_id=f"r-{n}") for n in range(3)]
    batch.append(order_body(client_order_id="r-bad", quantity="0"))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(trader).post(BATCH, batch, format="json")
    ids = [trade_by_client_id(tenant, f"r-{n}").pk for n in range(3)]
    assert sent == [("trading.tasks.route_orders", {"tenant_id": tenant.pk, "order_ids": ids})]


def test_screens_hold_and_reject_orders_inside_a_batch(
    tenant, mkt, trader, django_capture_on_commit_callbacks
):
    # given a screen that holds orders of 70 and rejects orders of 80
    def screen(order):
        quantity = order.trade.quantity
        if quantity == 70:
            return Decision((Finding("size", Severity.SOFT, "Needs a look."),))
        if quantity == 80:
            return Decision((Finding("size", Severity.HARD, "Too big."),))
        return Decision()

    screen_register("size", screen)
    batch = [
        order_body(client_order_id="ok"),
        order_body(client_order_id="hold", quantity="70"),
        order_body(client_order_id="reject", quantity="80"),
    ]
    response = post(django_capture_on_commit_callbacks, client_for(trader), BATCH, batch)
    assert [(r["status"], r["order_status"]) for r in response.json()["results"]] == [
        (201, "pending"),
        (201, "held"),
        (201, "rejected"),
    ]
    rows = {
        o.client_order_id: (o.status, o.status_reason)
        for o in Order.objects.for_tenant(tenant).order_by("id")
    }
    assert rows == {
        "ok": ("open", "Acknowledged by the venue."),
        "hold": ("held", "size: Needs a look."),
        "reject": ("rejected", "size: Too big."),
    }
    assert _journal(trade_by_client_id(tenant, "hold").pk)[-1] == ("held", "pending", "held")
