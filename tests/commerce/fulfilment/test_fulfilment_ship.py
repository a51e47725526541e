"""fulfilment_ship: stock and allocations settled, order partial / completed, journal,
marketplace confirmation; every refusal leaves everything as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commerce import tasks
from commerce.models import SalesOrder
from commerce.services.fulfilment import (
    ShipLine,
    fulfilment_cancel,
    fulfilment_pack,
    fulfilment_pick,
    fulfilment_ship,
    fulfilments_create_for_order,
)
from oms_site.errors import NotFound, TransitionNotAllowed, ValidationFailed
from tests.commerce.fulfilment.helpers import (
    ACTIVE,
    RELEASED,
    SHIPPED,
    D,
    allocate,
    allocation_rows,
    fresh,
    fulfilment_rows,
    journal,
    journal_data,
    marketplace_channel,
    order_status,
    shop_make,
    snapshot,
    stock_rows,
)

pytestmark = pytest.mark.django_db


def _two_line_order(tenant, seller):
    """P1 x 5 and P2 x 3, all allocated in A, one fulfilment."""
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "5"), (shop.p2, "3")])
    allocate(sales, 1, shop.wh_a, "5")
    allocate(sales, 2, shop.wh_a, "3")
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    return shop, sales, fulfilment


def _line_id(sales, line_no):
    return sales.lines.get(line_no=line_no).pk


def test_shipping_everything_completes_the_order(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    # when the whole fulfilment ships
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    fulfilment_ship(
        tenant=tenant,
        actor=seller,
        fulfilment_id=fulfilment.pk,
        carrier="DHL",
        tracking_number="JD0001",
        shipped_at=moment,
    )
    # then the goods left the warehouse: on hand and allocated fall by what shipped
    assert stock_rows(tenant) == [
        ("A", "P1", D("5"), D("0"), D("0")),
        ("A", "P2", D("7"), D("0"), D("0")),
        ("B", "P1", D("10"), D("0"), D("0")),
        ("B", "P2", D("10"), D("0"), D("0")),
    ]
    assert allocation_rows(sales) == [(1, "A", D("5"), SHIPPED), (2, "A", D("3"), SHIPPED)]
    shipped = fresh(fulfilment)
    assert (shipped.state, shipped.carrier, shipped.tracking_number, shipped.shipped_at) == (
        "shipped",
        "DHL",
        "JD0001",
        moment,
    )
    assert fulfilment_rows(sales) == [("A", "shipped", [(1, D("5"), D("5")), (2, D("3"), D("3"))])]
    assert order_status(sales) == ("completed", "fulfilled")
    assert journal(sales) == [
        ("fulfilment_updated", "", ""),
        ("shipped", "", ""),
        ("completed", "open", "completed"),
    ]
    (data,) = journal_data(sales, "shipped")
    assert data == {
        "fulfilment_id": fulfilment.pk,
        "warehouse": "A",
        "from_state": "pending",
        "carrier": "DHL",
        "tracking_number": "JD0001",
        "lines": [
            {"line": _line_id(sales, 1), "shipped": "5.000", "released": "0.000"},
            {"line": _line_id(sales, 2), "shipped": "3.000", "released": "0.000"},
        ],
        "rerouted": False,
    }


def test_one_of_two_warehouses_shipping_makes_the_order_partial(tenant, seller):
    # given P1 x 5 split 4 in A and 1 in B
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "5")])
    allocate(sales, 1, shop.wh_a, "4")
    allocate(sales, 1, shop.wh_b, "1")
    in_a, in_b = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    # when A ships
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=in_a.pk, carrier="UPS")
    # then the order is partial and partially fulfilled
    assert order_status(sales) == ("partial", "partially_fulfilled")
    # when B ships too
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=in_b.pk, carrier="UPS")
    # then it is completed
    assert order_status(sales) == ("completed", "fulfilled")
    assert journal(sales)[-4:] == [
        ("shipped", "", ""),
        ("partially_filled", "open", "partial"),
        ("shipped", "", ""),
        ("completed", "partial", "completed"),
    ]
    assert [row[:3] for row in stock_rows(tenant)] == [
        ("A", "P1", D("6")),
        ("A", "P2", D("10")),
        ("B", "P1", D("9")),
        ("B", "P2", D("10")),
    ]


def test_a_short_shipment_releases_the_rest_and_leaves_the_order_partial(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    # when only 2 of the 5 P1 and none of P2 ship (picked, packed first)
    fulfilment_pick(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    fulfilment_pack(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    fulfilment_ship(
        tenant=tenant,
        actor=seller,
        fulfilment_id=fulfilment.pk,
        carrier="DHL",
        lines=[ShipLine(_line_id(sales, 1), D("2")), ShipLine(_line_id(sales, 2), D("0"))],
    )
    # then 2 left the warehouse and the other 3 + 3 are available again
    assert stock_rows(tenant)[:2] == [
        ("A", "P1", D("8"), D("0"), D("0")),
        ("A", "P2", D("10"), D("0"), D("0")),
    ]
    assert allocation_rows(sales) == [
        (1, "A", D("2"), SHIPPED),
        (2, "A", D("3"), RELEASED),
        (1, "A", D("3"), RELEASED),
    ]
    assert fulfilment_rows(sales) == [("A", "shipped", [(1, D("5"), D("2")), (2, D("3"), D("0"))])]
    assert order_status(sales) == ("partial", "partially_fulfilled")
    (shipped,) = journal_data(sales, "shipped")
    assert (shipped["lines"], shipped["rerouted"]) == (
        [
            {"line": _line_id(sales, 1), "shipped": "2.000", "released": "3.000"},
            {"line": _line_id(sales, 2), "shipped": "0.000", "released": "3.000"},
        ],
        True,
    )
    # and the unshipped remainder waits for routing again
    assert SalesOrder.objects.for_tenant(tenant).get(pk=sales.pk).allocation_state == "pending"
    (partial,) = journal_data(sales, "partially_filled")
    assert partial == {"fulfilment_id": fulfilment.pk, "ordered": "8.000", "shipped": "2.000"}


def test_lines_not_named_ship_nothing(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    fulfilment_ship(
        tenant=tenant,
        actor=seller,
        fulfilment_id=fulfilment.pk,
        carrier="DHL",
        lines=[ShipLine(_line_id(sales, 2), D("3"))],
    )
    assert fulfilment_rows(sales) == [("A", "shipped", [(1, D("5"), D("0")), (2, D("3"), D("3"))])]
    assert allocation_rows(sales) == [(1, "A", D("5"), RELEASED), (2, "A", D("3"), SHIPPED)]


def test_an_allocation_larger_than_the_fulfilment_keeps_its_excess_active(tenant, seller):
    # given 2 allocated and covered, then 3 more allocated in the same warehouse (not yet
    # in a fulfilment)
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "5")])
    allocate(sales, 1, shop.wh_a, "2")
    (first,) = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    allocate(sales, 1, shop.wh_a, "3")
    # when the first fulfilment ships 1 of its 2
    fulfilment_ship(
        tenant=tenant,
        actor=seller,
        fulfilment_id=first.pk,
        carrier="DHL",
        lines=[ShipLine(_line_id(sales, 1), D("1"))],
    )
    # then 1 shipped, 1 released, and the later 3 are still allocated
    assert allocation_rows(sales) == [
        (1, "A", D("1"), SHIPPED),
        (1, "A", D("3"), ACTIVE),
        (1, "A", D("1"), RELEASED),
    ]
    assert stock_rows(tenant)[0] == ("A", "P1", D("9"), D("3"), D("0"))


def test_a_marketplace_order_enqueues_the_confirmation_after_commit(
    tenant, seller, monkeypatch, django_capture_on_commit_callbacks
):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "1")], channel=marketplace_channel(tenant))
    allocate(sales, 1, shop.wh_a, "1")
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    sent = []
    monkeypatch.setattr(
        tasks.channel_confirm_shipment,
        "apply_async",
        lambda kwargs=None, **options: sent.append(kwargs),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    # nothing is sent before the commit; once committed, one task with ids
    assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [{"tenant_id": tenant.pk, "fulfilment_id": fulfilment.pk}]


def test_a_web_order_sends_no_confirmation(
    tenant, seller, monkeypatch, django_capture_on_commit_callbacks
):
    _shop, _sales, fulfilment = _two_line_order(tenant, seller)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    assert callbacks == []


def test_shipping_twice_is_refused(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed) as caught:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    assert caught.value.message == "Cannot ship a fulfilment that is shipped."
    assert snapshot(sales) == before


def test_a_canceled_fulfilment_cannot_ship(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    fulfilment_cancel(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk)
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed):
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    assert snapshot(sales) == before


BAD_SHIPMENTS = [
    ({"carrier": ""}, "carrier", "Required."),
    ({"carrier": "   "}, "carrier", "Required."),
    ({"carrier": "x" * 65}, "carrier", "At most 64 characters."),
    ({"tracking_number": "t" * 129}, "tracking_number", "At most 128 characters."),
    (
        {"lines": [(1, "6")]},
        "lines[0].quantity",
        "At most 5.000, the fulfilment's quantity of this line.",
    ),
    ({"lines": [(1, "-1")]}, "lines[0].quantity", "Must be zero or more."),
    ({"lines": [(1, "1.0001")]}, "lines[0].quantity", "At most 3 decimal places."),
    ({"lines": [(1, "1"), (1, "1")]}, "lines[1].line", "is given twice."),
    ({"lines": [(99, "1")]}, "lines[0].line", "is not in this fulfilment."),
    (
        {"lines": [(1, "0"), (2, "0")]},
        "lines",
        "Ship at least one unit (cancel the fulfilment to ship nothing).",
    ),
    ({"lines": []}, "lines", "Ship at least one unit (cancel the fulfilment to ship nothing)."),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_SHIPMENTS)
def test_bad_shipments_are_refused_naming_the_field(tenant, seller, change, field, message):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    kwargs = {"carrier": "DHL", "tracking_number": "T1", **change}
    if "lines" in change:
        kwargs["lines"] = [
            ShipLine(_line_id(sales, n) if n < 99 else 10**9, Decimal(q))
            for n, q in change["lines"]
        ]
    before = snapshot(sales)
    with pytest.raises(ValidationFailed) as caught:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, **kwargs)
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field][0].endswith(message)
    assert snapshot(sales) == before


def test_shipping_on_an_order_no_longer_open_is_refused(tenant, seller):
    # given a fulfilment whose order was then held (screened again) or canceled
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    from orders.models import Order

    Order.objects.for_tenant(tenant).filter(pk=sales.pk).update(status="canceled")
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed) as caught:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    assert caught.value.message == "Cannot ship: the order is canceled."
    assert snapshot(sales) == before


def test_another_tenants_fulfilment_is_not_found(tenant, other_tenant, seller):
    _shop, sales, fulfilment = _two_line_order(other_tenant, None)
    before = snapshot(sales)
    with pytest.raises(NotFound):
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    assert snapshot(sales) == before


def test_a_shipping_time_in_the_future_is_refused(tenant, seller):
    _shop, sales, fulfilment = _two_line_order(tenant, seller)
    before = snapshot(sales)
    with pytest.raises(ValidationFailed) as caught:
        fulfilment_ship(
            tenant=tenant,
            actor=seller,
            fulfilment_id=fulfilment.pk,
            carrier="UPS",
            shipped_at=datetime(2999, 1, 1, tzinfo=UTC),
        )
    assert caught.value.errors == {"shipped_at": ["Must not be in the future."]}
    assert snapshot(sales) == before
