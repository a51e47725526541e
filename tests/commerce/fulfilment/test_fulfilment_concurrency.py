"""Races on PostgreSQL with real threads (each on its own connection, released together by a
barrier): one fulfilment shipped twice at once ships once; a ship racing a cancel does one."""

from __future__ import annotations

import pytest
from django.db import transaction

from commerce.services.fulfilment import (
    fulfilment_cancel,
    fulfilment_ship,
    fulfilments_create_for_order,
)
from oms_site.errors import TransitionNotAllowed
from tests.commerce.fulfilment.helpers import (
    ACTIVE,
    RELEASED,
    SHIPPED,
    D,
    allocate,
    allocation_rows,
    fresh,
    journal,
    order_status,
    shop_make,
    stock_rows,
)
from tests.orders.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _fulfilment(tenant):
    with transaction.atomic():  # the order factory locks the order row
        return _setup(tenant)


def _setup(tenant):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "4")])
    allocate(sales, 1, shop.wh_a, "4")
    (fulfilment,) = fulfilments_create_for_order(tenant=tenant, actor=None, sales_order_id=sales.pk)
    return sales, fulfilment


def test_shipping_the_same_fulfilment_twice_at_once_ships_once(tenant):
    sales, fulfilment = _fulfilment(tenant)
    # when four requests ship it at the same moment
    results = run_in_threads(
        4,
        lambda i: fulfilment_ship(
            tenant=tenant, actor=None, fulfilment_id=fulfilment.pk, carrier=f"C{i}"
        ),
    )
    # then exactly one shipped it; the others were refused as already shipped
    refused = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(refused) == 3
    assert {r.message for r in refused} == {"Cannot ship a fulfilment that is shipped."}
    assert stock_rows(tenant)[0] == ("A", "P1", D("6"), D("0"), D("0"))
    assert allocation_rows(sales) == [(1, "A", D("4"), SHIPPED)]
    assert order_status(sales) == ("completed", "fulfilled")
    assert [k for k, _, _ in journal(sales)].count("shipped") == 1
    assert fresh(fulfilment).state == "shipped"


def test_a_ship_racing_a_cancel_does_exactly_one(tenant):
    sales, fulfilment = _fulfilment(tenant)

    def work(i):
        if i == 0:
            return fulfilment_ship(
                tenant=tenant, actor=None, fulfilment_id=fulfilment.pk, carrier="UPS"
            )
        return fulfilment_cancel(tenant=tenant, actor=None, fulfilment_id=fulfilment.pk)

    results = run_in_threads(2, work)
    assert sum(isinstance(r, TransitionNotAllowed) for r in results) == 1
    state = fresh(fulfilment).state
    # shipped: the goods left; canceled: they were released, and the order, routed again
    # once the cancel committed, holds them again in A (the first of two equal warehouses)
    expected = {
        "shipped": (("A", "P1", D("6"), D("0"), D("0")), [(1, "A", D("4"), SHIPPED)]),
        "canceled": (
            ("A", "P1", D("10"), D("4"), D("0")),
            [(1, "A", D("4"), RELEASED), (1, "A", D("4"), ACTIVE)],
        ),
    }[state]
    assert (stock_rows(tenant)[0], allocation_rows(sales)) == expected
