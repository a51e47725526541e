"""Point of sale: paid and handed over at the store in the entry transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commerce.models import (
    ChannelKind,
    Fulfilment,
    FulfilmentStatus,
    Invoice,
    Payment,
    PaymentStatus,
    Stock,
)
from commerce.services.entry import sales_order_create
from oms_site.errors import Conflict
from orders.models import EventKind, OrderEvent
from tests.commerce.core.helpers import commerce_snapshot, order_enter, stock_of, warehouse_in
from tests.commerce.factories import ChannelFactory, ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _till(tenant: Any) -> tuple[Any, Any, Any]:
    store = warehouse_in(tenant, "Hamburg", code="STORE", is_store=True)
    channel = ChannelFactory(tenant=tenant, kind=ChannelKind.POS, store=store)
    return store, channel, ProductFactory(tenant=tenant, sku="A")


def test_a_pos_sale_is_paid_and_handed_over_at_once(tenant: Any, seller: Any) -> None:
    # given a store with 3 units
    store, channel, product = _till(tenant)
    stock_of(tenant, store, product, 3)
    # when the till sells 2 at 10.00
    sales = order_enter(tenant, seller, channel=channel, lines=[(product, 2)], ship=None)
    # then the order is done: handed over, paid, invoiced, the stock reduced
    sales.refresh_from_db()
    assert (sales.order.status, sales.payment_status, sales.fulfilment_status) == (
        "completed",
        PaymentStatus.PAID,
        FulfilmentStatus.DELIVERED,
    )
    fulfilment = Fulfilment.objects.for_tenant(tenant).get()
    assert (fulfilment.warehouse_id, fulfilment.state, fulfilment.carrier) == (
        store.pk,
        "delivered",
        "handover",
    )
    payment = Payment.objects.for_tenant(tenant).get()
    assert (payment.method, payment.authorized, payment.captured) == ("pos", D("20"), D("20"))
    invoice = Invoice.objects.for_tenant(tenant).get()
    assert (invoice.kind, invoice.total) == ("invoice", D("20"))
    stock = Stock.objects.for_tenant(tenant).get()
    assert (stock.on_hand, stock.allocated, stock.reserved) == (D(1), D(0), D(0))
    kinds = list(
        OrderEvent.objects.for_tenant(tenant)
        .filter(order_id=sales.pk)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    for kind in (EventKind.ALLOCATED, EventKind.SHIPPED, EventKind.DELIVERED, EventKind.PAYMENT):
        assert kind in kinds


def test_a_pos_sale_the_store_cannot_cover_is_refused_and_stores_nothing(
    tenant: Any, seller: Any
) -> None:
    # given a store with 1 unit
    store, channel, product = _till(tenant)
    stock_of(tenant, store, product, 1)
    before = commerce_snapshot()
    # when the till tries to sell 2
    with pytest.raises(Conflict) as refused:
        order_enter(tenant, seller, channel=channel, lines=[(product, 2)], ship=None)
    # then it is refused and nothing is stored
    assert refused.value.as_dict()["detail"] == (
        "The store does not have every line of this sale in stock."
    )
    assert commerce_snapshot() == before
    assert (
        Payment.objects.for_tenant(tenant).count(),
        Invoice.objects.for_tenant(tenant).count(),
    ) == (0, 0)
    assert Stock.objects.for_tenant(tenant).get().on_hand == D(1)


def test_a_zero_total_pos_sale_is_paid_without_a_payment(tenant: Any, seller: Any) -> None:
    # given a store with 3 units
    store, channel, product = _till(tenant)
    stock_of(tenant, store, product, 3)
    # when the till hands over 1 for free (a giveaway: unit price 0)
    sales = sales_order_create(
        tenant=tenant,
        actor=seller,
        channel=channel,
        external_id="GIFT-1",
        currency="USD",
        lines=[{"sku": product.sku, "quantity": "1", "unit_price": "0"}],
        shipping_address=None,
    ).order.sales
    # then nothing is owed: the sale is completed, paid and delivered, with no payment taken
    sales.refresh_from_db()
    assert (sales.grand_total, sales.order.status, sales.payment_status) == (
        D("0"),
        "completed",
        PaymentStatus.PAID,
    )
    assert sales.fulfilment_status == FulfilmentStatus.DELIVERED
    assert (
        Payment.objects.for_tenant(tenant).count(),
        Invoice.objects.for_tenant(tenant).count(),
    ) == (0, 0)
    stock = Stock.objects.for_tenant(tenant).get()
    assert (stock.on_hand, stock.allocated, stock.reserved) == (D(2), D(0), D(0))
