from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import AllocationState, AllocationStatus, ReservationStatus
from commerce.services.allocation import sales_order_route
from commerce.services.stock import (
    reservation_create,
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_receive,
)
from commerce.tasks import route_reservations_expire
from oms_site.errors import Conflict, NotFound, ValidationFailed
from orders.models import EventKind, OrderEvent
from tests.commerce.core.helpers import (
    allocations_of,
    order_enter,
    stock_of,
    stock_state,
    warehouse_in,
)
from tests.commerce.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def test_receive_creates_or_adds_to_stock(tenant: Any, operations: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")

    stock_receive(
        tenant=tenant, actor=operations, warehouse_id=berlin.pk, product_id=a.pk, quantity="4"
    )
    stock_receive(
        tenant=tenant, actor=operations, warehouse_id=berlin.pk, product_id=a.pk, quantity=2
    )

    assert stock_state(tenant) == [("BER", "A", Decimal("6.000"), Decimal("0"), Decimal("0"))]


@pytest.mark.parametrize("quantity", [0, "-1", "x", None, "0.0001", True])
def test_receive_bad_quantity_is_400(tenant: Any, operations: Any, quantity: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")

    with pytest.raises(ValidationFailed) as exc:
        stock_receive(
            tenant=tenant,
            actor=operations,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity=quantity,
        )

    assert list(exc.value.errors) == ["quantity"]
    assert stock_state(tenant) == []


def test_receive_into_another_tenants_warehouse_is_refused(
    tenant: Any, other_tenant: Any, operations: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    theirs = WarehouseFactory(tenant=other_tenant)

    with pytest.raises(ValidationFailed) as exc:
        stock_receive(
            tenant=tenant, actor=operations, warehouse_id=theirs.pk, product_id=a.pk, quantity=1
        )

    assert list(exc.value.errors) == ["warehouse"]


def test_adjust_may_not_go_below_allocated_and_reserved(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    before = stock_state(tenant)

    with pytest.raises(ValidationFailed) as exc:
        stock_adjust(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, on_hand="2"
        )
    stock_adjust(tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, on_hand="3")

    assert list(exc.value.errors) == ["on_hand"]
    assert before == [("BER", "A", Decimal("5.000"), Decimal("3.000"), Decimal("0.000"))]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("3.000"), Decimal("3.000"), Decimal("0.000"))
    ]


def test_reserve_and_release(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    expires = timezone.now() + timedelta(minutes=15)

    reservation = reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=berlin.pk,
        product_id=a.pk,
        quantity="2",
        expires_at=expires,
        reference="cart-1",
    )
    held = stock_state(tenant)
    reservation_release(tenant=tenant, actor=seller, reservation_id=reservation.pk)
    reservation_release(tenant=tenant, actor=seller, reservation_id=reservation.pk)

    assert held == [("BER", "A", Decimal("5.000"), Decimal("0.000"), Decimal("2.000"))]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("5.000"), Decimal("0.000"), Decimal("0.000"))
    ]
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RELEASED


def test_reserving_more_than_available_is_409(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 1)

    with pytest.raises(Conflict):
        reservation_create(
            tenant=tenant,
            actor=seller,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity="2",
            expires_at=timezone.now() + timedelta(minutes=5),
        )

    assert stock_state(tenant) == [("BER", "A", Decimal("1.000"), Decimal("0"), Decimal("0.000"))]


@pytest.mark.parametrize("delta", [timedelta(seconds=-1), timedelta(days=31)])
def test_reservation_expiry_must_be_soon_and_future(tenant: Any, seller: Any, delta: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 1)

    with pytest.raises(ValidationFailed) as exc:
        reservation_create(
            tenant=tenant,
            actor=seller,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity="1",
            expires_at=timezone.now() + delta,
        )

    assert list(exc.value.errors) == ["expires_at"]


def test_release_unknown_reservation_is_404(tenant: Any, seller: Any) -> None:
    with pytest.raises(NotFound):
        reservation_release(tenant=tenant, actor=seller, reservation_id=999)


