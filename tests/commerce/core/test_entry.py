from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import ChannelKind, FxRate, SalesOrderLine
from commerce.services.entry import client_order_id_for, sales_order_create
from oms_site.errors import IdempotencyConflict, ValidationFailed
from orders.models import EventKind, OrderEvent, OrderStatus
from tests.commerce.core.helpers import BERLIN, commerce_snapshot, warehouse_in
from tests.commerce.factories import (
    AddressFactory,
    ChannelFactory,
    CustomerFactory,
    ProductFactory,
    ProductPriceFactory,
    StockFactory,
)

pytestmark = pytest.mark.django_db


def _create(tenant: Any, actor: Any, channel: Any, **kw: Any) -> Any:
    kw.setdefault("external_id", "A-1")
    kw.setdefault("currency", "USD")
    kw.setdefault("shipping_address", BERLIN)
    return sales_order_create(tenant=tenant, actor=actor, channel=channel, **kw)


def test_create_computes_totals_server_side(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant, currency="USD")
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")

    created = _create(
        tenant,
        seller,
        channel,
        lines=[
            {"sku": "A", "quantity": "2", "unit_price": "10.005", "tax": "3.80", "discount": "1"},
            {"sku": "B", "quantity": 1, "unit_price": "5"},
        ],
        shipping_total="4.90",
    )

    sales = created.order.sales
    assert created.created is True
    assert created.order.status == OrderStatus.OPEN
    assert created.order.client_order_id == f"{channel.code}:A-1"
    assert (sales.subtotal, sales.discount_total, sales.tax_total, sales.grand_total) == (
        Decimal("25.0100"),
        Decimal("1.0000"),
        Decimal("3.8000"),
        Decimal("32.7100"),
    )
    lines = SalesOrderLine.objects.for_tenant(tenant).filter(sales_order=sales).order_by("line_no")
    assert [(line.sku, line.total) for line in lines] == [
        ("A", Decimal("22.8100")),
        ("B", Decimal("5.0000")),
    ]
    assert (a.pk, b.pk) == (lines[0].product_id, lines[1].product_id)


def test_ship_coordinates_come_from_the_gazetteer(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=tenant, sku="A")

    sales = _create(tenant, seller, channel, lines=[{"sku": "A", "quantity": 1, "unit_price": 1}])

    got = sales.order.sales
    assert (got.ship_city, got.ship_latitude, got.ship_longitude) == (
        "Berlin",
        Decimal("52.524370"),
        Decimal("13.410530"),
    )


def test_base_currency_total_uses_the_rate_of_the_day(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant, currency="EUR")
    ProductFactory(tenant=tenant, sku="A")
    FxRate.objects.create(
        tenant=tenant,
        date=date(2020, 1, 1),
        from_currency="EUR",
        to_currency="USD",
        rate=Decimal("1.1"),
    )

    created = _create(
        tenant,
        seller,
        channel,
        currency="EUR",
        lines=[{"sku": "A", "quantity": 3, "unit_price": "10"}],
    )

    sales = created.order.sales
    assert (sales.base_currency, sales.fx_rate, sales.grand_total_base) == (
        "USD",
        Decimal("1.1"),
        Decimal("33.0000"),
    )


def test_list_price_is_used_when_unit_price_is_left_out(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant)
    product = ProductFactory(tenant=tenant, sku="A")
    ProductPriceFactory(tenant=tenant, product=product, currency="USD", amount=Decimal("7.50"))

    sales = _create(tenant, seller, channel, lines=[{"sku": "A", "quantity": 2}]).order.sales

    assert sales.grand_total == Decimal("15.0000")


def test_replay_answers_the_stored_order_and_a_changed_one_conflicts(
    tenant: Any, seller: Any
) -> None:
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=tenant, sku="A")
    lines = [{"sku": "A", "quantity": 1, "unit_price": "10"}]
    first = _create(tenant, seller, channel, lines=lines)
    before = commerce_snapshot()

    again = _create(tenant, seller, channel, lines=lines)
    with pytest.raises(IdempotencyConflict) as exc:
        _create(tenant, seller, channel, lines=[{"sku": "A", "quantity": 2, "unit_price": "10"}])

    assert (again.created, again.order.pk) == (False, first.order.pk)
    assert list(exc.value.errors) == ["lines"]
    assert commerce_snapshot() == before


def test_long_external_ids_get_a_hashed_client_order_id(tenant: Any) -> None:
    channel = ChannelFactory(tenant=tenant, code="AMZ")

    key = client_order_id_for(channel, "x" * 128)

    assert len(key) == 64
    assert key.startswith("AMZ:#")
    assert key == client_order_id_for(channel, "x" * 128)


