"""Races on PostgreSQL with real threads (each on its own connection, released together by a
barrier) between money operations and goods operations on the same sales order: a capture or a
refund racing a shipment, a cancellation or routing. Every writer locks the order row, then the
sales order row, then the rest (``commerce.services.locks``), so none of them deadlocks and
each pair ends in one of the two serial outcomes. Each race is run many times, on a new order
each time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import transaction

from commerce.models import (
    Allocation,
    AllocationState,
    Fulfilment,
    Invoice,
    Payment,
    PaymentOperation,
    Refund,
    SalesOrder,
    Stock,
)
from commerce.services.allocation import sales_order_route
from commerce.services.allocation_plan import Outcome
from commerce.services.fulfilment import fulfilment_ship, fulfilments_create_for_order
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.refunds import refund_create
from oms_site.errors import Conflict
from orders.models import Order, OrderEvent
from orders.services import order_transition
from tests.commerce.factories import (
    ProductFactory,
    StockFactory,
    WarehouseFactory,
    sales_order_make,
)
from tests.commerce.fulfilment.helpers import allocate
from tests.orders.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
D = Decimal
ROUNDS = 20
ON_HAND = D("100")


@dataclass
class Floor:
    """One warehouse holding 100 units of one product; each order buys 2 units at 10.00."""

    tenant: Any
    warehouse: Any
    product: Any


@dataclass
class Setup:
    sales: SalesOrder
    fulfilment: Fulfilment | None
    payment_id: int | None
    last_event: int


def _floor(tenant: Any) -> Floor:
    warehouse = WarehouseFactory(tenant=tenant, code="A")
    product = ProductFactory(tenant=tenant, sku="P")
    StockFactory(tenant=tenant, warehouse=warehouse, product=product, on_hand=ON_HAND)
    return Floor(tenant=tenant, warehouse=warehouse, product=product)


def _order(floor: Floor, *, allocated: bool, money: str) -> Setup:
    """An open order of 2 x 10.00 = 20.00; ``allocated``: its 2 units allocated in the
    warehouse with a pending fulfilment; ``money``: "none", "authorized" or "captured"."""
    tenant = floor.tenant
    with transaction.atomic():  # the order factory locks the order row
        sales = sales_order_make(tenant=tenant, lines=[(floor.product, 2, "10.00")])
        fulfilment = None
        if allocated:
            allocate(sales, 1, floor.warehouse, "2")
            SalesOrder.objects.for_tenant(tenant).filter(pk=sales.pk).update(
                allocation_state=AllocationState.ALLOCATED
            )
            (fulfilment,) = fulfilments_create_for_order(
                tenant=tenant, actor=None, sales_order_id=sales.pk
            )
    payment_id = None
    if money != "none":
        auth = payment_authorize(
            tenant=tenant,
            actor=None,
            sales_order_id=sales.pk,
            amount="20",
            idempotency_key=f"a{sales.pk}",
        )
        payment_id = auth.payment_id
    if money == "captured":
        payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auth.payment_id,
            amount="20",
            idempotency_key=f"c{sales.pk}",
        )
    last = OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk).order_by("-pk")
    return Setup(sales, fulfilment, payment_id, last.values_list("pk", flat=True)[0])


def _new_events(setup: Setup) -> list[str]:
    """The journal kinds the race added to the order, in commit order."""
    return list(
        OrderEvent.objects.for_tenant(setup.sales.tenant_id)
        .filter(order_id=setup.sales.pk, pk__gt=setup.last_event)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def _state(setup: Setup) -> dict[str, Any]:
    tenant, pk = setup.sales.tenant_id, setup.sales.pk
    sales = SalesOrder.objects.for_tenant(tenant).get(pk=pk)
    payment = (
        Payment.objects.for_tenant(tenant)
        .filter(sales_order_id=pk)
        .values_list("authorized", "captured", "refunded", "state")
        .first()
    )
    return {
        "order": Order.objects.for_tenant(tenant).get(pk=pk).status,
        "derived": (sales.allocation_state, sales.payment_status, sales.fulfilment_status),
        "payment": payment,
        "allocations": list(
            Allocation.objects.for_tenant(tenant)
            .filter(sales_order_id=pk)
            .order_by("pk")
            .values_list("quantity", "status")
        ),
        "fulfilments": list(
            Fulfilment.objects.for_tenant(tenant)
            .filter(sales_order_id=pk)
            .order_by("pk")
            .values_list("state", flat=True)
        ),
        "documents": list(
            Invoice.objects.for_tenant(tenant)
            .filter(sales_order_id=pk)
            .order_by("pk")
            .values_list("kind", "total")
        ),
    }


def _stock(floor: Floor) -> tuple[Decimal, Decimal, Decimal]:
    row = Stock.objects.for_tenant(floor.tenant).get(
        warehouse=floor.warehouse, product=floor.product
    )
    return row.on_hand, row.allocated, row.reserved


def _race(*works: Callable[[], Any]) -> list[Any]:
    """Run each work in its own thread, all released at once; their results or errors."""
    return run_in_threads(len(works), lambda i: works[i]())


def _authorize(setup: Setup) -> Any:
    return payment_authorize(
        tenant=setup.sales.tenant,
        actor=None,
        sales_order_id=setup.sales.pk,
        amount="20",
        idempotency_key=f"race-a{setup.sales.pk}",
    )


def _route(setup: Setup) -> Any:
    return sales_order_route(tenant_id=setup.sales.tenant_id, order_id=setup.sales.pk)


def _ship(setup: Setup) -> Any:
    assert setup.fulfilment is not None
    return fulfilment_ship(
        tenant=setup.sales.tenant, actor=None, fulfilment_id=setup.fulfilment.pk, carrier="UPS"
    )


def _capture(setup: Setup) -> Any:
    assert setup.payment_id is not None
    return payment_capture(
        tenant=setup.sales.tenant,
        actor=None,
        payment_id=setup.payment_id,
        amount="20",
        idempotency_key=f"race-c{setup.sales.pk}",
    )


def _refund(setup: Setup) -> Any:
    return refund_create(
        tenant=setup.sales.tenant,
        actor=None,
        sales_order_id=setup.sales.pk,
        idempotency_key=f"race-r{setup.sales.pk}",
        adjustment="5",
    )


def _cancel(setup: Setup, actor: Any) -> Any:
    return order_transition(
        tenant=setup.sales.tenant,
        order_id=setup.sales.pk,
        transition="cancel",
        actor=actor,
        reason="customer",
    )


def test_a_capture_racing_a_shipment_does_both(tenant: Any) -> None:
    floor = _floor(tenant)
    for round_no in range(1, ROUNDS + 1):
        # given an authorized order whose goods wait in a pending fulfilment
        setup = _order(floor, allocated=True, money="authorized")

        # when the capture and the shipment start at the same moment
        results = _race(partial(_capture, setup), partial(_ship, setup))

        # then both went through, whichever came first
        assert [type(r) for r in results] == [PaymentOperation, Fulfilment], results
        assert _state(setup) == {
            "order": "completed",
            "derived": ("allocated", "paid", "fulfilled"),
            "payment": (D("20"), D("20"), D("0"), "captured"),
            "allocations": [(D("2"), "shipped")],
            "fulfilments": ["shipped"],
            "documents": [("invoice", D("20"))],
        }
        assert sorted(_new_events(setup)) == [
            "completed",
            "invoice_issued",
            "payment",
            "shipped",
        ]
        assert _stock(floor) == (ON_HAND - 2 * round_no, D("0"), D("0"))


def test_a_refund_racing_a_shipment_does_both(tenant: Any) -> None:
    floor = _floor(tenant)
    for round_no in range(1, ROUNDS + 1):
        # given a paid order whose goods wait in a pending fulfilment
        setup = _order(floor, allocated=True, money="captured")

        # when a goodwill refund of 5.00 and the shipment start at the same moment
        results = _race(partial(_refund, setup), partial(_ship, setup))

        # then both went through
        assert [type(r) for r in results] == [Refund, Fulfilment], results
        assert _state(setup) == {
            "order": "completed",
            "derived": ("allocated", "partially_refunded", "fulfilled"),
            "payment": (D("20"), D("20"), D("5"), "partially_refunded"),
            "allocations": [(D("2"), "shipped")],
            "fulfilments": ["shipped"],
            "documents": [("invoice", D("20")), ("credit_note", D("5"))],
        }
        assert sorted(_new_events(setup)) == [
            "completed",
            "invoice_issued",
            "refunded",
            "shipped",
        ]
        assert _stock(floor) == (ON_HAND - 2 * round_no, D("0"), D("0"))


def test_a_capture_racing_a_cancellation_never_captures_a_canceled_order(
    tenant: Any, seller: Any
) -> None:
    floor = _floor(tenant)
    for _ in range(ROUNDS):
        # given an authorized order whose goods wait in a pending fulfilment
        setup = _order(floor, allocated=True, money="authorized")

        # when the capture and a cancellation start at the same moment
        results = _race(partial(_capture, setup), partial(_cancel, setup, seller))

        # then the order is canceled, its goods released, and the capture either came first
        # (and stands: it is refunded separately) or found the order canceled (409)
        assert type(results[1]) is Order, results
        state = _state(setup)
        if isinstance(results[0], PaymentOperation):
            assert _new_events(setup) == ["payment", "invoice_issued", "canceled"]
            assert state["derived"] == ("allocated", "paid", "unfulfilled")
            assert state["payment"] == (D("20"), D("20"), D("0"), "captured")
            assert state["documents"] == [("invoice", D("20"))]
        else:
            assert type(results[0]) is Conflict, results
            assert results[0].message == "Cannot capture a payment on an order that is canceled."
            assert _new_events(setup) == ["canceled"]
            assert state["derived"] == ("allocated", "authorized", "unfulfilled")
            assert state["payment"] == (D("20"), D("0"), D("0"), "authorized")
            assert state["documents"] == []
        assert state["order"] == "canceled"
        assert state["allocations"] == [(D("2"), "released")]
        assert state["fulfilments"] == ["canceled"]
        assert _stock(floor) == (ON_HAND, D("0"), D("0"))


def test_a_refund_racing_a_cancellation_does_both(tenant: Any, seller: Any) -> None:
    floor = _floor(tenant)
    for _ in range(ROUNDS):
        # given a paid order whose goods wait in a pending fulfilment
        setup = _order(floor, allocated=True, money="captured")

        # when a refund of 5.00 and a cancellation start at the same moment
        results = _race(partial(_refund, setup), partial(_cancel, setup, seller))

        # then both went through
        assert [type(r) for r in results] == [Refund, Order], results
        assert _state(setup) == {
            "order": "canceled",
            "derived": ("allocated", "partially_refunded", "unfulfilled"),
            "payment": (D("20"), D("20"), D("5"), "partially_refunded"),
            "allocations": [(D("2"), "released")],
            "fulfilments": ["canceled"],
            "documents": [("invoice", D("20")), ("credit_note", D("5"))],
        }
        assert sorted(_new_events(setup)) == ["canceled", "invoice_issued", "refunded"]
        assert _stock(floor) == (ON_HAND, D("0"), D("0"))


def test_an_authorisation_racing_routing_does_both(tenant: Any) -> None:
    floor = _floor(tenant)
    for round_no in range(1, ROUNDS + 1):
        # given an open order not yet routed
        setup = _order(floor, allocated=False, money="none")

        # when an authorisation and its routing start at the same moment
        results = _race(partial(_authorize, setup), partial(_route, setup))

        # then both went through
        assert type(results[0]) is PaymentOperation, results
        assert type(results[1]) is Outcome, results
        assert (results[1].order_id, results[1].state) == (setup.sales.pk, "allocated")
        assert _state(setup) == {
            "order": "open",
            "derived": ("allocated", "authorized", "unfulfilled"),
            "payment": (D("20"), D("0"), D("0"), "authorized"),
            "allocations": [(D("2"), "active")],
            "fulfilments": [],
            "documents": [],
        }
        assert sorted(_new_events(setup)) == ["allocated", "payment"]
        assert _stock(floor) == (ON_HAND, D("2") * round_no, D("0"))


def _reserve(setup: Setup, floor: Floor) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    from commerce.services.stock import reservation_create

    return reservation_create(
        tenant=setup.sales.tenant,
        actor=None,
        warehouse_id=floor.warehouse.pk,
        product_id=floor.product.pk,
        quantity="3",
        expires_at=timezone.now() + timedelta(hours=1),
        sales_order_id=setup.sales.pk,
    )


def test_a_reservation_racing_a_cancellation_never_holds_stock_for_a_canceled_order(
    tenant: Any, seller: Any
) -> None:
    from commerce.models import Reservation

    floor = _floor(tenant)
    for _ in range(ROUNDS):
        # given an open order not yet routed
        setup = _order(floor, allocated=False, money="none")

        # when a reservation for it and its cancellation start at the same moment
        results = _race(partial(_reserve, setup, floor), partial(_cancel, setup, seller))

        # then no deadlock: the cancel went through, and the reservation either came first
        # (and the cancel released it) or came second (and was refused, nothing held)
        assert isinstance(results[1], Order), results
        reservations = list(
            Reservation.objects.for_tenant(tenant)
            .filter(sales_order=setup.sales)
            .values_list("quantity", "status")
        )
        if isinstance(results[0], Conflict):
            assert reservations == []
            assert _new_events(setup) == ["canceled"]
        else:
            assert reservations == [(D("3"), "released")]
            assert _new_events(setup) == ["reserved", "canceled"]
        assert _stock(floor) == (ON_HAND, D("0"), D("0"))