def test_beat_task_releases_only_expired_reservations_and_is_idempotent(
    tenant: Any, seller: Any
) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    soon = reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=berlin.pk,
        product_id=a.pk,
        quantity="2",
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    later = reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=berlin.pk,
        product_id=a.pk,
        quantity="1",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    at = timezone.now() + timedelta(minutes=2)

    first = reservations_expire_due(now=at)
    second = reservations_expire_due(now=at)

    assert (first, second) == (1, 0)
    soon.refresh_from_db()
    later.refresh_from_db()
    assert (soon.status, later.status) == (ReservationStatus.RELEASED, ReservationStatus.ACTIVE)
    assert stock_state(tenant) == [("BER", "A", Decimal("5.000"), Decimal("0"), Decimal("1.000"))]
    assert route_reservations_expire.apply().get() == 0


def test_routing_consumes_the_orders_reservation(tenant: Any, seller: Any) -> None:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, a, 5)
    stock_of(tenant, munich, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 3)])
    reservation = reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=munich.pk,
        product_id=a.pk,
        quantity="2",
        expires_at=timezone.now() + timedelta(minutes=30),
        sales_order_id=sales.pk,
    )

    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)

    sales.refresh_from_db()
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONSUMED
    assert sales.allocation_state == AllocationState.ALLOCATED
    assert allocations_of(sales) == [
        (1, "BER", Decimal("1.000"), AllocationStatus.ACTIVE),
        (1, "MUN", Decimal("2.000"), AllocationStatus.ACTIVE),
    ]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("5.000"), Decimal("1.000"), Decimal("0")),
        ("MUN", "A", Decimal("5.000"), Decimal("2.000"), Decimal("0.000")),
    ]
    kinds = list(
        OrderEvent.objects.for_tenant(tenant)
        .filter(order_id=sales.pk, kind__in=[EventKind.RESERVED, EventKind.ALLOCATED])
        .values_list("kind", flat=True)
    )
    assert kinds == [EventKind.RESERVED, EventKind.ALLOCATED, EventKind.ALLOCATED]


def test_a_canceled_order_gets_no_reservation(tenant: Any, seller: Any) -> None:
    from orders.services import order_transition

    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1)])
    order_transition(
        tenant=tenant, order_id=sales.pk, transition="cancel", actor=seller, reason="customer"
    )
    before = stock_state(tenant)
    events = OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk).count()

    with pytest.raises(Conflict) as refused:
        reservation_create(
            tenant=tenant,
            actor=seller,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity="2",
            expires_at=timezone.now() + timedelta(minutes=30),
            sales_order_id=sales.pk,
        )

    assert refused.value.message == (
        f"Order {sales.order.reference} is canceled: nothing to reserve for it."
    )
    assert stock_state(tenant) == before
    assert OrderEvent.objects.for_tenant(tenant).filter(order_id=sales.pk).count() == events
    assert not sales.reservations.exists()


# --- every path that makes goods available retries the backorders ---------------------------


def _backorder(tenant: Any, seller: Any, quantity: int = 2) -> tuple[Any, Any, Any]:
    """Product A in Berlin with nothing available, and an order of ``quantity`` waiting."""
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 0)
    waiting = order_enter(tenant, seller, lines=[(a, quantity)])
    sales_order_route(tenant_id=tenant.pk, order_id=waiting.pk)
    waiting.refresh_from_db()
    assert waiting.allocation_state == AllocationState.BACKORDERED
    return a, berlin, waiting


def _served(waiting: Any, quantity: str) -> None:
    waiting.refresh_from_db()
    assert (waiting.allocation_state, waiting.promised_date) == (AllocationState.ALLOCATED, None)
    assert allocations_of(waiting) == [(1, "BER", Decimal(quantity), AllocationStatus.ACTIVE)]


