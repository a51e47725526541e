"""Races on PostgreSQL with real threads, each on its own connection: idempotent submission,
gapless references, and transitions racing on one order."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from oms_site.errors import StaleState, TransitionNotAllowed
from orders.models import Order, OrderEvent, OrderSequence
from orders.services import order_create, order_transition
from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import EVENT_OF, event_kinds, event_rows, reload, run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()


def _order(**kwargs) -> Order:
    # The factory locks rows (select_for_update): it needs a transaction here, where the test
    # itself runs in autocommit.
    with transaction.atomic():
        return order_in_status(**kwargs)


def _fresh_user(pk: int):
    return User.objects.get(pk=pk)  # one user object per thread (roles are cached on it)


def test_twenty_concurrent_submissions_of_one_client_id_make_one_order(tenant, trader):
    # given twenty clients posting the same order at once
    payload = {"kind": "trade", "client_order_id": "dup-1", "note": "same"}

    def post(_: int):
        response = client_for(_fresh_user(trader.pk)).post(
            "/api/v1/orders/", payload, format="json"
        )
        return response.status_code, response.json()["id"], response.json()["reference"]

    # when they race
    results = run_in_threads(20, post)
    # then exactly one created it (201) and nineteen got the same order back (200)
    assert sorted(code for code, _, _ in results) == [200] * 19 + [201]
    assert {(order_id, ref) for _, order_id, ref in results} == {
        (Order.objects.for_tenant(tenant).get().pk, "T-000001")
    }
    order = Order.objects.for_tenant(tenant).get()
    assert event_kinds(order) == ["created", "submitted", "screened", "accepted"]
    assert OrderEvent.objects.for_tenant(tenant).filter(kind="created").count() == 1
    assert list(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")) == [
        ("trade", 1)
    ]


def test_concurrent_duplicates_with_another_payload_all_conflict(tenant, trader):
    # given an existing order "dup-1"
    client_for(trader).post(
        "/api/v1/orders/", {"kind": "trade", "client_order_id": "dup-1"}, format="json"
    )

    # when ten clients race to reuse it with another note
    def post(_: int):
        response = client_for(_fresh_user(trader.pk)).post(
            "/api/v1/orders/",
            {"kind": "trade", "client_order_id": "dup-1", "note": "other"},
            format="json",
        )
        return response.status_code, response.json()["errors"]

    results = run_in_threads(10, post)
    # then every one is a 409 naming the note, and there is still one order
    assert (
        results
        == [(409, {"note": ["Differs from the original submission with this client_order_id."]})]
        * 10
    )
    assert Order.objects.for_tenant(tenant).count() == 1
    assert OrderEvent.objects.for_tenant(tenant).count() == 4


def test_concurrent_creations_get_gapless_distinct_references(tenant, other_tenant):
    # given twenty creators on a tenant that never numbered an order: trade, sales and
    # another tenant's trade, interleaved
    plan = [(tenant, "trade"), (tenant, "sales"), (other_tenant, "trade"), (tenant, "trade")] * 5

    def create(index: int):
        owner, kind = plan[index]
        return order_create(
            tenant=owner,
            actor=None,
            kind=kind,
            client_order_id=f"c-{index}",
            payload={"i": index},
        ).order.reference

    # when they race
    results = run_in_threads(len(plan), create)
    # then each (tenant, kind) numbered its orders 1..n without gaps or duplicates
    assert [r for r in results if isinstance(r, Exception)] == []
    alpha_trade = sorted(
        r for r, (t, k) in zip(results, plan, strict=True) if t == tenant and k == "trade"
    )
    alpha_sales = sorted(
        r for r, (t, k) in zip(results, plan, strict=True) if t == tenant and k == "sales"
    )
    beta_trade = sorted(r for r, (t, _) in zip(results, plan, strict=True) if t == other_tenant)
    assert alpha_trade == [f"T-{n:06d}" for n in range(1, 11)]
    assert alpha_sales == [f"S-{n:06d}" for n in range(1, 6)]
    assert beta_trade == [f"T-{n:06d}" for n in range(1, 6)]
    assert sorted(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")) == [
        ("sales", 5),
        ("trade", 10),
    ]


def test_two_cancels_racing_through_the_api_apply_once(tenant, trader):
    # given an open order and two clients of the same trader
    order = _order(tenant=tenant, status="open")

    def cancel(_: int):
        response = client_for(_fresh_user(trader.pk)).post(
            f"/api/v1/orders/{order.pk}/cancel/", {"reason": "race"}, format="json"
        )
        return response.status_code, response.json()

    # when both cancel at once
    results = sorted(run_in_threads(2, cancel), key=lambda r: r[0])
    # then one applied and the other is a 409, with one canceled event
    (ok_code, ok_body), (lost_code, lost_body) = results
    assert (ok_code, ok_body["status"]) == (200, "canceled")
    assert lost_code == 409
    assert lost_body in (
        {
            "code": "transition_not_allowed",
            "detail": "Cannot cancel an order that is canceled.",
            "status": "canceled",
        },
        {
            "code": "stale_state",
            "detail": "The object changed while the request was processed; retry.",
            "order_id": order.pk,
        },
    )
    assert event_kinds(order).count("canceled") == 1
    assert reload(order).status == "canceled"


def test_twenty_cancels_racing_apply_once(tenant, trader):
    order = _order(tenant=tenant, status="open")

    def cancel(_: int):
        return (
            client_for(_fresh_user(trader.pk))
            .post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
            .status_code
        )

    assert sorted(run_in_threads(20, cancel)) == [200] + [409] * 19
    assert event_kinds(order) == ["created", "submitted", "accepted", "canceled"]


TARGETS = {"cancel": "canceled", "approve": "open", "reject": "rejected"}


@pytest.mark.parametrize(
    ("first", "second"),
    [("cancel", "reject"), ("approve", "reject"), ("cancel", "cancel")],
)
def test_conflicting_transitions_racing_on_a_held_order_apply_exactly_one(tenant, first, second):
    # given a held order and two people allowed to run each transition (an admin may run all;
    # approve-then-cancel is a legal sequence, so those two are not a conflicting pair)
    order = _order(tenant=tenant, status="held")
    users = [member(tenant, "admin", username=f"alpha.admin{i}") for i in range(2)]
    steps = [(first, users[0].pk), (second, users[1].pk)]

    def run(index: int):
        name, user_pk = steps[index]
        order_transition(
            tenant=tenant, order_id=order.pk, transition=name, actor=_fresh_user(user_pk)
        )
        return name

    # when both are requested at once
    results = run_in_threads(2, run)
    # then exactly one applied; the other was refused for the new state (409)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert (len(winners), len(losers)) == (1, 1), results
    winner, error = winners[0], losers[0]
    loser_name = steps[1 - results.index(winner)][0]
    assert isinstance(error, (TransitionNotAllowed, StaleState))
    assert error.status_code == 409
    if isinstance(error, TransitionNotAllowed):
        assert error.message == f"Cannot {loser_name} an order that is {TARGETS[winner]}."
    assert reload(order).status == TARGETS[winner]
    assert event_kinds(order) == ["created", "submitted", "held", EVENT_OF[winner]]


def _wait_for_a_lock_waiter(timeout: float = 10.0) -> bool:
    """Poll (bounded) until another backend of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= 1:
                return True
        time.sleep(0.02)
    return False