BAD_INPUT = [
    ({"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": 1}]}, "lines[0].sku"),
    ({"lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": "-1", "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": "1.0001", "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": "abc", "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": "NaN", "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": True, "unit_price": 1}]}, "lines[0].quantity"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "-1"}]}, "lines[0].unit_price"),
    ({"lines": [{"sku": "A", "quantity": 1}]}, "lines[0].unit_price"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1, "discount": 2}]}, "lines[0].discount"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1, "tax": "-0.01"}]}, "lines[0].tax"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1, "colour": "red"}]}, "lines[0].colour"),
    (
        {
            "lines": [
                {"sku": "A", "quantity": 1, "unit_price": 1},
                {"sku": "A", "quantity": 1, "unit_price": "1e20"},
            ]
        },
        "lines[1].unit_price",
    ),
    ({"lines": []}, "lines"),
    ({"lines": "A"}, "lines"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "usd"}, "currency"),
    ({"currency": "EUR"}, "currency"),  # the channel sells in USD
    ({"shipping_address": None}, "shipping_address"),
    (
        {"shipping_address": {"line1": "x", "city": "Atlantis", "country": "DE"}},
        "shipping_address.city",
    ),
    (
        {"shipping_address": {"line1": "x", "city": "Berlin", "country": "XX"}},
        "shipping_address.country",
    ),
    ({"shipping_address": {"city": "Berlin", "country": "DE"}}, "shipping_address.line1"),
    (
        {"shipping_address": {**BERLIN, "latitude": "91", "longitude": "0"}},
        "shipping_address.latitude",
    ),
    ({"shipping_address": {**BERLIN, "latitude": "50"}}, "shipping_address.longitude"),
    ({"shipping_address": {**BERLIN, "street": "x"}}, "shipping_address.street"),
    ({"shipping_total": "-1"}, "shipping_total"),
    ({"external_id": ""}, "external_id"),
    ({"billing_country": "ZZ"}, "billing_country"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INPUT)
def test_bad_input_names_the_field_and_stores_nothing(
    tenant: Any, seller: Any, change: dict[str, Any], field: str
) -> None:
    channel = ChannelFactory(tenant=tenant, currency="USD")
    ProductFactory(tenant=tenant, sku="A")
    before = commerce_snapshot()
    kw: dict[str, Any] = {"lines": [{"sku": "A", "quantity": 1, "unit_price": "1"}], **change}

    with pytest.raises(ValidationFailed) as exc:
        _create(tenant, seller, channel, **kw)

    assert field in exc.value.errors
    assert commerce_snapshot() == before


def test_missing_fx_rate_names_currency(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant, currency="")
    ProductFactory(tenant=tenant, sku="A")
    before = commerce_snapshot()

    with pytest.raises(ValidationFailed) as exc:
        _create(
            tenant,
            seller,
            channel,
            currency="EUR",
            lines=[{"sku": "A", "quantity": 1, "unit_price": 1}],
        )

    assert list(exc.value.errors) == ["currency"]
    assert commerce_snapshot() == before


def test_other_tenants_sku_is_unknown(tenant: Any, other_tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=other_tenant, sku="THEIRS")

    with pytest.raises(ValidationFailed) as exc:
        _create(tenant, seller, channel, lines=[{"sku": "THEIRS", "quantity": 1, "unit_price": 1}])

    assert exc.value.errors == {"lines[0].sku": ["Unknown SKU THEIRS."]}


def test_pos_order_defaults_to_the_store_address(tenant: Any, seller: Any) -> None:
    store = warehouse_in(tenant, "Hamburg", code="STORE-HH", is_store=True)
    channel = ChannelFactory(tenant=tenant, kind=ChannelKind.POS, store=store)
    StockFactory(tenant=tenant, warehouse=store, product=ProductFactory(tenant=tenant, sku="A"))

    sales = _create(
        tenant,
        seller,
        channel,
        shipping_address=None,
        lines=[{"sku": "A", "quantity": 1, "unit_price": 1}],
    ).order.sales

    assert (sales.ship_city, sales.ship_latitude) == ("Hamburg", store.latitude)


def test_pos_channel_without_store_is_refused(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant, kind=ChannelKind.POS)
    ProductFactory(tenant=tenant, sku="A")

    with pytest.raises(ValidationFailed) as exc:
        _create(tenant, seller, channel, lines=[{"sku": "A", "quantity": 1, "unit_price": 1}])

    assert "channel" in exc.value.errors


def test_customer_address_is_snapshotted(tenant: Any, seller: Any) -> None:
    customer = CustomerFactory(tenant=tenant)
    address = AddressFactory(
        tenant=tenant, customer=customer, city="Munich", latitude=None, longitude=None
    )
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=tenant, sku="A")

    sales = _create(
        tenant,
        seller,
        channel,
        customer=customer,
        shipping_address=address,
        lines=[{"sku": "A", "quantity": 1, "unit_price": 1}],
    ).order.sales

    assert (sales.customer_id, sales.ship_city, sales.ship_latitude) == (
        customer.pk,
        "Munich",
        Decimal("48.137430"),
    )