def test_a_return_restock_serves_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from commerce.services.returns import ReturnLineInput, return_create, return_transition
    from tests.commerce.money.helpers import ship

    # given an order waiting for 2 of A, and 2 of A shipped to another customer from Berlin
    a, berlin, waiting = _backorder(tenant, seller)
    sold = order_enter(tenant, seller, lines=[(a, 2)])
    ship(sold, {1: 2}, warehouse=berlin)
    ret = return_create(
        tenant=tenant,
        actor=seller,
        sales_order_id=sold.pk,
        lines=[ReturnLineInput(sold.lines.get().pk, "2")],
    )
    for transition in ("approve", "receive"):
        return_transition(tenant=tenant, actor=seller, return_id=ret.pk, transition=transition)
    # when the returned goods are restocked (and the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        return_transition(tenant=tenant, actor=seller, return_id=ret.pk, transition="restock")
    # then the waiting order gets them
    _served(waiting, "2.000")
    assert stock_state(tenant) == [("BER", "A", Decimal("2.000"), Decimal("2.000"), Decimal("0"))]


def test_a_refund_restock_serves_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from commerce.services.refunds import RefundLineInput, refund_create
    from commerce.services.returns import ReturnLineInput, return_create, return_transition
    from tests.commerce.money.helpers import paid, ship

    a, berlin, waiting = _backorder(tenant, seller, quantity=1)
    sold = order_enter(tenant, seller, lines=[(a, 1)])
    paid(sold)
    ship(sold, {1: 1}, warehouse=berlin)
    ret = return_create(
        tenant=tenant,
        actor=seller,
        sales_order_id=sold.pk,
        lines=[ReturnLineInput(sold.lines.get().pk, "1")],
    )
    for transition in ("approve", "receive"):
        return_transition(tenant=tenant, actor=seller, return_id=ret.pk, transition=transition)
    # when a refund restocks the returned unit
    with django_capture_on_commit_callbacks(execute=True):
        refund_create(
            tenant=tenant,
            actor=seller,
            sales_order_id=sold.pk,
            idempotency_key="refund-1",
            return_id=ret.pk,
            lines=[RefundLineInput(sold.lines.get().pk, "1", restock=True)],
        )
    # then the waiting order gets it
    _served(waiting, "1.000")


