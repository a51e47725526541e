"""Four-eyes overrides of held orders, and the kill switch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from compliance.models import KillSwitch, Override
from compliance.services import killswitch, overrides
from oms_site.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from orders.models import Order, OrderEvent
from tests.compliance.factories import reviewer, rule_make, trade_submit
from tests.conftest import member
from tests.trading.factories import AccountFactory, InstrumentFactory, QuoteFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def held(tenant: Any) -> dict[str, Any]:
    trader = member(tenant, "trader", username="alpha.t")
    instrument = InstrumentFactory(tenant=tenant, symbol="ACME")
    account = AccountFactory(tenant=tenant, code="A1")
    QuoteFactory(tenant=tenant, instrument=instrument, bid=D("99"), ask=D("101"), last=D("100"))
    rule_make(tenant, "max_quantity", severity="soft", params={"max": "10"})
    order = trade_submit(
        tenant=tenant, actor=trader, account=account, instrument=instrument, quantity="11"
    )
    assert order.status == "held"
    return {
        "tenant": tenant,
        "trader": trader,
        "order": order,
        "account": account,
        "instrument": instrument,
    }


def _notes(order: Any) -> list[Any]:
    return list(
        OrderEvent.objects.for_tenant(order.tenant)
        .filter(order=order, kind="note")
        .values_list("data", flat=True)
    )


def test_override_approved_by_another_officer_releases_the_order(held: dict[str, Any]) -> None:
    tenant, order = held["tenant"], held["order"]
    requester = reviewer(tenant, "alpha.req")
    approver = reviewer(tenant, "alpha.appr")
    override = overrides.override_request(
        tenant=tenant, actor=requester, order_id=order.pk, justification="Client confirmed"
    )
    overrides.override_approve(
        tenant=tenant, actor=approver, override_id=override.pk, reason="Checked"
    )
    order.refresh_from_db()
    override.refresh_from_db()
    assert (order.status, override.status, override.approved_by) == ("open", "approved", approver)
    assert [n["action"] for n in _notes(order)] == ["requested", "approved"]
    assert OrderEvent.objects.for_tenant(tenant).filter(order=order, kind="approved").count() == 1


@pytest.mark.parametrize("who", ["requester", "creator_officer"])
def test_self_approval_is_403_and_changes_nothing(
    held: dict[str, Any], tenant: Any, who: str
) -> None:
    requester = reviewer(tenant, "alpha.req")
    override = overrides.override_request(
        tenant=tenant, actor=requester, order_id=held["order"].pk, justification="x"
    )
    events = OrderEvent.objects.for_tenant(tenant).count()
    actor = requester
    if who == "creator_officer":  # an officer who created the order
        actor = requester
        Order.objects.for_tenant(tenant).filter(pk=held["order"].pk).update(created_by=requester)
    with pytest.raises(PermissionDenied):
        overrides.override_approve(tenant=tenant, actor=actor, override_id=override.pk)
    override.refresh_from_db()
    assert (override.status, Order.objects.for_tenant(tenant).get(pk=held["order"].pk).status) == (
        "requested",
        "held",
    )
    assert OrderEvent.objects.for_tenant(tenant).count() == events


def test_trader_cannot_approve_and_refusal_is_journaled(held: dict[str, Any], tenant: Any) -> None:
    override = overrides.override_request(
        tenant=tenant, actor=held["trader"], order_id=held["order"].pk, justification="please"
    )
    other_trader = member(tenant, "trader", username="alpha.t2")
    with pytest.raises(PermissionDenied):
        overrides.override_approve(tenant=tenant, actor=other_trader, override_id=override.pk)
    officer = reviewer(tenant)
    with pytest.raises(ValidationFailed):
        overrides.override_refuse(tenant=tenant, actor=officer, override_id=override.pk, reason=" ")
    overrides.override_refuse(tenant=tenant, actor=officer, override_id=override.pk, reason="No")
    assert [n["action"] for n in _notes(held["order"])] == ["requested", "refused"]
    assert Order.objects.for_tenant(tenant).get(pk=held["order"].pk).status == "held"


def test_override_expires_at_end_of_day(held: dict[str, Any], tenant: Any) -> None:
    override = overrides.override_request(
        tenant=tenant, actor=held["trader"], order_id=held["order"].pk, justification="x"
    )
    assert override.expires_at.hour == 0
    assert override.expires_at > override.created_at
    Override.objects.for_tenant(tenant).filter(pk=override.pk).update(
        expires_at=override.created_at
    )
    with pytest.raises(TransitionNotAllowed):
        overrides.override_approve(tenant=tenant, actor=reviewer(tenant), override_id=override.pk)
    assert Order.objects.for_tenant(tenant).get(pk=held["order"].pk).status == "held"


def test_override_only_for_held_orders(held: dict[str, Any], tenant: Any) -> None:
    fine = trade_submit(
        tenant=tenant,
        actor=held["trader"],
        account=held["account"],
        instrument=held["instrument"],
        quantity="1",
    )
    with pytest.raises(TransitionNotAllowed):
        overrides.override_request(
            tenant=tenant, actor=held["trader"], order_id=fine.pk, justification="x"
        )
    assert Override.objects.for_tenant(tenant).count() == 0


def test_kill_switch_cancels_open_orders_and_rejects_new_until_released(
    held: dict[str, Any], tenant: Any
) -> None:
    trader, account, instrument = held["trader"], held["account"], held["instrument"]
    other = AccountFactory(tenant=tenant, code="B1")
    live = trade_submit(
        tenant=tenant, actor=trader, account=account, instrument=instrument, quantity="1"
    )
    elsewhere = trade_submit(
        tenant=tenant, actor=trader, account=other, instrument=instrument, quantity="1"
    )
    officer = reviewer(tenant)
    switch = killswitch.killswitch_engage(
        tenant=tenant, actor=officer, scope="account", account=account, reason="Runaway algo"
    )
    statuses = dict(Order.objects.for_tenant(tenant).values_list("pk", "status"))
    assert (statuses[live.pk], statuses[held["order"].pk], statuses[elsewhere.pk]) == (
        "canceled",
        "canceled",
        "pending",
    )
    assert sorted(switch.canceled_orders["canceled"]) == sorted(
        [live.reference, held["order"].reference]
    )
    blocked = trade_submit(
        tenant=tenant, actor=trader, account=account, instrument=instrument, quantity="1"
    )
    assert blocked.status == "rejected"
    with pytest.raises(PermissionDenied):  # an administrator does not release; an officer does
        killswitch.killswitch_release(
            tenant=tenant,
            actor=member(tenant, "admin", username="alpha.adm"),
            switch_id=switch.pk,
            reason="ok",
        )
    with pytest.raises(ValidationFailed):
        killswitch.killswitch_release(tenant=tenant, actor=officer, switch_id=switch.pk, reason="")
    killswitch.killswitch_release(
        tenant=tenant, actor=officer, switch_id=switch.pk, reason="Algo fixed"
    )
    again = trade_submit(
        tenant=tenant, actor=trader, account=account, instrument=instrument, quantity="1"
    )
    assert again.status == "pending"
    assert KillSwitch.objects.for_tenant(tenant).get(pk=switch.pk).release_reason == "Algo fixed"


def test_kill_switch_trader_scope_and_role(held: dict[str, Any], tenant: Any) -> None:
    with pytest.raises(PermissionDenied):
        killswitch.killswitch_engage(
            tenant=tenant, actor=held["trader"], scope="tenant", reason="x"
        )
    with pytest.raises(ValidationFailed) as exc:
        killswitch.killswitch_engage(
            tenant=tenant, actor=reviewer(tenant), scope="trader", reason="x"
        )
    assert exc.value.errors == {"trader": ["Required for the trader scope."]}
    assert KillSwitch.objects.for_tenant(tenant).count() == 0
    killswitch.killswitch_engage(
        tenant=tenant, actor=reviewer(tenant), scope="trader", trader=held["trader"], reason="x"
    )
    blocked = trade_submit(
        tenant=tenant,
        actor=held["trader"],
        account=held["account"],
        instrument=held["instrument"],
        quantity="1",
    )
    assert blocked.status == "rejected"
