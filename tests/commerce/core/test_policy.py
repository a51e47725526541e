"""The sales KindPolicy: routing after submission / approval (after commit), no generic entry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commerce.models import AllocationState, AllocationStatus
from commerce.tasks import route_sales_order
from orders.kinds import kind_policy
from orders.models import OrderStatus
from orders.screening import Decision, Finding, Severity, screen_register
from orders.services import order_transition
from tests.commerce.core.helpers import allocations_of, order_enter, stock_of, warehouse_in
from tests.commerce.factories import ProductFactory
from tests.conftest import member

pytestmark = pytest.mark.django_db


def test_sales_kind_has_no_generic_entry() -> None:
    policy = kind_policy("sales")

    assert (policy.generic_entry, policy.accept_on_pass, policy.expires_generically) == (
        False,
        True,
        False,
    )


def test_routing_is_enqueued_only_after_commit(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sales = order_enter(tenant, seller, lines=[(a, 1)])
    sales.refresh_from_db()
    before = sales.allocation_state
    for callback in callbacks:
        callback()
    sales.refresh_from_db()

    assert (len(callbacks), before, sales.allocation_state) == (
        1,
        AllocationState.PENDING,
        AllocationState.ALLOCATED,
    )


def test_held_order_is_routed_on_approval(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    finding = Finding("fraud", Severity.SOFT, "ip country differs", {})
    screen_register("test-fraud", lambda order: Decision(findings=(finding,)), kinds=["sales"])
    reviewer = member(tenant, "compliance_officer", username="alpha.cco")

    with django_capture_on_commit_callbacks(execute=True) as entered:
        sales = order_enter(tenant, seller, lines=[(a, 1)])
    sales.refresh_from_db()
    held = (sales.order.status, sales.allocation_state, len(entered))
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            tenant=tenant, order_id=sales.pk, transition="approve", actor=reviewer, reason="ok"
        )
    sales.refresh_from_db()

    assert held == (OrderStatus.HELD, AllocationState.PENDING, 0)
    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocations_of(sales) == [(1, "BER", Decimal("1.000"), AllocationStatus.ACTIVE)]


def test_route_task_twice_allocates_once(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 2)])

    first = route_sales_order.apply(kwargs={"tenant_id": tenant.pk, "order_id": sales.pk}).get()
    second = route_sales_order.apply(kwargs={"tenant_id": tenant.pk, "order_id": sales.pk}).get()

    assert (first, second) == (AllocationState.ALLOCATED, "skipped")
    assert allocations_of(sales) == [(1, "BER", Decimal("2.000"), AllocationStatus.ACTIVE)]
