"""The order FSM through orders.services: every (status, transition) pair, the journal,
refusals that change nothing, the optimistic guard, and the protected status field."""

from __future__ import annotations

import pytest
from django.db import transaction

from oms_site.errors import NotFound, PermissionDenied, StaleState, TransitionNotAllowed
from orders.models import Order
from orders.services import order_apply_transition, order_lock, order_transition
from tests.conftest import member
from tests.factories import order_in_status
from tests.orders.helpers import EVENT_OF, STATUSES, TRANSITIONS, event_rows, reload, snapshot

pytestmark = pytest.mark.django_db

# The whole table, written out: (from, transition) -> target. Every other pair is refused.
ALLOWED = {
    ("draft", "submit"): "pending",
    ("pending", "accept"): "open",
    ("pending", "hold"): "held",
    ("held", "approve"): "open",
    ("pending", "reject"): "rejected",
    ("held", "reject"): "rejected",
    ("open", "fill_partially"): "partial",
    ("partial", "fill_partially"): "partial",
    ("open", "complete"): "completed",
    ("partial", "complete"): "completed",
    ("draft", "cancel"): "canceled",
    ("pending", "cancel"): "canceled",
    ("held", "cancel"): "canceled",
    ("open", "cancel"): "canceled",
    ("partial", "cancel"): "canceled",
    ("open", "expire"): "expired",
    ("partial", "expire"): "expired",
}
PAIRS = [(status, name) for status in STATUSES for name in TRANSITIONS]
ALLOWED_PAIRS = [pair for pair in PAIRS if pair in ALLOWED]
REFUSED_PAIRS = [pair for pair in PAIRS if pair not in ALLOWED]


def _apply(tenant, order, name, actor=None, reason="", check_permission=False):
    with transaction.atomic():
        locked = order_lock(tenant=tenant, order_id=order.pk)
        return order_apply_transition(
            order=locked,
            transition=name,
            actor=actor,
            reason=reason,
            check_permission=check_permission,
        )


def test_the_table_covers_every_pair():
    assert (len(PAIRS), len(ALLOWED_PAIRS), len(REFUSED_PAIRS)) == (81, 17, 64)


@pytest.mark.parametrize(("status", "name"), ALLOWED_PAIRS)
def test_allowed_transition_lands_in_target_and_journals_one_event(tenant, status, name):
    # given an order in `status` and a person taking the step
    order = order_in_status(tenant=tenant, status=status)
    actor = member(tenant, "admin", username="alpha.ops")
    before = event_rows(order)
    # when the transition runs
    result = _apply(tenant, order, name, actor=actor, reason="because")
    # then the order is in the exact target, with the reason, and one event says so
    target = ALLOWED[(status, name)]
    fresh = reload(order)
    assert (result.status, fresh.status, fresh.status_reason) == (target, target, "because")
    assert fresh.updated_at == result.updated_at
    assert event_rows(order) == [*before, (EVENT_OF[name], status, target, "alpha.ops", "because")]
    last = fresh.events.latest("id")
    assert (last.actor, last.data, last.tenant_id) == (actor, {}, tenant.pk)


@pytest.mark.parametrize(("status", "name"), REFUSED_PAIRS)
def test_refused_transition_raises_and_changes_nothing(tenant, status, name):
    # given an order in `status`
    order = order_in_status(tenant=tenant, status=status)
    before = snapshot(order)
    # when a transition the table refuses is attempted (even by the system)
    with pytest.raises(TransitionNotAllowed) as exc:
        _apply(tenant, order, name, reason="nope")
    # then it is a 409-class refusal naming the state, and nothing changed
    assert exc.value.status_code == 409
    assert exc.value.as_dict() == {
        "code": "transition_not_allowed",
        "detail": f"Cannot {name} an order that is {status}.",
        "status": status,
    }
    assert snapshot(order) == before


