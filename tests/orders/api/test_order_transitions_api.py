"""POST /api/v1/orders/{id}/{submit,approve,reject,cancel}/: the human transitions through the
API, for every status and every role."""

from __future__ import annotations

import pytest

from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import EVENT_OF, HUMAN, ROLES, STATUSES, event_rows, order_json, snapshot

pytestmark = pytest.mark.django_db

# An admin (every human permission) per (status, transition): the answer and, if 200, the
# final status. Submission runs screening (nothing registered here), so it ends open.
ADMIN_TABLE = {
    ("draft", "submit"): (200, "open"),
    ("held", "approve"): (200, "open"),
    ("held", "reject"): (200, "rejected"),
    # A pending order is rejected by screening only: a person's reject is not permitted.
    ("pending", "reject"): (403, None),
    ("draft", "cancel"): (200, "canceled"),
    ("pending", "cancel"): (200, "canceled"),
    ("held", "cancel"): (200, "canceled"),
    ("open", "cancel"): (200, "canceled"),
    ("partial", "cancel"): (200, "canceled"),
}
API_PAIRS = [(status, name) for status in STATUSES for name in HUMAN]


def _post(user, order, name, reason="why"):
    return client_for(user).post(
        f"/api/v1/orders/{order.pk}/{name}/", {"reason": reason}, format="json"
    )


@pytest.mark.parametrize(("status", "name"), API_PAIRS)
def test_human_transition_table_through_the_api(tenant, status, name):
    # given an order in `status` and a tenant admin
    order = order_in_status(tenant=tenant, status=status)
    admin = member(tenant, "admin", username="alpha.admin")
    before = snapshot(order)
    journal_before = event_rows(order)
    # when the admin requests the transition
    response = _post(admin, order, name)
    # then the answer is exactly the table's
    code, target = ADMIN_TABLE.get((status, name), (409, None))
    assert response.status_code == code
    if code == 200:
        body = response.json()
        assert (body["status"], body["status_reason"]) == (
            target,
            "" if name == "submit" else "why",
        )
        new_rows = event_rows(order)[len(journal_before) :]
        if name == "submit":
            assert new_rows == [
                ("submitted", "draft", "pending", "alpha.admin", "why"),
                ("screened", "pending", "pending", "system", ""),
                ("accepted", "pending", "open", "system", ""),
            ]
        else:
            assert new_rows == [(EVENT_OF[name], status, target, "alpha.admin", "why")]
        assert body == order_json(order, allowed=["cancel"] if target == "open" else [])
    elif code == 409:
        assert response.json() == {
            "code": "transition_not_allowed",
            "detail": f"Cannot {name} an order that is {status}.",
            "status": status,
        }
        assert snapshot(order) == before
    else:
        assert response.json() == {
            "code": "permission_denied",
            "detail": f"Your role may not {name} this order.",
        }
        assert snapshot(order) == before


ROLE_TABLE = {
    ("trade", "submit"): {"admin", "trader", "portfolio_manager"},
    ("sales", "submit"): {"admin", "seller", "operations"},
    ("trade", "approve"): {"admin", "compliance_officer"},
    ("sales", "approve"): {"admin", "compliance_officer"},
    ("trade", "reject"): {"admin", "compliance_officer"},
    ("sales", "reject"): {"admin", "compliance_officer"},
    ("trade", "cancel"): {"admin", "trader", "portfolio_manager", "operations"},
    ("sales", "cancel"): {"admin", "seller", "operations"},
}
SOURCE = {"submit": "draft", "approve": "held", "reject": "held", "cancel": "open"}
TARGET = {"submit": "open", "approve": "open", "reject": "rejected", "cancel": "canceled"}


@pytest.mark.parametrize("kind", ["trade", "sales"])
@pytest.mark.parametrize("name", HUMAN)
@pytest.mark.parametrize("role", ROLES)
def test_role_permissions_per_transition_and_kind(tenant, role, name, kind):
    # given an order of `kind` where `name` is possible, and a member with `role`
    order = order_in_status(tenant=tenant, status=SOURCE[name], kind=kind)
    user = member(tenant, role, username=f"u-{role}")
    before = snapshot(order)
    # when the member requests the transition
    response = _post(user, order, name)
    # then it succeeds exactly for the roles permitted, else 403 with nothing changed
    if role in ROLE_TABLE[(kind, name)]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == TARGET[name]
        assert f"u-{role}" in [row[3] for row in event_rows(order)]
    else:
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "detail": f"Your role may not {name} this order.",
        }
        assert snapshot(order) == before


def test_a_role_in_another_tenant_grants_nothing_here(tenant, other_tenant):
    # given a user who is admin in beta but only a viewer in alpha, and a held alpha order
    user = member(other_tenant, "admin", username="two.hats")
    member_of_alpha = member(tenant, "viewer", username="two.hats")
    assert member_of_alpha == user
    order = order_in_status(tenant=tenant, status="held")
    before = snapshot(order)
    # when they approve it while working in alpha
    response = client_for(user, "alpha").post(
        f"/api/v1/orders/{order.pk}/approve/", {}, format="json"
    )
    # then beta's admin role does not count
    assert (response.status_code, response.json()) == (
        403,
        {"code": "permission_denied", "detail": "Your role may not approve this order."},
    )
    assert snapshot(order) == before


def test_another_tenants_order_cannot_be_transitioned(tenant, other_tenant):
    # given a beta order and an alpha admin
    foreign = order_in_status(tenant=other_tenant, status="open")
    admin = member(tenant, "admin", username="alpha.admin")
    before = snapshot(foreign)
    # when the admin cancels it by id
    response = _post(admin, foreign, "cancel")
    # then it is 404 and nothing changed
    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "detail": "Order not found."},
    )
    assert snapshot(foreign) == before


def test_transition_without_a_body_uses_an_empty_reason(tenant, trader):
    # given an open order
    order = order_in_status(tenant=tenant, status="open")
    # when it is canceled with no body at all
    response = client_for(trader).post(f"/api/v1/orders/{order.pk}/cancel/")
    # then the reason is empty
    assert response.status_code == 200
    assert event_rows(order)[-1] == ("canceled", "open", "canceled", "alpha.trader", "")


def test_second_cancel_answers_409_and_journals_nothing(tenant, trader):
    # given an order canceled once
    order = order_in_status(tenant=tenant, status="open")
    assert _post(trader, order, "cancel").status_code == 200
    before = snapshot(order)
    # when it is canceled again
    response = _post(trader, order, "cancel")
    # then 409, one canceled event only
    assert response.status_code == 409
    assert snapshot(order) == before
    assert [row[0] for row in event_rows(order)].count("canceled") == 1
