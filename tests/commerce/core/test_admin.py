from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages

from commerce.models import (
    Address,
    Allocation,
    AllocationState,
    Product,
    ProductPrice,
    Warehouse,
)
from commerce.services.allocation import sales_order_route
from orders.models import OrderStatus
from tests.commerce.core.helpers import (
    allocations_of,
    order_enter,
    rows_snapshot,
    stock_of,
    stock_state,
    warehouse_in,
)
from tests.commerce.factories import ProductFactory
from tests.conftest import admin_client_for, member

pytestmark = pytest.mark.django_db
ADMIN = "/admin/commerce"


def notes(response: Any) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


@pytest.fixture
def staff(seller: Any) -> Any:
    return admin_client_for(seller)


@pytest.mark.parametrize("model", ["product", "customer", "warehouse", "stock", "salesorder"])
def test_changelists_load(staff: Any, tenant: Any, seller: Any, model: str) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), product, 2)
    order_enter(tenant, seller, lines=[(product, 1)])

    response = staff.get(f"{ADMIN}/{model}/")

    assert response.status_code == 200


def test_inbox_lists_only_the_working_tenants_orders(
    staff: Any, tenant: Any, other_tenant: Any, seller: Any
) -> None:
    mine = order_enter(tenant, seller, lines=[(ProductFactory(tenant=tenant, sku="A"), 1)])
    theirs_user = member(other_tenant, "seller", username="beta.s")
    theirs = order_enter(
        other_tenant, theirs_user, lines=[(ProductFactory(tenant=other_tenant, sku="A"), 1)]
    )

    listed = staff.get(f"{ADMIN}/salesorder/")
    foreign = staff.get(f"{ADMIN}/salesorder/{theirs.pk}/change/")

    assert [s.pk for s in listed.context["cl"].result_list] == [mine.pk]
    assert foreign.status_code == 404


def test_product_with_prices_inline(staff: Any, tenant: Any) -> None:
    response = staff.post(
        f"{ADMIN}/product/add/",
        {
            "sku": "MUG",
            "name": "Mug",
            "weight_kg": "0.3",
            "lead_time_days": "4",
            "active": "on",
            "prices-TOTAL_FORMS": "1",
            "prices-INITIAL_FORMS": "0",
            "prices-0-currency": "EUR",
            "prices-0-amount": "9.90",
        },
    )

    assert response.status_code == 302
    product = Product.objects.for_tenant(tenant).get(sku="MUG")
    assert list(
        ProductPrice.objects.for_tenant(tenant)
        .filter(product=product)
        .values_list("currency", "amount")
    ) == [("EUR", Decimal("9.9000"))]


def test_warehouse_add_geocodes_or_refuses(operations: Any, tenant: Any) -> None:
    client = admin_client_for(operations)
    form = {
        "code": "LYS",
        "name": "Lyon",
        "city": "Lyon",
        "country": "FR",
        "priority": "10",
        "daily_capacity": "100",
        "active": "on",
    }

    ok = client.post(f"{ADMIN}/warehouse/add/", form)
    bad = client.post(f"{ADMIN}/warehouse/add/", {**form, "code": "X", "city": "Atlantis"})

    assert ok.status_code == 302
    warehouse = Warehouse.objects.for_tenant(tenant).get(code="LYS")
    assert warehouse.latitude is not None
    assert bad.status_code == 200
    assert "city" in bad.context["adminform"].form.errors
    assert Warehouse.objects.for_tenant(tenant).count() == 1