@pytest.mark.parametrize("status", ["completed", "canceled", "rejected", "expired"])
def test_terminal_states_have_no_way_out(tenant, status):
    # given an order in a terminal state
    order = order_in_status(tenant=tenant, status=status)
    # when we ask the FSM for any way out
    # then there is none, and is_terminal says so
    assert [t.name for t in order.get_available_status_transitions()] == []  # type: ignore[attr-defined]
    assert order.is_terminal is True


@pytest.mark.parametrize("status", ["draft", "pending", "held", "open", "partial"])
def test_live_states_are_not_terminal(tenant, status):
    order = order_in_status(tenant=tenant, status=status)
    assert order.is_terminal is False


def test_a_refused_step_inside_a_sequence_leaves_the_earlier_steps(tenant):
    # given an open order that has been partially filled
    order = order_in_status(tenant=tenant, status="partial")
    _apply(tenant, order, "fill_partially", reason="second fill")
    before = snapshot(order)
    # when someone tries to submit it again
    with pytest.raises(TransitionNotAllowed):
        _apply(tenant, order, "submit")
    # then the fills stay journaled and nothing else is written
    assert snapshot(order) == before
    assert [row[0] for row in event_rows(order)] == [
        "created",
        "submitted",
        "accepted",
        "partially_filled",
        "partially_filled",
    ]


def test_unknown_transition_name_is_refused(tenant):
    # given an open order
    order = order_in_status(tenant=tenant, status="open")
    before = snapshot(order)
    # when a transition that does not exist is requested
    with pytest.raises(TransitionNotAllowed) as exc:
        _apply(tenant, order, "teleport")
    # then it is refused and nothing changed
    assert exc.value.message == "Unknown transition 'teleport'."
    assert snapshot(order) == before


def test_unknown_transition_name_through_order_transition_is_refused(tenant):
    order = order_in_status(tenant=tenant, status="open")
    admin = member(tenant, "admin", username="alpha.admin")
    before = snapshot(order)
    with pytest.raises(TransitionNotAllowed) as exc:
        order_transition(tenant=tenant, order_id=order.pk, transition="save", actor=admin)
    assert exc.value.message == "Unknown transition 'save'."
    assert snapshot(order) == before


def test_inactive_tenant_refuses_even_allowed_transitions(tenant):
    # given an open order of a tenant that is then deactivated
    order = order_in_status(tenant=tenant, status="open")
    before = snapshot(order)
    tenant.active = False
    tenant.save(update_fields=["active"])
    # when the system tries to cancel it
    with pytest.raises(TransitionNotAllowed) as exc:
        _apply(tenant, order, "cancel")
    # then the condition refuses it and nothing changed
    assert exc.value.as_dict() == {
        "code": "transition_not_allowed",
        "detail": "Cannot cancel this order now (tenant inactive).",
        "status": "open",
    }
    assert snapshot(order) == before


def test_a_person_needs_a_permitted_role(tenant):
    # given a held order and a viewer
    order = order_in_status(tenant=tenant, status="held")
    viewer = member(tenant, "viewer", username="alpha.viewer")
    before = snapshot(order)
    # when the viewer approves it with the permission check on
    with pytest.raises(PermissionDenied) as exc:
        _apply(tenant, order, "approve", actor=viewer, check_permission=True)
    # then it is a 403 and nothing changed
    assert (exc.value.status_code, exc.value.message) == (
        403,
        "Your role may not approve this order.",
    )
    assert snapshot(order) == before


def test_a_permission_checked_step_without_an_actor_is_refused(tenant):
    # given a held order
    order = order_in_status(tenant=tenant, status="held")
    before = snapshot(order)
    # when a person-level step arrives without an actor
    with pytest.raises(PermissionDenied):
        _apply(tenant, order, "approve", actor=None, check_permission=True)
    # then it is refused
    assert snapshot(order) == before


