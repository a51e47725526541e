"""The per-kind policy registry (orders.kinds): how a domain shapes the common workflow.

The suite-wide autouse fixture clears every registered policy for tests outside tests/trading
and restores them afterwards, so each test here registers the policy it exercises.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from oms_site.errors import TransitionNotAllowed
from orders import kinds, tasks
from orders.kinds import (
    KindPolicy,
    kind_after,
    kind_policy,
    kind_register,
    kind_unregister,
    kinds_expiring_generically,
)
from orders.models import EventKind, Order, OrderEvent
from orders.screening import Decision, Finding, Severity, screen_register
from orders.services import event_record, order_create
from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import counts, event_kinds, order_json, reload, snapshot

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def seller(tenant):
    return member(tenant, "seller", username="alpha.seller")


@pytest.fixture
def reviewer(tenant):
    return member(tenant, "compliance_officer", username="alpha.compliance")


def _create(tenant, actor, kind="sales", client_order_id="k-1"):
    result = order_create(
        tenant=tenant,
        actor=actor,
        kind=kind,
        client_order_id=client_order_id,
        payload={"kind": kind, "client_order_id": client_order_id},
    )
    return reload(result.order)


# --- the registry itself --------------------------------------------------------------------


def test_a_kind_without_a_policy_gets_the_generic_workflow():
    assert kinds._policies == {}
    assert kind_policy("sales") == KindPolicy(
        generic_entry=True,
        accept_on_pass=True,
        expires_generically=True,
        request_handlers={},
        after={},
    )
    assert kinds_expiring_generically(["trade", "sales"]) == ["trade", "sales"]


def test_register_replaces_and_unregister_restores_the_default():
    first = KindPolicy(generic_entry=False)
    second = KindPolicy(accept_on_pass=False)
    kind_register("sales", first)
    assert kind_policy("sales") is first
    kind_register("sales", second)
    assert (kind_policy("sales"), kind_policy("trade")) == (second, KindPolicy())
    kind_unregister("sales")
    kind_unregister("sales")  # unregistering twice is harmless
    assert kind_policy("sales") == KindPolicy()


def test_kind_after_calls_only_the_hook_of_that_step_and_kind(tenant):
    calls: list[tuple[str, str]] = []
    kind_register("sales", KindPolicy(after={"submit": lambda o: calls.append(("s", o.kind))}))
    order = order_in_status(tenant=tenant, status="draft", kind="sales")
    trade = order_in_status(tenant=tenant, status="draft", kind="trade")
    kind_after(order, "approve")
    kind_after(trade, "submit")
    kind_after(order, "submit")
    assert calls == [("s", "sales")]


# --- generic_entry --------------------------------------------------------------------------


def test_generic_entry_false_refuses_the_kind_on_the_generic_endpoint(tenant, seller, trader):
    kind_register("sales", KindPolicy(generic_entry=False))
    before = counts(tenant)
    response = client_for(seller).post(
        ORDERS, {"kind": "sales", "client_order_id": "s-1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Invalid input.",
        "errors": {"kind": ["Enter sales orders through their own endpoint."]},
    }
    assert counts(tenant) == before
    # the other kind, with no policy, is still entered generically
    response = client_for(trader).post(
        ORDERS, {"kind": "trade", "client_order_id": "t-1"}, format="json"
    )
    assert response.status_code == 201


# --- accept_on_pass -------------------------------------------------------------------------


def test_accept_on_pass_false_leaves_a_screened_order_pending(tenant, seller):
    kind_register("sales", KindPolicy(accept_on_pass=False))
    order = _create(tenant, seller)
    assert (order.status, order.status_reason) == ("pending", "")
    assert event_kinds(order) == ["created", "submitted", "screened"]
    # the default kind is accepted at once
    trade = _create(tenant, member(tenant, "trader", username="alpha.t"), kind="trade")
    assert (trade.status, event_kinds(trade)) == (
        "open",
        ["created", "submitted", "screened", "accepted"],
    )


@pytest.mark.parametrize(
    ("severity", "status"), [(Severity.SOFT, "held"), (Severity.HARD, "rejected")]
)
def test_accept_on_pass_false_still_holds_and_rejects_on_breaches(tenant, seller, severity, status):
    kind_register("sales", KindPolicy(accept_on_pass=False))
    finding = Finding("rule", severity, "breach", {})
    screen_register("test", lambda order: Decision(findings=(finding,)))
    order = _create(tenant, seller)
    assert (order.status, order.status_reason) == (status, "rule: breach")


# --- request_handlers -----------------------------------------------------------------------


def test_a_request_handler_replaces_the_generic_cancel(tenant, seller):
    calls: list[dict[str, Any]] = []
    after: list[str] = []

    def cancel(*, tenant: Any, order: Order, actor: Any, reason: str) -> Order:
        calls.append(
            {
                "tenant": tenant.slug,
                "order": order.reference,
                "status": order.status,
                "actor": actor.username,
                "reason": reason,
                "in_transaction": connection.in_atomic_block,
            }
        )
        return order

    kind_register(
        "sales",
        KindPolicy(
            request_handlers={"cancel": cancel}, after={"cancel": lambda o: after.append("x")}
        ),
    )
    order = order_in_status(tenant=tenant, status="open", kind="sales")
    before = snapshot(order)
    response = client_for(seller).post(
        f"{ORDERS}{order.pk}/cancel/", {"reason": "client asked"}, format="json"
    )
    # the domain's handler ran instead of the generic cancel, and its answer is the response
    assert response.status_code == 200
    assert response.json() == order_json(order, allowed=["cancel"])
    assert calls == [
        {
            "tenant": "alpha",
            "order": "S-000001",
            "status": "open",
            "actor": "alpha.seller",
            "reason": "client asked",
            "in_transaction": True,
        }
    ]
    # nothing generic happened: no transition, no journal row, no after hook
    assert snapshot(order) == before
    assert after == []


def test_a_request_handler_refusal_rolls_back_what_it_wrote(tenant, seller):
    def cancel(*, tenant: Any, order: Order, actor: Any, reason: str) -> Order:
        event_record(order=order, kind=EventKind.CANCEL_REQUESTED, actor=actor, reason=reason)
        raise TransitionNotAllowed("The venue refused.")

    kind_register("sales", KindPolicy(request_handlers={"cancel": cancel}))
    order = order_in_status(tenant=tenant, status="open", kind="sales")
    before = snapshot(order)
    response = client_for(seller).post(f"{ORDERS}{order.pk}/cancel/", {}, format="json")
    assert (response.status_code, response.json()) == (
        409,
        {"code": "transition_not_allowed", "detail": "The venue refused."},
    )
    assert snapshot(order) == before


def test_transitions_without_a_handler_stay_generic(tenant, reviewer):
    handled: list[str] = []

    def cancel(*, tenant: Any, order: Order, actor: Any, reason: str) -> Order:
        handled.append(order.reference)
        return order

    kind_register("sales", KindPolicy(request_handlers={"cancel": cancel}))
    order = order_in_status(tenant=tenant, status="held", kind="sales")
    response = client_for(reviewer).post(f"{ORDERS}{order.pk}/approve/", {}, format="json")
    assert response.status_code == 200
    assert (reload(order).status, handled) == ("open", [])


# --- after hooks ----------------------------------------------------------------------------


def test_after_hooks_run_after_submit_and_approve_inside_the_transaction(tenant, seller, reviewer):
    seen: list[tuple[str, str, str, bool]] = []

    def hook(step: str):
        def run(order: Order) -> None:
            seen.append((step, order.reference, order.status, connection.in_atomic_block))

        return run

    kind_register("sales", KindPolicy(after={"submit": hook("submit"), "approve": hook("approve")}))
    api = client_for(seller)
    # entry (submitted and screened at once): the submit hook sees the screened order
    assert (
        api.post(ORDERS, {"kind": "sales", "client_order_id": "a-1"}, format="json").status_code
        == 201
    )
    # a draft entry runs no hook; its later submission does
    draft = api.post(
        ORDERS, {"kind": "sales", "client_order_id": "a-2", "submit": False}, format="json"
    )
    assert seen == [("submit", "S-000001", "open", True)]
    assert api.post(f"{ORDERS}{draft.json()['id']}/submit/", {}, format="json").status_code == 200
    # a reviewer's approval of a held order runs the approve hook
    held = order_in_status(tenant=tenant, status="held", kind="sales")
    assert (
        client_for(reviewer).post(f"{ORDERS}{held.pk}/approve/", {}, format="json").status_code
        == 200
    )
    # steps without a hook (cancel) run none
    api.post(f"{ORDERS}{held.pk}/cancel/", {}, format="json")
    assert seen == [
        ("submit", "S-000001", "open", True),
        ("submit", "S-000002", "open", True),
        ("approve", "S-000003", "open", True),
    ]


def test_a_failing_after_hook_rolls_back_the_entry(tenant, seller):
    def explode(order: Order) -> None:
        raise TransitionNotAllowed("Routing is down.")

    kind_register("sales", KindPolicy(after={"submit": explode}))
    before = counts(tenant)
    response = client_for(seller).post(
        ORDERS, {"kind": "sales", "client_order_id": "boom"}, format="json"
    )
    assert (response.status_code, response.json()) == (
        409,
        {"code": "transition_not_allowed", "detail": "Routing is down."},
    )
    assert counts(tenant) == before


# --- expires_generically --------------------------------------------------------------------


def test_expires_generically_false_keeps_the_beat_task_off_that_kind(tenant):
    kind_register("sales", KindPolicy(expires_generically=False))
    past = timezone.now() - timedelta(minutes=1)
    sales = order_in_status(tenant=tenant, status="open", kind="sales", expires_at=past)
    trade = order_in_status(tenant=tenant, status="partial", kind="trade", expires_at=past)
    sales_before = snapshot(sales)
    assert kinds_expiring_generically(["trade", "sales"]) == ["trade"]
    # when the expiry beat task runs
    assert tasks.orders_expire_due() == 1
    # then the generic kind expired, the other was left to its domain
    assert (reload(trade).status, event_kinds(trade)[-1]) == ("expired", "expired")
    assert snapshot(sales) == sales_before
    assert OrderEvent.objects.for_tenant(tenant).filter(order=sales, kind="expired").count() == 0
    # and once the policy is gone it expires like any other
    kind_unregister("sales")
    assert tasks.orders_expire_due() == 1
    assert reload(sales).status == "expired"
