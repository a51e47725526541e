"""The admin order inbox: orders of every channel of the working tenant, with their external
id and marketplace status shown, and the channel filter and search narrowing them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.commerce.core.admin_rows import changelist_rows
from tests.commerce.factories import ChannelFactory, ProductFactory, sales_order_make
from tests.conftest import admin_client_for, member

pytestmark = pytest.mark.django_db
INBOX = "/admin/commerce/salesorder/"
COLUMNS = ("reference", "channel", "external_id", "marketplace_status", "status_label")


def _rows(response: Any) -> list[tuple[str, ...]]:
    return changelist_rows(response, COLUMNS)


@pytest.fixture
def staff(seller: Any) -> Any:
    return admin_client_for(seller)


@pytest.fixture
def orders(tenant: Any, other_tenant: Any) -> dict[str, Any]:
    """One order per channel kind of the working tenant, and another tenant's marketplace
    order whose channel code and external id look like ours."""
    product = ProductFactory(tenant=tenant, sku="A")
    channels = {
        "pos": ChannelFactory(tenant=tenant, code="TILL", kind="pos"),
        "web": ChannelFactory(tenant=tenant, code="WEB", kind="web"),
        "amazon": ChannelFactory(tenant=tenant, code="AMZ", kind="amazon"),
        "ebay": ChannelFactory(tenant=tenant, code="EBAY", kind="ebay"),
    }
    made = {
        "pos": sales_order_make(
            tenant=tenant, lines=[(product, 1, "5")], channel=channels["pos"], external_id="R-17"
        ),
        "web": sales_order_make(
            tenant=tenant, lines=[(product, 1, "5")], channel=channels["web"], external_id="W-9"
        ),
        "amazon": sales_order_make(
            tenant=tenant,
            lines=[(product, 1, "5")],
            channel=channels["amazon"],
            external_id="112-3456789-0123456",
            marketplace_status="Unshipped",
        ),
        "ebay": sales_order_make(
            tenant=tenant,
            lines=[(product, 1, "5")],
            channel=channels["ebay"],
            external_id="12-34567-89012",
            marketplace_status="NOT_STARTED",
            status="canceled",
        ),
    }
    theirs = ChannelFactory(tenant=other_tenant, code="AMZ", kind="amazon")
    made["foreign"] = sales_order_make(
        tenant=other_tenant,
        lines=[(ProductFactory(tenant=other_tenant, sku="A"), 1, "5")],
        channel=theirs,
        external_id="112-9999999-0000000",
        marketplace_status="Shipped",
    )
    member(other_tenant, "seller", username="beta.seller")
    return made


def _row(sales: Any, channel: str, status: str) -> tuple[str, ...]:
    return (
        sales.order.reference,
        channel,
        sales.external_id,
        sales.marketplace_status or "-",
        status,
    )


def test_inbox_lists_every_channel_of_the_working_tenant_with_ids_and_marketplace_status(
    staff: Any, orders: dict[str, Any]
) -> None:
    # given orders of the till, the web shop, Amazon and eBay, and another tenant's order
    # when the inbox is opened
    response = staff.get(INBOX)

    # then the working tenant's four orders show, newest first, each with its external id and
    # marketplace status (blank ones as "-"); the other tenant's order does not
    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [
        orders[name].pk for name in ("ebay", "amazon", "web", "pos")
    ]
    assert _rows(response) == [
        _row(orders["ebay"], "EBAY", "Canceled"),
        _row(orders["amazon"], "AMZ", "Open"),
        _row(orders["web"], "WEB", "Open"),
        _row(orders["pos"], "TILL", "Open"),
    ]
    assert b"112-9999999-0000000" not in response.content


def test_inbox_channel_filter_offers_and_applies_the_working_tenants_channels(
    staff: Any, orders: dict[str, Any]
) -> None:
    # given the orders above
    amazon = orders["amazon"].channel

    # when the inbox is filtered by the Amazon channel, then by another tenant's channel id
    page = staff.get(INBOX)
    filtered = staff.get(INBOX, {"channel__id__exact": amazon.pk})
    foreign = staff.get(INBOX, {"channel__id__exact": orders["foreign"].channel_id})

    # then the filter offers only our channels, picks only the Amazon order, and another
    # tenant's channel selects nothing
    (channel_filter,) = [
        f for f in page.context["cl"].filter_specs if getattr(f, "field_path", "") == "channel"
    ]
    assert [label for _pk, label in channel_filter.lookup_choices] == [
        "AMZ",
        "EBAY",
        "TILL",
        "WEB",
    ]
    assert [s.pk for s in filtered.context["cl"].result_list] == [orders["amazon"].pk]
    assert _rows(filtered) == [_row(orders["amazon"], "AMZ", "Open")]
    assert foreign.status_code == 200
    assert list(foreign.context["cl"].result_list) == []


def test_inbox_search_finds_an_order_by_its_external_id_in_the_working_tenant_only(
    staff: Any, orders: dict[str, Any]
) -> None:
    # given the orders above
    # when staff search an Amazon order id of ours, then the other tenant's
    ours = staff.get(INBOX, {"q": "112-3456789-0123456"})
    theirs = staff.get(INBOX, {"q": "112-9999999-0000000"})

    # then ours is found alone and theirs not at all
    assert [s.pk for s in ours.context["cl"].result_list] == [orders["amazon"].pk]
    assert list(theirs.context["cl"].result_list) == []


def test_a_member_of_the_other_tenant_sees_only_its_order(orders: dict[str, Any]) -> None:
    # given the other tenant's seller
    theirs = admin_client_for(get_user_model().objects.get(username="beta.seller"))

    # when they open the inbox
    response = theirs.get(INBOX)

    # then only their own order shows, with its external id and marketplace status
    assert [s.pk for s in response.context["cl"].result_list] == [orders["foreign"].pk]
    assert _rows(response) == [_row(orders["foreign"], "AMZ", "Open")]
