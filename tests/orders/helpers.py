"""Small readers shared by the orders tests: state snapshots and expected JSON bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connections

from orders.models import Order, OrderEvent, OrderSequence
from tenancy.models import Tenant

STATUSES = (
    "draft",
    "pending",
    "held",
    "open",
    "partial",
    "completed",
    "canceled",
    "rejected",
    "expired",
)
TRANSITIONS = (
    "submit",
    "accept",
    "hold",
    "approve",
    "reject",
    "fill_partially",
    "complete",
    "cancel",
    "expire",
)
HUMAN = ("submit", "approve", "reject", "cancel")
ROLES = (
    "admin",
    "trader",
    "portfolio_manager",
    "compliance_officer",
    "operations",
    "seller",
    "viewer",
)
# The journal kind each transition writes (spelled out here, not read from the code).
EVENT_OF = {
    "submit": "submitted",
    "accept": "accepted",
    "hold": "held",
    "approve": "approved",
    "reject": "rejected",
    "fill_partially": "partially_filled",
    "complete": "completed",
    "cancel": "canceled",
    "expire": "expired",
}


def reload(order: Order) -> Order:
    return Order.objects.for_tenant(order.tenant_id).get(pk=order.pk)


def snapshot(order: Order) -> tuple[Any, ...]:
    """Everything a refused request must leave untouched on one order."""
    fresh = reload(order)
    return (
        fresh.status,
        fresh.status_reason,
        fresh.updated_at,
        list(
            OrderEvent.objects.for_tenant(order.tenant_id)
            .filter(order=order)
            .values_list("id", flat=True)
        ),
    )


def counts(tenant: Tenant) -> tuple[int, int, list[tuple[str, int]]]:
    """(orders, events, reference counters) of a tenant: nothing persisted means all equal."""
    return (
        Order.objects.for_tenant(tenant).count(),
        OrderEvent.objects.for_tenant(tenant).count(),
        sorted(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")),
    )


def event_rows(order: Order) -> list[tuple[str, str, str, str, str]]:
    """(kind, from, to, actor_name, reason) of the order's journal, oldest first."""
    return list(
        OrderEvent.objects.for_tenant(order.tenant_id)
        .filter(order=order)
        .order_by("created_at", "id")
        .values_list("kind", "from_status", "to_status", "actor_name", "reason")
    )


def event_kinds(order: Order) -> list[str]:
    return [row[0] for row in event_rows(order)]


def iso(value: datetime | None) -> str | None:
    """DRF's datetime rendering: ISO 8601, UTC written as Z."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_json(order: Order, *, allowed: list[str]) -> dict[str, Any]:
    """The exact API body of an order, read back from the database."""
    fresh = reload(order)
    return {
        "id": fresh.pk,
        "reference": fresh.reference,
        "kind": fresh.kind,
        "client_order_id": fresh.client_order_id,
        "status": fresh.status,
        "status_reason": fresh.status_reason,
        "note": fresh.note,
        "expires_at": iso(fresh.expires_at),
        "created_by": fresh.created_by.get_username() if fresh.created_by else None,
        "created_at": iso(fresh.created_at),
        "updated_at": iso(fresh.updated_at),
        "allowed_transitions": allowed,
    }


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` real threads released together by a barrier.

    Each thread uses its own database connection and closes it when done. A thread's
    exception is returned in its slot (not raised), so callers assert on every outcome.
    """
    barrier = threading.Barrier(count, timeout=30)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # the test asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return results
