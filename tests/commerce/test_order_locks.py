"""``commerce.services.locks``: what "this sales order" locks, what is not found, the batch
form used by routing, and a multi-warehouse cancellation that locks its goods up front."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.db.models import QuerySet

from commerce.models import Allocation, Channel, SalesOrder, Stock
from commerce.services.fulfilment import fulfilments_cancel_open, fulfilments_create_for_order
from commerce.services.locks import sales_order_lock, sales_orders_lock
from oms_site.errors import NotFound
from orders.models import Order, OrderEvent, OrderStatus
from tests.commerce.factories import ProductFactory, sales_order_make
from tests.commerce.fulfilment.helpers import allocate, shop_make, stock_rows
from tests.factories import order_in_status
from tests.orders.helpers import run_in_threads

D = Decimal
ROUTABLE = (OrderStatus.OPEN, OrderStatus.PARTIAL)


def _sales(tenant: Any, status: str = OrderStatus.OPEN) -> SalesOrder:
    with transaction.atomic():  # the order factory locks the order row
        return sales_order_make(
            tenant=tenant, lines=[(ProductFactory(tenant=tenant), 1, "10.00")], status=status
        )


def _rows(tenant: Any) -> tuple[list[Any], list[Any]]:
    """Every order (id, status, updated_at) and journal row id of the tenant."""
    return (
        list(
            Order.objects.for_tenant(tenant)
            .order_by("pk")
            .values_list("pk", "status", "updated_at")
        ),
        list(OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", flat=True)),
    )


@pytest.mark.django_db
def test_the_lock_returns_the_sales_order_with_its_order_and_channel(tenant: Any) -> None:
    sales = _sales(tenant)
    with transaction.atomic():
        locked = sales_order_lock(tenant=tenant, sales_order_id=sales.pk)
        assert (locked.pk, locked.order.pk, locked.order.status) == (sales.pk, sales.pk, "open")
        assert (locked.order.kind, locked.channel.code) == ("sales", sales.channel.code)


@pytest.mark.django_db
def test_an_order_already_locked_by_the_caller_is_used_as_given(tenant: Any) -> None:
    sales = _sales(tenant)
    with transaction.atomic():
        order = Order.objects.for_tenant(tenant).select_for_update().get(pk=sales.pk)
        locked = sales_order_lock(tenant=tenant, sales_order_id=sales.pk, order=order)
        assert locked.order is order
        assert locked.pk == sales.pk


@pytest.mark.django_db
def test_another_tenants_a_trade_and_an_unknown_order_are_not_found(
    tenant: Any, other_tenant: Any
) -> None:
    foreign = _sales(other_tenant)
    with transaction.atomic():
        trade = order_in_status(tenant=tenant, status=OrderStatus.OPEN, kind="trade")
    before = (_rows(tenant), _rows(other_tenant))
    for order_id in (foreign.pk, trade.pk, 10**9):
        with pytest.raises(NotFound) as default, transaction.atomic():
            sales_order_lock(tenant=tenant, sales_order_id=order_id)
        with pytest.raises(NotFound) as custom, transaction.atomic():
            sales_order_lock(tenant=tenant, sales_order_id=order_id, not_found="Order not found.")
        assert (default.value.message, custom.value.message) == (
            "Sales order not found.",
            "Order not found.",
        )
    assert (_rows(tenant), _rows(other_tenant)) == before


@pytest.mark.django_db
def test_the_batch_lock_keeps_the_tenants_sales_orders_in_the_statuses_asked(
    tenant: Any, other_tenant: Any
) -> None:
    first, done, second = _sales(tenant), _sales(tenant, OrderStatus.COMPLETED), _sales(tenant)
    foreign = _sales(other_tenant)
    with transaction.atomic():
        trade = order_in_status(tenant=tenant, status=OrderStatus.OPEN, kind="trade")
    ids = [second.pk, foreign.pk, trade.pk, done.pk, 10**9, first.pk]
    with transaction.atomic():
        locked = sales_orders_lock(tenant=tenant.pk, order_ids=ids, statuses=ROUTABLE)
        assert [(s.pk, s.order.pk, s.order.status) for s in locked] == [
            (first.pk, first.pk, "open"),
            (second.pk, second.pk, "open"),
        ]
        everything = sales_orders_lock(tenant=tenant, order_ids=ids)
        assert [s.pk for s in everything] == [first.pk, done.pk, second.pk]
        assert sales_orders_lock(tenant=tenant, order_ids=[foreign.pk, trade.pk]) == []


@pytest.mark.django_db
def test_cancelling_open_fulfilments_in_two_warehouses_releases_both(
    tenant: Any, seller: Any
) -> None:
    # given one order allocated over two warehouses, a fulfilment in each
    shop = shop_make(tenant)
    with transaction.atomic():
        sales = shop.order([(shop.p1, "3"), (shop.p2, "2")])
    allocate(sales, 1, shop.wh_b, "2")
    allocate(sales, 1, shop.wh_a, "1")
    allocate(sales, 2, shop.wh_a, "2")
    in_a, in_b = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    assert stock_rows(tenant) == [
        ("A", "P1", D("10"), D("1"), D("0")),
        ("A", "P2", D("10"), D("2"), D("0")),
        ("B", "P1", D("10"), D("2"), D("0")),
        ("B", "P2", D("10"), D("0"), D("0")),
    ]

    # when every open fulfilment is canceled
    canceled = fulfilments_cancel_open(tenant=tenant, actor=seller, sales_order_id=sales.pk)

    # then both are, and every allocation went back to available stock
    assert [(f.pk, f.state) for f in canceled] == [(in_a.pk, "canceled"), (in_b.pk, "canceled")]
    assert stock_rows(tenant) == [
        ("A", "P1", D("10"), D("0"), D("0")),
        ("A", "P2", D("10"), D("0"), D("0")),
        ("B", "P1", D("10"), D("0"), D("0")),
        ("B", "P2", D("10"), D("0"), D("0")),
    ]
    assert sorted(
        Allocation.objects.for_tenant(tenant)
        .filter(sales_order=sales)
        .values_list("line__line_no", "warehouse__code", "quantity", "status")
    ) == [
        (1, "A", D("1"), "released"),
        (1, "B", D("2"), "released"),
        (2, "A", D("2"), "released"),
    ]


def _probe_from_another_connection(tenant: Any, sales: SalesOrder) -> list[str]:
    (found,) = run_in_threads(1, lambda i: _probe(tenant, sales))
    return list(found)


def _probe(tenant: Any, sales: SalesOrder) -> list[str]:
    """From another connection: which of the order's rows are locked ("locked") or free."""
    rows: list[QuerySet[Any]] = [
        Order.objects.for_tenant(tenant).filter(pk=sales.pk),
        SalesOrder.objects.for_tenant(tenant).filter(pk=sales.pk),
        Channel.objects.for_tenant(tenant).filter(pk=sales.channel_id),
        Stock.objects.for_tenant(tenant).all(),
    ]
    found = []
    for query in rows:
        try:
            with transaction.atomic():
                list(query.select_for_update(nowait=True))
            found.append("free")
        except DatabaseError:
            found.append("locked")
    return found


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_lock_holds_the_order_and_sales_order_rows_and_nothing_else(tenant: Any) -> None:
    shop_make(tenant)  # stock rows, to show none is locked
    first, second = _sales(tenant), _sales(tenant)
    with transaction.atomic():
        sales_order_lock(tenant=tenant, sales_order_id=first.pk)
        during = _probe_from_another_connection(tenant, first)
        other = _probe_from_another_connection(tenant, second)
    assert during == ["locked", "locked", "free", "free"]
    assert other == ["free", "free", "free", "free"]
    with transaction.atomic():
        sales_orders_lock(tenant=tenant, order_ids=[second.pk, first.pk])
        both = [_probe_from_another_connection(tenant, s) for s in (first, second)]
    assert both == [["locked", "locked", "free", "free"]] * 2
    after = _probe_from_another_connection(tenant, first)
    assert after == ["free", "free", "free", "free"]