def test_order_page_buttons_cancel_and_move(staff: Any, tenant: Any, seller: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, product, 5)
    stock_of(tenant, munich, product, 5)
    sales = order_enter(tenant, seller, lines=[(product, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    allocation = Allocation.objects.for_tenant(tenant).get()

    page = staff.get(f"{ADMIN}/salesorder/{sales.pk}/change/")
    moved = staff.post(
        f"{ADMIN}/salesorder/{sales.pk}/move/",
        {"allocation": allocation.pk, "warehouse": munich.pk, "reason": "closer to the carrier"},
        follow=True,
    )
    canceled = staff.post(
        f"{ADMIN}/salesorder/{sales.pk}/transition/cancel/", {"reason": "fraud"}, follow=True
    )

    assert b"Move allocation" in page.content
    assert notes(moved)[-1].endswith("allocation moved.")
    assert notes(canceled)[-1].endswith("cancel done.")
    sales.order.refresh_from_db()
    assert sales.order.status == OrderStatus.CANCELED
    assert allocations_of(sales) == [(1, "MUN", Decimal("2.000"), "released")]
    assert stock_state(tenant) == [
        ("BER", "A", Decimal("5.000"), Decimal("0.000"), Decimal("0")),
        ("MUN", "A", Decimal("5.000"), Decimal("0.000"), Decimal("0")),
    ]


def test_move_refusal_is_a_message_not_an_error(staff: Any, tenant: Any, seller: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    stock_of(tenant, berlin, product, 5)
    sales = order_enter(tenant, seller, lines=[(product, 2)])
    sales_order_route(tenant_id=tenant.pk, order_id=sales.pk)
    allocation = Allocation.objects.for_tenant(tenant).get()

    response = staff.post(
        f"{ADMIN}/salesorder/{sales.pk}/move/",
        {"allocation": allocation.pk, "warehouse": munich.pk},
        follow=True,
    )

    assert response.status_code == 200
    assert notes(response)[-1].startswith("Move refused:")
    assert allocations_of(sales) == [(1, "BER", Decimal("2.000"), "active")]


def test_route_selected_action(staff: Any, tenant: Any, seller: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    stock_of(tenant, warehouse_in(tenant, "Berlin"), product, 5)
    sales = order_enter(tenant, seller, lines=[(product, 2)])

    staff.post(
        f"{ADMIN}/salesorder/",
        {"action": "route_selected", "_selected_action": [sales.pk]},
    )

    sales.refresh_from_db()
    assert sales.allocation_state == AllocationState.ALLOCATED


def test_product_change_page_shows_its_prices(staff: Any, tenant: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="A")
    ProductPrice.objects.create(tenant=tenant, product=product, currency="USD", amount=Decimal("3"))

    response = staff.get(f"{ADMIN}/product/{product.pk}/change/")

    assert response.status_code == 200
    assert b'value="USD"' in response.content


def _product_form(**fields: Any) -> dict[str, Any]:
    return {
        "sku": "MUG",
        "name": "Mug",
        "weight_kg": "0.3",
        "lead_time_days": "4",
        "active": "on",
        "prices-TOTAL_FORMS": "2",
        "prices-INITIAL_FORMS": "0",
        "prices-0-currency": "EUR",
        "prices-0-amount": "9.90",
        "prices-1-currency": "EUR",
        "prices-1-amount": "8.90",
        **fields,
    }


def _prices_errors(response: Any) -> tuple[list[Any], list[str]]:
    formset = response.context["inline_admin_formsets"][0].formset
    return formset.errors, list(formset.non_form_errors())


def test_two_new_prices_in_one_currency_are_a_form_error(staff: Any, tenant: Any) -> None:
    response = staff.post(f"{ADMIN}/product/add/", _product_form())

    assert response.status_code == 200
    assert _prices_errors(response) == (
        [{}, {"__all__": ["Please correct the duplicate values below."]}],
        ["Please correct the duplicate data for currency."],
    )
    assert Product.objects.for_tenant(tenant).count() == 0
    assert ProductPrice.objects.for_tenant(tenant).count() == 0


def test_a_new_price_in_a_currency_the_product_has_is_a_form_error(staff: Any, tenant: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="MUG", name="Mug")
    price = ProductPrice.objects.create(
        tenant=tenant, product=product, currency="EUR", amount=Decimal("9.90")
    )
    before = rows_snapshot(tenant)

    response = staff.post(
        f"{ADMIN}/product/{product.pk}/change/",
        _product_form(
            **{
                "prices-INITIAL_FORMS": "1",
                "prices-0-id": str(price.pk),
                "prices-0-product": str(product.pk),
                "name": "Big mug",
            }
        ),
    )

    assert response.status_code == 200
    assert _prices_errors(response) == (
        [{}, {"currency": ["Product price with this currency exists."]}],
        [],
    )
    assert rows_snapshot(tenant) == before


def test_a_price_in_a_currency_stored_in_another_row_is_a_form_error(
    staff: Any, tenant: Any
) -> None:
    product = ProductFactory(tenant=tenant, sku="MUG", name="Mug")
    price = ProductPrice.objects.create(
        tenant=tenant, product=product, currency="EUR", amount=Decimal("9.90")
    )
    before = rows_snapshot(tenant)

    response = staff.post(
        f"{ADMIN}/product/{product.pk}/change/",
        _product_form(
            **{
                "prices-TOTAL_FORMS": "1",
                "prices-INITIAL_FORMS": "0",
                "prices-0-product": str(product.pk),
            }
        ),
    )

    assert response.status_code == 200
    assert _prices_errors(response) == (
        [{"currency": ["Product price with this currency exists."]}],
        [],
    )
    assert rows_snapshot(tenant) == before
    assert price.pk == ProductPrice.objects.for_tenant(tenant).get().pk


def test_product_change_updates_its_price_rows(staff: Any, tenant: Any) -> None:
    product = ProductFactory(tenant=tenant, sku="MUG", name="Mug")
    price = ProductPrice.objects.create(
        tenant=tenant, product=product, currency="EUR", amount=Decimal("9.90")
    )

    response = staff.post(
        f"{ADMIN}/product/{product.pk}/change/",
        _product_form(
            **{
                "prices-INITIAL_FORMS": "1",
                "prices-0-id": str(price.pk),
                "prices-0-product": str(product.pk),
                "prices-0-amount": "12.00",
                "prices-1-currency": "USD",
            }
        ),
    )

    assert response.status_code == 302
    assert list(
        ProductPrice.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("pk", "currency", "amount")
    ) == [(price.pk, "EUR", Decimal("12.0000")), (price.pk + 1, "USD", Decimal("8.9000"))]


WAREHOUSE_FORM = {
    "code": "LYS",
    "name": "Lyon",
    "city": "Lyon",
    "country": "FR",
    "priority": "10",
    "daily_capacity": "100",
    "active": "on",
}


@pytest.mark.parametrize(
    ("given", "missing"),
    [({"latitude": "45.75"}, "longitude"), ({"longitude": "4.85"}, "latitude")],
)
def test_warehouse_with_one_coordinate_is_a_form_error_naming_the_other(
    operations: Any, tenant: Any, given: dict[str, str], missing: str
) -> None:
    client = admin_client_for(operations)
    before = rows_snapshot(tenant)

    response = client.post(f"{ADMIN}/warehouse/add/", {**WAREHOUSE_FORM, **given})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        missing: ["Give both latitude and longitude, or neither."]
    }
    assert rows_snapshot(tenant) == before


def test_warehouse_change_to_one_coordinate_is_a_form_error(operations: Any, tenant: Any) -> None:
    client = admin_client_for(operations)
    warehouse = warehouse_in(tenant, "Berlin", code="BER")
    before = rows_snapshot(tenant)

    response = client.post(
        f"{ADMIN}/warehouse/{warehouse.pk}/change/",
        {**WAREHOUSE_FORM, "code": "BER", "city": "Berlin", "country": "DE", "latitude": "52.5"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "longitude": ["Give both latitude and longitude, or neither."]
    }
    assert rows_snapshot(tenant) == before


def test_customer_address_with_one_coordinate_is_a_form_error(staff: Any, tenant: Any) -> None:
    before = rows_snapshot(tenant)

    response = staff.post(
        f"{ADMIN}/customer/add/",
        {
            "name": "Ada",
            "email": "ada@example.com",
            "country": "GB",
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-line1": "1 Strand",
            "addresses-0-city": "London",
            "addresses-0-country": "GB",
            "addresses-0-latitude": "51.5",
        },
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors == [{"longitude": ["Give both latitude and longitude, or neither."]}]
    assert rows_snapshot(tenant) == before


def test_customer_address_without_coordinates_gets_them_or_stays_unlocated(
    staff: Any, tenant: Any
) -> None:
    response = staff.post(
        f"{ADMIN}/customer/add/",
        {
            "name": "Ada",
            "email": "ada@example.com",
            "country": "GB",
            "addresses-TOTAL_FORMS": "2",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-line1": "1 Strand",
            "addresses-0-city": "London",
            "addresses-0-country": "GB",
            "addresses-1-line1": "1 Main St",
            "addresses-1-city": "Atlantis",
            "addresses-1-country": "GB",
        },
    )

    assert response.status_code == 302
    assert list(
        Address.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("city", "latitude", "longitude")
    ) == [("London", Decimal("51.508530"), Decimal("-0.125740")), ("Atlantis", None, None)]
