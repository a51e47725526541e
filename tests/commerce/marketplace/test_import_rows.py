"""The set-based writer of the import (COPY on PostgreSQL, multi-row INSERT elsewhere)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.marketplaces.base import MarketLine, MarketOrder, MarketState
from commerce.models import SalesOrder
from commerce.services.marketplace_import import orders_upsert
from orders.models import Order, OrderEvent
from orders.screening import (
    Decision,
    Finding,
    Severity,
    screen_register,
    screen_unregister,
)
from tests.commerce.factories import ChannelFactory, ProductFactory

AWKWARD = "Tab\there, new\nline, back\\slash, \\N, quote ' \" é"


def market_order(external_id: str, **extra: Any) -> MarketOrder:
    when = timezone.now() - timedelta(minutes=5)
    return MarketOrder(
        external_id=external_id,
        state=MarketState.OPEN,
        marketplace_status="Unshipped",
        updated_at=when,
        placed_at=when,
        currency="USD",
        lines=(MarketLine("L1", "SKU-A", Decimal("2"), Decimal("3.25")),),
        **extra,
    )


def test_awkward_text_is_stored_exactly(tenant: Any) -> None:
    # given an order whose texts hold tabs, newlines, backslashes and COPY's null marker
    ProductFactory(tenant=tenant, sku="SKU-A")
    channel = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")
    order = market_order("A-1", ship_name=AWKWARD, ship_line1="\\", ship_city="")
    # when it is upserted
    with transaction.atomic():
        result = orders_upsert(tenant=tenant, channel=channel, orders=[order])
    # then it is stored with exactly those texts, and empty text stays empty (not NULL)
    assert result.created == 1
    sales = SalesOrder.objects.for_tenant(tenant).get(external_id="A-1")
    assert (sales.ship_name, sales.ship_line1, sales.ship_city) == (AWKWARD, "\\", "")
    assert sales.grand_total == Decimal("6.5000")


def test_a_constraint_violation_rolls_the_whole_page_back(tenant: Any) -> None:
    # given an order already imported through another path with the same client order id
    ProductFactory(tenant=tenant, sku="SKU-A")
    channel = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")
    with transaction.atomic():
        orders_upsert(tenant=tenant, channel=channel, orders=[market_order("A-1")])
    SalesOrder.objects.for_tenant(tenant).filter(external_id="A-1").update(external_id="moved")
    before = Order.objects.for_tenant(tenant).count()
    # when a page holding it again and a new order is upserted
    with pytest.raises(IntegrityError), transaction.atomic():
        orders_upsert(
            tenant=tenant, channel=channel, orders=[market_order("A-2"), market_order("A-1")]
        )
    # then the unique constraint refused it and nothing of the page was stored
    assert Order.objects.for_tenant(tenant).count() == before
    assert not SalesOrder.objects.for_tenant(tenant).filter(external_id="A-2").exists()


def test_screening_holds_and_rejects_imported_orders_and_journals_it_in_one_row(
    tenant: Any,
) -> None:
    # given a screen that holds one order and rejects another, and passes the third
    ProductFactory(tenant=tenant, sku="SKU-A")
    channel = ChannelFactory(tenant=tenant, code="AMZ", kind="amazon", currency="USD")
    seen: list[tuple[str, str]] = []

    def screen(order: Order) -> Decision:
        seen.append((order.client_order_id, order.status))
        external_id = order.client_order_id.rsplit(":", 1)[-1]
        if external_id == "H-1":
            return Decision(findings=(Finding("review", Severity.SOFT, "needs a review", {}),))
        if external_id == "R-1":
            return Decision(findings=(Finding("limit", Severity.HARD, "over the limit", {}),))
        return Decision()

    screen_register("test-import", screen, kinds=["sales"])
    try:
        # when a page of the three is upserted
        with transaction.atomic():
            result = orders_upsert(
                tenant=tenant,
                channel=channel,
                orders=[market_order("H-1"), market_order("R-1"), market_order("OK-1")],
            )
    finally:
        screen_unregister("test-import")
    # then each order was screened as submitted (pending) and ended in its outcome's status
    assert sorted(status for _, status in seen) == ["pending"] * 3
    status = {
        s.external_id: (s.order.status, s.order.status_reason)
        for s in SalesOrder.objects.for_tenant(tenant).select_related("order")
    }
    assert status == {
        "H-1": ("held", "review: needs a review"),
        "R-1": ("rejected", "limit: over the limit"),
        "OK-1": ("open", ""),
    }
    assert result.created == 3
    assert len(result.routed_order_ids) == 1
    # and each journal is one IMPORTED row into that status, carrying the decision
    rows = {
        e.order.client_order_id.rsplit(":", 1)[-1]: (e.kind, e.to_status, e.reason)
        for e in OrderEvent.objects.for_tenant(tenant).select_related("order")
    }
    assert rows == {
        "H-1": ("imported", "held", "review: needs a review"),
        "R-1": ("imported", "rejected", "limit: over the limit"),
        "OK-1": ("imported", "open", ""),
    }
