"""Pick, pack, deliver and cancel: the fulfilment's state machine, stock released on cancel,
journal rows; wrong states refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from commerce.models import SalesOrder
from commerce.services.fulfilment import (
    fulfilment_cancel,
    fulfilment_deliver,
    fulfilment_pack,
    fulfilment_pick,
    fulfilment_ship,
    fulfilments_cancel_open,
    fulfilments_create_for_order,
)
from oms_site.errors import TransitionNotAllowed, ValidationFailed
from tests.commerce.fulfilment.helpers import (
    RELEASED,
    SHIPPED,
    D,
    allocate,
    allocation_rows,
    fresh,
    journal,
    journal_data,
    order_status,
    shop_make,
    snapshot,
    stock_rows,
)

pytestmark = pytest.mark.django_db


def _fulfilment(tenant, seller, quantity="4"):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, quantity)])
    allocate(sales, 1, shop.wh_a, quantity)
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    return sales, fulfilment


def test_pick_then_pack(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert fresh(fulfilment).state == "picking"
    fulfilment_pack(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert fresh(fulfilment).state == "packed"
    data = journal_data(sales, "fulfilment_updated")[1:]
    assert [(d["action"], d["from_state"], d["to_state"]) for d in data] == [
        ("start_picking", "pending", "picking"),
        ("pack", "picking", "packed"),
    ]
    assert order_status(sales) == ("open", "unfulfilled")


@pytest.mark.parametrize(
    ("steps", "service", "message"),
    [
        ([], fulfilment_pack, "Cannot pack a fulfilment that is pending."),
        (["pick"], fulfilment_pick, "Cannot start picking a fulfilment that is picking."),
        ([], fulfilment_deliver, "Cannot deliver a fulfilment that is pending."),
        (["pick", "pack"], fulfilment_deliver, "Cannot deliver a fulfilment that is packed."),
        (["ship"], fulfilment_cancel, "Cannot cancel a fulfilment that is shipped."),
        (["ship"], fulfilment_pick, "Cannot start picking a fulfilment that is shipped."),
        (["cancel"], fulfilment_cancel, "Cannot cancel a fulfilment that is canceled."),
        (["ship", "deliver"], fulfilment_deliver, "Cannot deliver a fulfilment that is delivered."),
    ],
)
def test_wrong_state_transitions_are_refused(tenant, seller, steps, service, message):
    sales, fulfilment = _fulfilment(tenant, seller)
    run = {
        "pick": lambda: fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk),
        "pack": lambda: fulfilment_pack(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk),
        "ship": lambda: fulfilment_ship(
            tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS"
        ),
        "deliver": lambda: fulfilment_deliver(
            tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk
        ),
        "cancel": lambda: fulfilment_cancel(
            tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk
        ),
    }
    for step in steps:
        run[step]()
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed) as caught:
        service(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert caught.value.message == message
    assert snapshot(sales) == before


def test_cancel_releases_the_stock(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert stock_rows(tenant)[0] == ("A", "P1", D("10"), D("4"), D("0"))
    # when canceled while picking
    fulfilment_cancel(
        tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, reason="Damaged in picking"
    )
    # then the 4 are available again and the allocation is released; the order stays open
    # and waits for routing again
    assert fresh(fulfilment).state == "canceled"
    assert stock_rows(tenant)[0] == ("A", "P1", D("10"), D("0"), D("0"))
    assert allocation_rows(sales) == [(1, "A", D("4"), RELEASED)]
    assert order_status(sales) == ("open", "unfulfilled")
    assert SalesOrder.objects.for_tenant(tenant).get(pk=sales.pk).allocation_state == "pending"
    last = journal_data(sales, "fulfilment_updated")[-1]
    assert last == {
        "fulfilment_id": fulfilment.pk,
        "warehouse": "A",
        "action": "cancel",
        "from_state": "picking",
        "to_state": "canceled",
        "released": [{"line": sales.lines.get().pk, "quantity": "4.000"}],
        "rerouted": True,
    }


def test_cancel_open_cancels_only_unshipped_fulfilments(tenant, seller):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "3")])
    allocate(sales, 1, shop.wh_a, "2")
    allocate(sales, 1, shop.wh_b, "1")
    in_a, in_b = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=in_a.pk, carrier="UPS")
    canceled = fulfilments_cancel_open(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    assert [f.pk for f in canceled] == [in_b.pk]
    assert (fresh(in_a).state, fresh(in_b).state) == ("shipped", "canceled")
    assert allocation_rows(sales) == [(1, "A", D("2"), SHIPPED), (1, "B", D("1"), RELEASED)]


def test_deliver_marks_the_order_delivered(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    fulfilment_deliver(
        tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, delivered_at=moment
    )
    delivered = fresh(fulfilment)
    assert (delivered.state, delivered.delivered_at) == ("delivered", moment)
    assert order_status(sales) == ("completed", "delivered")
    assert journal(sales)[-1] == ("delivered", "", "")
    assert journal_data(sales, "delivered") == [
        {
            "fulfilment_id": fulfilment.pk,
            "warehouse": "A",
            "delivered_at": moment.isoformat(),
            "source": "manual",
        }
    ]


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (datetime(2030, 1, 1, tzinfo=UTC), "Must not be in the future."),
        (datetime(2024, 1, 1), "Must include a time zone."),
    ],
)
def test_a_bad_delivery_time_is_refused(tenant, seller, moment, message):
    sales, fulfilment = _fulfilment(tenant, seller)
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    before = snapshot(sales)
    with pytest.raises(ValidationFailed) as caught:
        fulfilment_deliver(
            tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, delivered_at=moment
        )
    assert caught.value.errors == {"delivered_at": [message]}
    assert snapshot(sales) == before


def test_pick_on_a_canceled_order_is_refused(tenant, seller):
    sales, fulfilment = _fulfilment(tenant, seller)
    from orders.models import Order

    Order.objects.for_tenant(tenant).filter(pk=sales.pk).update(status="canceled")
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed) as caught:
        fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert caught.value.message == "Cannot start picking: the order is canceled."
    assert snapshot(sales) == before
    # cancelling the fulfilment is still possible (it only releases stock)
    fulfilment_cancel(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    assert allocation_rows(sales) == [(1, "A", D("4"), RELEASED)]