def test_a_transition_waits_for_the_row_lock_then_sees_the_new_state(tenant):
    # given a held order; thread A cancels it and keeps its transaction (and row lock) open
    order = _order(tenant=tenant, status="held")
    ops = member(tenant, "operations", username="alpha.ops")
    officer = member(tenant, "compliance_officer", username="alpha.co")
    locked, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def holder() -> None:
        try:
            with transaction.atomic():
                order_transition(
                    tenant=tenant, order_id=order.pk, transition="cancel", actor=_fresh_user(ops.pk)
                )
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    def approver() -> None:
        try:
            order_transition(
                tenant=tenant,
                order_id=order.pk,
                transition="approve",
                actor=_fresh_user(officer.pk),
            )
            outcome["approve"] = "applied"
        except Exception as exc:
            outcome["approve"] = exc
        finally:
            connections.close_all()

    a = threading.Thread(target=holder)
    a.start()
    assert locked.wait(10)
    b = threading.Thread(target=approver)
    b.start()
    # when B is observed blocked on A's lock, A commits
    blocked = _wait_for_a_lock_waiter()
    release.set()
    a.join(30)
    b.join(30)
    # then B waited, read the committed state and was refused; one transition event
    assert blocked is True
    assert isinstance(outcome["approve"], TransitionNotAllowed)
    assert outcome["approve"].message == "Cannot approve an order that is canceled."
    assert reload(order).status == "canceled"
    assert event_rows(order)[-1] == ("canceled", "held", "canceled", "alpha.ops", "")
    assert event_kinds(order) == ["created", "submitted", "held", "canceled"]
