"""The screening gate: registered screens route a submitted order to rejected / held / open."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderEvent
from orders.screening import (
    Decision,
    Finding,
    Severity,
    screen_register,
    screen_unregister,
    screening_run,
    screens_registered,
)
from orders.services import order_create
from tests.conftest import client_for, member
from tests.factories import order_in_status
from tests.orders.helpers import counts, event_rows, reload, snapshot

pytestmark = pytest.mark.django_db

HARD = Finding("limit", Severity.HARD, "over the hard limit", {"limit": 10, "value": 12})
SOFT = Finding("review", Severity.SOFT, "needs a review", {"score": 7})
WARN = Finding("fat-finger", Severity.WARN, "price far from last", {})


def _screen(*findings: Finding, seen: list | None = None):
    def screen(order: Order) -> Decision:
        if seen is not None:
            seen.append((order.reference, order.status))
        return Decision(findings=findings)

    return screen


def _submit(tenant, actor, kind="trade", client_order_id="c-1"):
    result = order_create(
        tenant=tenant,
        actor=actor,
        kind=kind,
        client_order_id=client_order_id,
        payload={"kind": kind},
    )
    return reload(result.order)


def _screened_data(order: Order) -> dict:
    return OrderEvent.objects.for_tenant(order.tenant_id).get(order=order, kind="screened").data


def test_hard_finding_rejects_the_order(tenant, trader):
    # given a screen that returns a hard breach
    screen_register("test-hard", _screen(HARD))
    # when an order is submitted
    order = _submit(tenant, trader)
    # then it is rejected, and the journal carries the findings and the reason
    assert (order.status, order.status_reason) == ("rejected", "limit: over the hard limit")
    assert event_rows(order) == [
        ("created", "", "draft", "alpha.trader", ""),
        ("submitted", "draft", "pending", "alpha.trader", ""),
        ("screened", "pending", "pending", "system", "limit: over the hard limit"),
        ("rejected", "pending", "rejected", "system", "limit: over the hard limit"),
    ]
    assert _screened_data(order) == {
        "outcome": "reject",
        "screens": ["test-hard"],
        "findings": [
            {
                "rule": "limit",
                "severity": "hard",
                "message": "over the hard limit",
                "data": {"limit": 10, "value": 12},
            }
        ],
    }
    last = OrderEvent.objects.for_tenant(tenant).filter(order=order).latest("id")
    assert last.data == {"screening": "reject"}


def test_soft_finding_holds_the_order(tenant, trader):
    # given a screen that returns a soft breach
    screen_register("test-soft", _screen(SOFT))
    # when an order is submitted
    order = _submit(tenant, trader)
    # then it is held for review
    assert (order.status, order.status_reason) == ("held", "review: needs a review")
    assert [row[:3] for row in event_rows(order)][-2:] == [
        ("screened", "pending", "pending"),
        ("held", "pending", "held"),
    ]
    assert _screened_data(order) == {
        "outcome": "hold",
        "screens": ["test-soft"],
        "findings": [
            {
                "rule": "review",
                "severity": "soft",
                "message": "needs a review",
                "data": {"score": 7},
            }
        ],
    }


def test_warning_only_opens_the_order_with_the_warning_journaled(tenant, trader):
    # given a screen that only warns
    screen_register("test-warn", _screen(WARN))
    # when an order is submitted
    order = _submit(tenant, trader)
    # then it opens, and the warning is on the screened event and the reason
    assert (order.status, order.status_reason) == ("open", "fat-finger: price far from last")
    assert event_rows(order)[-1] == (
        "accepted",
        "pending",
        "open",
        "system",
        "fat-finger: price far from last",
    )
    assert _screened_data(order) == {
        "outcome": "accept",
        "screens": ["test-warn"],
        "findings": [
            {"rule": "fat-finger", "severity": "warn", "message": "price far from last", "data": {}}
        ],
    }


def test_the_worst_finding_across_screens_wins(tenant, trader):
    # given three screens: warn, soft, hard
    screen_register("a-warn", _screen(WARN))
    screen_register("b-soft", _screen(SOFT))
    screen_register("c-hard", _screen(HARD))
    # when an order is submitted
    order = _submit(tenant, trader)
    # then the hard breach rejects it, every finding is journaled in registration order
    assert (order.status, order.status_reason) == ("rejected", "limit: over the hard limit")
    data = _screened_data(order)
    assert (data["outcome"], data["screens"]) == ("reject", ["a-warn", "b-soft", "c-hard"])
    assert [f["rule"] for f in data["findings"]] == ["fat-finger", "review", "limit"]


def test_soft_and_warn_hold(tenant, trader):
    screen_register("a-warn", _screen(WARN))
    screen_register("b-soft", _screen(SOFT))
    order = _submit(tenant, trader)
    assert (order.status, order.status_reason) == ("held", "review: needs a review")


def test_screens_see_the_pending_order(tenant, trader):
    # given a screen that records what it is shown
    seen: list = []
    screen_register("spy", _screen(seen=seen))
    # when an order is submitted
    _submit(tenant, trader)
    # then it saw the numbered order while pending, once
    assert seen == [("T-000001", "pending")]


def test_kinds_limit_where_a_screen_runs(tenant):
    # given a hard screen for sales orders only
    seen: list = []
    screen_register("sales-only", _screen(HARD, seen=seen), kinds=["sales"])
    admin = member(tenant, "admin", username="alpha.admin")
    # when a trade and a sales order are submitted
    trade = _submit(tenant, admin, kind="trade")
    sales = _submit(tenant, admin, kind="sales")
    # then only the sales order was screened (and rejected)
    assert (trade.status, sales.status) == ("open", "rejected")
    assert seen == [("S-000001", "pending")]
    assert _screened_data(trade)["screens"] == []
    assert _screened_data(sales)["screens"] == ["sales-only"]


def test_registering_a_name_again_replaces_the_screen(tenant, trader):
    # given a hard screen replaced by a warning under the same name
    screen_register("rule", _screen(HARD))
    screen_register("rule", _screen(WARN))
    # when an order is submitted
    order = _submit(tenant, trader)
    # then only the replacement ran
    assert screens_registered() == ["rule"]
    assert order.status == "open"


def test_an_unregistered_screen_no_longer_runs(tenant, trader):
    screen_register("rule", _screen(HARD))
    screen_unregister("rule")
    screen_unregister("never-registered")
    order = _submit(tenant, trader)
    assert (screens_registered(), order.status) == ([], "open")


def test_a_failing_screen_rolls_back_the_whole_creation(tenant, trader):
    # given a screen that crashes, and one order already numbered
    _submit(tenant, trader, client_order_id="ok")

    def broken(order: Order) -> Decision:
        raise RuntimeError("screen down")

    screen_register("broken", broken)
    before = counts(tenant)
    # when another order is submitted
    with pytest.raises(RuntimeError, match="screen down"):
        _submit(tenant, trader, client_order_id="next")
    # then nothing of it persists, not even its reference number
    assert counts(tenant) == before
    screen_unregister("broken")
    assert _submit(tenant, trader, client_order_id="after").reference == "T-000002"


def test_held_order_approved_by_a_compliance_officer_opens(tenant, trader):
    # given an order held by a soft breach
    screen_register("test-soft", _screen(SOFT))
    order = _submit(tenant, trader)
    officer = member(tenant, "compliance_officer", username="alpha.co")
    # when the compliance officer approves it through the API
    response = client_for(officer).post(
        f"/api/v1/orders/{order.pk}/approve/", {"reason": "checked"}, format="json"
    )
    # then it is open and the approval is journaled with the officer
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["status_reason"]) == ("open", "checked")
    assert event_rows(order)[-1] == ("approved", "held", "open", "alpha.co", "checked")


def test_held_order_rejected_by_a_reviewer_is_rejected(tenant, trader):
    # given an order held by a soft breach
    screen_register("test-soft", _screen(SOFT))
    order = _submit(tenant, trader)
    reviewer = member(tenant, "admin", username="alpha.admin")
    # when a reviewer declines it
    response = client_for(reviewer).post(
        f"/api/v1/orders/{order.pk}/reject/", {"reason": "no"}, format="json"
    )
    # then it is rejected and journaled
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    assert event_rows(order)[-1] == ("rejected", "held", "rejected", "alpha.admin", "no")


def test_the_trader_cannot_release_their_own_held_order(tenant, trader):
    # given a held order entered by a trader
    screen_register("test-soft", _screen(SOFT))
    order = _submit(tenant, trader)
    before = snapshot(order)
    # when the trader tries to approve it
    response = client_for(trader).post(f"/api/v1/orders/{order.pk}/approve/", {}, format="json")
    # then it is forbidden and the order stays held
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "Your role may not approve this order.",
    }
    assert snapshot(order) == before


def test_api_submission_of_a_draft_is_screened(tenant, trader):
    # given a draft and a soft screen
    order = order_in_status(tenant=tenant, status="draft")
    screen_register("test-soft", _screen(SOFT))
    # when the trader submits it through the API
    response = client_for(trader).post(f"/api/v1/orders/{order.pk}/submit/", {}, format="json")
    # then it ends held
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "held"


# --- the protocol itself -------------------------------------------------------------------


def test_decision_merge_keeps_every_finding_and_screen_name():
    merged = Decision.merge(
        [("a", Decision(findings=(WARN,))), ("b", Decision(findings=(SOFT, HARD)))]
    )
    assert merged.screens == ("a", "b")
    assert (merged.hard, merged.soft, merged.warnings) == ([HARD], [SOFT], [WARN])
    assert str(merged.outcome) == "reject"


def test_empty_decision_accepts_with_an_empty_summary():
    decision = Decision()
    assert (str(decision.outcome), decision.summary()) == ("accept", "")
    assert decision.as_dict() == {"outcome": "accept", "screens": [], "findings": []}


def test_summary_is_capped_at_500_characters():
    long = Finding("r", Severity.SOFT, "x" * 600)
    assert len(Decision(findings=(long,)).summary()) == 500


def test_screening_run_with_nothing_registered_accepts(tenant):
    order = order_in_status(tenant=tenant, status="pending")
    decision = screening_run(order)
    assert (decision.findings, decision.screens, str(decision.outcome)) == ((), (), "accept")


def test_a_set_of_orders_is_screened_as_each_would_be_with_set_based_screens_called_once():
    from orders.screening import screening_run_many

    # given a per-order screen, a screen with a set-based entry point, and one for another kind
    seen_single: list = []
    calls_many: list[list[str]] = []

    def many(orders):
        calls_many.append([o.reference for o in orders])
        return [Decision(findings=(WARN,) if o.reference == "S-2" else ()) for o in orders]

    screen_register("per-order", _screen(SOFT, seen=seen_single), kinds=["sales"])
    screen_register("set", _screen(HARD), kinds=["sales"], many=many)
    screen_register("trade-only", _screen(HARD), kinds=["trade"])
    orders = [Order(reference=f"S-{n}", kind="sales", status="pending") for n in (1, 2)]

    # when the set is screened
    decisions = screening_run_many(orders, "sales")

    # then the set-based screen ran once for both, the other once per order, in registration
    # order, and the trade screen not at all
    assert calls_many == [["S-1", "S-2"]]
    assert seen_single == [("S-1", "pending"), ("S-2", "pending")]
    assert [(d.screens, d.findings) for d in decisions] == [
        (("per-order", "set"), (SOFT,)),
        (("per-order", "set"), (SOFT, WARN)),
    ]
    assert screens_registered("sales") == ["per-order", "set"]
    assert screens_registered("trade") == ["trade-only"]