@pytest.mark.parametrize("name", ["accept", "hold", "fill_partially", "complete", "expire"])
def test_system_transitions_are_never_granted_to_a_person(tenant, name):
    # given an order where the system step is possible, and a tenant admin
    status = {"accept": "pending", "hold": "pending"}.get(name, "open")
    order = order_in_status(tenant=tenant, status=status)
    admin = member(tenant, "admin", username="alpha.admin")
    before = snapshot(order)
    # when the admin runs it as a person
    with pytest.raises(PermissionDenied) as exc:
        _apply(tenant, order, name, actor=admin, check_permission=True)
    # then even the admin is refused
    assert exc.value.message == f"Your role may not {name} this order."
    assert snapshot(order) == before


def test_a_stale_instance_cannot_overwrite_a_newer_state(tenant):
    # given two copies of one open order, and the first one is canceled
    order = order_in_status(tenant=tenant, status="open")
    stale = Order.objects.for_tenant(tenant).get(pk=order.pk)
    _apply(tenant, order, "cancel", reason="first")
    before = snapshot(order)
    # when the stale copy (still "open" in memory) is expired without a lock
    with pytest.raises(StaleState) as exc, transaction.atomic():
        order_apply_transition(order=stale, transition="expire", actor=None, check_permission=False)
    # then the optimistic guard refuses it (409) and the cancel stands alone
    assert exc.value.as_dict() == {
        "code": "stale_state",
        "detail": "The object changed while the request was processed; retry.",
        "order_id": order.pk,
    }
    assert exc.value.status_code == 409
    assert snapshot(order) == before
    assert reload(order).status == "canceled"


def test_status_cannot_be_assigned_directly(tenant):
    # given an open order
    order = order_in_status(tenant=tenant, status="open")
    # when code assigns the status field
    with pytest.raises(AttributeError, match="Direct status modification is not allowed"):
        order.status = "completed"
    # then the row is untouched
    assert reload(order).status == "open"


def test_order_transition_locks_applies_and_journals(tenant):
    # given a held order and a compliance officer
    order = order_in_status(tenant=tenant, status="held")
    officer = member(tenant, "compliance_officer", username="alpha.co")
    # when the officer approves it through the service
    result = order_transition(
        tenant=tenant, order_id=order.pk, transition="approve", actor=officer, reason="ok"
    )
    # then it is open and journaled with the officer's name
    assert (result.status, reload(order).status) == ("open", "open")
    assert event_rows(order)[-1] == ("approved", "held", "open", "alpha.co", "ok")


def test_order_transition_submit_screens_the_draft(tenant, trader):
    # given a draft
    order = order_in_status(tenant=tenant, status="draft")
    # when the trader submits it
    result = order_transition(
        tenant=tenant, order_id=order.pk, transition="submit", actor=trader, reason="go"
    )
    # then it is submitted, screened and accepted
    assert result.status == "open"
    assert event_rows(order) == [
        ("created", "", "draft", "system", ""),
        ("submitted", "draft", "pending", "alpha.trader", "go"),
        ("screened", "pending", "pending", "system", ""),
        ("accepted", "pending", "open", "system", ""),
    ]


def test_order_transition_on_another_tenants_order_is_not_found(tenant, other_tenant):
    # given an order of beta and an admin of alpha
    foreign = order_in_status(tenant=other_tenant, status="open")
    admin = member(tenant, "admin", username="alpha.admin")
    before = snapshot(foreign)
    # when the alpha admin cancels it by id in alpha
    with pytest.raises(NotFound) as exc:
        order_transition(tenant=tenant, order_id=foreign.pk, transition="cancel", actor=admin)
    # then it answers like a missing order, and nothing changed
    assert exc.value.as_dict() == {"code": "not_found", "detail": "Order not found."}
    assert snapshot(foreign) == before


def test_order_transition_on_a_missing_order_is_not_found(tenant):
    admin = member(tenant, "admin", username="alpha.admin")
    with pytest.raises(NotFound):
        order_transition(tenant=tenant, order_id=10**17, transition="cancel", actor=admin)