def test_exchange_order_links_and_journals_on_the_original(tenant: Any, seller: Any) -> None:
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=tenant, sku="A")
    line = [{"sku": "A", "quantity": 1, "unit_price": 1}]
    original = _create(tenant, seller, channel, lines=line).order.sales

    replacement = _create(
        tenant, seller, channel, external_id="A-1-X", lines=line, exchange_of=original
    ).order.sales

    assert replacement.exchange_of_id == original.pk
    event = OrderEvent.objects.for_tenant(tenant).get(
        order_id=original.pk, kind=EventKind.EXCHANGE_CREATED
    )
    assert event.data == {
        "exchange_order_id": replacement.pk,
        "exchange_reference": replacement.order.reference,
    }


def test_a_role_without_sales_entry_is_refused(tenant: Any) -> None:
    from oms_site.errors import PermissionDenied
    from tests.conftest import member

    viewer = member(tenant, "trader", username="alpha.t")
    channel = ChannelFactory(tenant=tenant)
    ProductFactory(tenant=tenant, sku="A")

    with pytest.raises(PermissionDenied):
        _create(tenant, viewer, channel, lines=[{"sku": "A", "quantity": 1, "unit_price": 1}])


@pytest.fixture
def tokyo_day_rates(tenant: Any) -> Any:
    """A tenant in Tokyo (UTC+9) and one EUR rate per day: 23:30 UTC on 1 March is already
    08:30 on 2 March there."""
    tenant.timezone = "Asia/Tokyo"
    tenant.save(update_fields=["timezone"])
    for day, rate in ((date(2024, 3, 1), "1.10"), (date(2024, 3, 2), "1.20")):
        FxRate.objects.create(
            tenant=tenant, date=day, from_currency="EUR", to_currency="USD", rate=Decimal(rate)
        )
    ProductFactory(tenant=tenant, sku="A")
    return ChannelFactory(tenant=tenant, currency="EUR")


def test_fx_day_of_a_placed_order_is_the_tenants_business_day(
    tenant: Any, seller: Any, tokyo_day_rates: Any
) -> None:
    created = _create(
        tenant,
        seller,
        tokyo_day_rates,
        currency="EUR",
        lines=[{"sku": "A", "quantity": 1, "unit_price": "10"}],
        placed_at=datetime(2024, 3, 1, 23, 30, tzinfo=UTC),
    )

    sales = created.order.sales
    assert (sales.placed_at, sales.fx_rate, sales.grand_total_base) == (
        datetime(2024, 3, 1, 23, 30, tzinfo=UTC),
        Decimal("1.20"),
        Decimal("12.0000"),
    )


def test_fx_day_of_an_order_entered_now_is_the_tenants_business_day(
    tenant: Any, seller: Any, tokyo_day_rates: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: datetime(2024, 3, 1, 23, 30, tzinfo=UTC))

    created = _create(
        tenant,
        seller,
        tokyo_day_rates,
        currency="EUR",
        lines=[{"sku": "A", "quantity": 1, "unit_price": "10"}],
    )

    sales = created.order.sales
    assert (sales.placed_at, sales.fx_rate) == (
        datetime(2024, 3, 1, 23, 30, tzinfo=UTC),
        Decimal("1.20"),
    )


def test_same_external_id_on_two_channels_is_two_orders(tenant: Any, seller: Any) -> None:
    ProductFactory(tenant=tenant, sku="A")
    lines = [{"sku": "A", "quantity": 1, "unit_price": "10"}]
    shop = ChannelFactory(tenant=tenant, code="a")
    market = ChannelFactory(tenant=tenant, code="a-b")

    first = _create(tenant, seller, shop, external_id="b:c", lines=lines)
    second = _create(tenant, seller, market, external_id="b:c", lines=lines)

    assert (first.created, second.created) == (True, True)
    assert (first.order.client_order_id, second.order.client_order_id) == ("a:b:c", "a-b:b:c")
    assert first.order.pk != second.order.pk


def test_an_order_with_nothing_to_pay_is_paid_from_its_creation(tenant: Any, seller: Any) -> None:
    # given a line discounted to nothing, and an ordinary line
    channel = ChannelFactory(tenant=tenant, currency="USD")
    ProductFactory(tenant=tenant, sku="FREE")
    ProductFactory(tenant=tenant, sku="PAID")
    # when each is entered as an order
    free = _create(
        tenant,
        seller,
        channel,
        lines=[{"sku": "FREE", "quantity": "1", "unit_price": "9.99", "discount": "9.99"}],
    )
    owed = _create(
        tenant,
        seller,
        channel,
        external_id="A-2",
        lines=[{"sku": "PAID", "quantity": "1", "unit_price": "9.99"}],
    )
    # then the free one is paid at once with no payment, the other one is unpaid
    assert (free.order.sales.grand_total, free.order.sales.payment_status) == (
        Decimal("0.0000"),
        "paid",
    )
    assert not free.order.sales.payments.exists()
    assert (owed.order.sales.grand_total, owed.order.sales.payment_status) == (
        Decimal("9.9900"),
        "unpaid",
    )
