"""fulfilments_create_for_order: one fulfilment per warehouse of the active allocations,
idempotent, covering later allocations with new fulfilments."""

from __future__ import annotations

import pytest

from commerce.services.fulfilment import fulfilment_cancel, fulfilments_create_for_order
from oms_site.errors import NotFound, TransitionNotAllowed
from tests.commerce.factories import sales_order_make
from tests.commerce.fulfilment.helpers import (
    ACTIVE,
    RELEASED,
    D,
    allocate,
    allocation_rows,
    fulfilment_rows,
    journal,
    journal_data,
    shop_make,
    snapshot,
)

pytestmark = pytest.mark.django_db


def test_one_fulfilment_per_warehouse_with_the_allocated_quantities(tenant, seller):
    # given an order of 5 x P1 and 3 x P2, P1 split 4 in A + 1 in B, P2 all in A
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "5"), (shop.p2, "3")])
    allocate(sales, 1, shop.wh_a, "4")
    allocate(sales, 1, shop.wh_b, "1")
    allocate(sales, 2, shop.wh_a, "3")
    # when the fulfilments are created
    created = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    # then one per warehouse, pending, with the allocated quantity per line
    assert [f.warehouse.code for f in created] == ["A", "B"]
    assert fulfilment_rows(sales) == [
        ("A", "pending", [(1, D("4"), D("0")), (2, D("3"), D("0"))]),
        ("B", "pending", [(1, D("1"), D("0"))]),
    ]
    assert journal(sales) == [("fulfilment_updated", "", "")] * 2
    data = journal_data(sales, "fulfilment_updated")
    assert data[0] == {
        "fulfilment_id": created[0].pk,
        "warehouse": "A",
        "action": "created",
        "to_state": "pending",
        "lines": [
            {"line": sales.lines.get(line_no=1).pk, "quantity": "4.000"},
            {"line": sales.lines.get(line_no=2).pk, "quantity": "3.000"},
        ],
    }


def test_creating_again_creates_nothing(tenant, seller):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "2")])
    allocate(sales, 1, shop.wh_a, "2")
    fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    before = snapshot(sales)
    # when asked again
    again = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    # then nothing new
    assert again == []
    assert snapshot(sales) == before


def test_a_later_allocation_gets_its_own_fulfilment(tenant, seller):
    # given a fulfilment of 2 of the 5 ordered, then 3 more allocated in the same warehouse
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "5")])
    allocate(sales, 1, shop.wh_a, "2")
    fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    allocate(sales, 1, shop.wh_a, "3")
    # when fulfilments are created again
    created = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    # then the uncovered 3 go into a second fulfilment
    assert len(created) == 1
    assert fulfilment_rows(sales) == [
        ("A", "pending", [(1, D("2"), D("0"))]),
        ("A", "pending", [(1, D("3"), D("0"))]),
    ]


def test_after_a_cancel_and_new_allocation_a_new_fulfilment_is_created(tenant, seller):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "2")])
    allocate(sales, 1, shop.wh_a, "2")
    (first,) = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    fulfilment_cancel(tenant=tenant, actor=seller, fulfilment_id=first.pk)
    # the canceled fulfilment released its allocation: nothing left to cover
    assert fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk) == []
    allocate(sales, 1, shop.wh_b, "2")
    created = fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    assert [f.warehouse.code for f in created] == ["B"]
    assert allocation_rows(sales) == [(1, "A", D("2"), RELEASED), (1, "B", D("2"), ACTIVE)]


def test_an_order_without_allocations_gets_no_fulfilment(tenant, seller):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "2")])
    assert fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk) == []
    assert fulfilment_rows(sales) == []
    assert journal(sales) == []


@pytest.mark.parametrize("status", ["held", "canceled", "completed", "pending"])
def test_an_order_that_is_not_open_is_refused(tenant, seller, status):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "2")], status=status)
    allocate(sales, 1, shop.wh_a, "2")
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed):
        fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    assert snapshot(sales) == before


def test_another_tenants_order_is_not_found(tenant, other_tenant, seller):
    shop = shop_make(other_tenant)
    sales = sales_order_make(tenant=other_tenant, lines=[(shop.p1, "1", "1.00")])
    allocate(sales, 1, shop.wh_a, "1")
    before = snapshot(sales)
    with pytest.raises(NotFound):
        fulfilments_create_for_order(tenant=tenant, actor=seller, sales_order_id=sales.pk)
    assert snapshot(sales) == before