def test_a_cancelled_order_frees_its_goods_for_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from orders.services import order_transition

    # given 2 of A in Berlin allocated to a first order, and a second order waiting
    a = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), a, 2)
    first = order_enter(tenant, seller, lines=[(a, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=first.pk)
    waiting = order_enter(tenant, seller, lines=[(a, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=waiting.pk)
    # when the first order is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(tenant=tenant, order_id=first.pk, transition="cancel", actor=seller)
    # then the second one gets its goods
    _served(waiting, "2.000")
    assert stock_state(tenant) == [("BER", "A", Decimal("2.000"), Decimal("2.000"), Decimal("0"))]


def test_a_released_reservation_serves_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, berlin, waiting = _backorder(tenant, seller)
    stock_of_a = stock_state(tenant)
    assert stock_of_a == [("BER", "A", Decimal("0.000"), Decimal("0"), Decimal("0"))]
    # given 2 received and held at once for a cart (before the retry could run)
    with django_capture_on_commit_callbacks(execute=False):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, quantity="2"
        )
        cart = reservation_create(
            tenant=tenant,
            actor=seller,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity="2",
            expires_at=timezone.now() + timedelta(minutes=30),
            reference="cart-1",
        )
    # when the cart lets them go
    with django_capture_on_commit_callbacks(execute=True):
        reservation_release(tenant=tenant, actor=seller, reservation_id=cart.pk)
    # then the waiting order gets them
    _served(waiting, "2.000")


def test_an_expired_reservation_serves_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, berlin, waiting = _backorder(tenant, seller)
    with django_capture_on_commit_callbacks(execute=False):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, quantity="2"
        )
        reservation_create(
            tenant=tenant,
            actor=seller,
            warehouse_id=berlin.pk,
            product_id=a.pk,
            quantity="2",
            expires_at=timezone.now() + timedelta(minutes=1),
            reference="cart-1",
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert reservations_expire_due(now=timezone.now() + timedelta(minutes=2)) == 1
    _served(waiting, "2.000")


def test_the_backorder_retry_is_one_task_after_commit_and_none_for_a_refusal(
    tenant: Any, seller: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from commerce import tasks

    a, berlin, _waiting = _backorder(tenant, seller)
    sent: list[Any] = []
    monkeypatch.setattr(
        tasks.route_backorders, "apply_async", lambda kwargs=None, **options: sent.append(kwargs)
    )
    # a refused receipt enqueues nothing
    with (
        django_capture_on_commit_callbacks(execute=True) as refused,
        pytest.raises(ValidationFailed),
    ):
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, quantity="0"
        )
    assert (refused, sent) == ([], [])
    # a receipt enqueues one task with ids, only once committed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stock_receive(
            tenant=tenant, actor=seller, warehouse_id=berlin.pk, product_id=a.pk, quantity="1"
        )
    assert sent == []
    (callback,) = callbacks
    callback()
    assert sent == [{"tenant_id": tenant.pk, "product_ids": [a.pk]}]


def test_the_excess_of_a_consumed_reservation_serves_the_waiting_backorder(
    tenant: Any, seller: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given 3 of A in Berlin all reserved for an order that needs only 1, and a later order
    # waiting for 2
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 3)
    reserved_for = order_enter(tenant, seller, lines=[(a, 1)])
    reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=berlin.pk,
        product_id=a.pk,
        quantity="3",
        expires_at=timezone.now() + timedelta(minutes=30),
        sales_order_id=reserved_for.pk,
    )
    waiting = order_enter(tenant, seller, lines=[(a, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=waiting.pk)
    # when routing consumes the reservation (1 allocated, 2 back to available)
    with django_capture_on_commit_callbacks(execute=True):
        sales_order_route(tenant_id=tenant.pk, order_id=reserved_for.pk)
    # then the waiting order gets the 2
    _served(waiting, "2.000")
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("3.000"), Decimal("3.000"), Decimal("0.000"))
    ]


def _order_reservation(tenant: Any, seller: Any, minutes: int) -> tuple[Any, Any]:
    a = ProductFactory(tenant=tenant, sku="A")
    berlin = warehouse_in(tenant, "Berlin")
    stock_of(tenant, berlin, a, 5)
    sales = order_enter(tenant, seller, lines=[(a, 1)])
    reservation = reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=berlin.pk,
        product_id=a.pk,
        quantity="2",
        expires_at=timezone.now() + timedelta(minutes=minutes),
        sales_order_id=sales.pk,
    )
    return sales, reservation


def _releases(sales: Any) -> list[tuple[Any, ...]]:
    return [
        (e.actor_id, e.reason, e.data)
        for e in OrderEvent.objects.for_tenant(sales.tenant_id)
        .filter(order_id=sales.pk, kind=EventKind.RESERVATION_RELEASED)
        .order_by("id")
    ]


def test_releasing_an_orders_reservation_is_journaled_on_the_order_once(
    tenant: Any, seller: Any
) -> None:
    # given 2 of A reserved in Berlin for an order
    sales, reservation = _order_reservation(tenant, seller, minutes=15)
    # when staff release it, twice
    reservation_release(tenant=tenant, actor=seller, reservation_id=reservation.pk)
    reservation_release(tenant=tenant, actor=seller, reservation_id=reservation.pk)
    # then the order's journal shows one release, by that person, of what was held
    assert _releases(sales) == [
        (
            seller.pk,
            "Released.",
            {"reservation": reservation.pk, "sku": "A", "warehouse": "BER", "quantity": "2.000"},
        )
    ]
    assert stock_state(tenant) == [("BER", "A", Decimal("5.000"), Decimal("0.000"), Decimal("0"))]


def test_an_expired_orders_reservation_is_journaled_as_expired(tenant: Any, seller: Any) -> None:
    # given a reservation for an order, past its expiry
    sales, reservation = _order_reservation(tenant, seller, minutes=1)
    # when the sweep runs after the expiry
    released = reservations_expire_due(now=timezone.now() + timedelta(minutes=2))
    # then it is released and journaled on the order by the system
    assert released == 1
    assert _releases(sales) == [
        (
            None,
            "Expired.",
            {"reservation": reservation.pk, "sku": "A", "warehouse": "BER", "quantity": "2.000"},
        )
    ]
