from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from commerce.models import (
    Fulfilment,
    Payment,
    Refund,
    Reservation,
    Return,
    ReturnLine,
    SalesOrder,
    Stock,
)
from compliance.models import Locate, Override
from orders.models import Order, OrderEvent, OrderSequence
from tenancy.models import Membership, Tenant

EXPECTED_ROLES = {
    "acme.admin": ("acme-capital", "admin"),
    "acme.trader": ("acme-capital", "trader"),
    "acme.pm": ("acme-capital", "portfolio_manager"),
    "acme.compliance": ("acme-capital", "compliance_officer"),
    "acme.compliance2": ("acme-capital", "compliance_officer"),
    "acme.ops": ("acme-capital", "operations"),
    "globex.admin": ("globex-goods", "admin"),
    "globex.seller": ("globex-goods", "seller"),
    "globex.ops": ("globex-goods", "operations"),
    "globex.compliance": ("globex-goods", "compliance_officer"),
    "globex.compliance2": ("globex-goods", "compliance_officer"),
    "initech.admin": ("initech", "admin"),
}


def _snapshot() -> dict:
    user_model = get_user_model()
    reason = "test snapshot across tenants"
    return {
        "tenants": list(Tenant.objects.order_by("pk").values()),
        "users": list(user_model.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.all_tenants(reason=reason).order_by("pk").values()),
        "orders": list(Order.objects.all_tenants(reason=reason).order_by("pk").values()),
        "events": list(OrderEvent.objects.all_tenants(reason=reason).order_by("pk").values()),
        "sequences": list(OrderSequence.objects.all_tenants(reason=reason).order_by("pk").values()),
        **{
            model.__name__: list(model.objects.all_tenants(reason=reason).order_by("pk").values())
            for model in (
                Fulfilment,
                Payment,
                Return,
                ReturnLine,
                Refund,
                Reservation,
                Stock,
                Locate,
                Override,
            )
        },
    }


@pytest.mark.django_db
def test_seed_demo_creates_tenants_users_roles_and_orders(settings):
    # given a fresh database and a demo password
    settings.DEMO_PASSWORD = "s3cret-demo"
    # when
    call_command("seed_demo", stdout=io.StringIO())
    # then
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == [
        "acme-capital",
        "globex-goods",
        "initech",
    ]
    user_model = get_user_model()
    root = user_model.objects.get(username="root")
    assert root.is_superuser is True
    assert root.check_password("s3cret-demo") is True
    roles = {
        m.user.username: (m.tenant.slug, m.role)
        for m in Membership.objects.all_tenants(reason="test").select_related("user", "tenant")
    }
    assert roles == EXPECTED_ROLES
    for username in EXPECTED_ROLES:
        user = user_model.objects.get(username=username)
        assert user.is_staff is True
        assert user.check_password("s3cret-demo") is True
    references = sorted(
        Order.objects.all_tenants(reason="test").values_list("tenant__slug", "reference")
    )
    # acme: 3 demo trade orders + 11 of the planted surveillance history + the compliance demo's
    # order (held by screening where compliance runs); globex: 2 generic demo orders + 5 routed
    # commerce orders
    assert references == [
        *[("acme-capital", f"T-{n:06d}") for n in range(1, 16)],
        *[("globex-goods", f"S-{n:06d}") for n in range(1, 8)],
        ("initech", "S-000001"),
        ("initech", "T-000001"),
    ]


@pytest.mark.django_db
def test_seed_demo_creates_the_after_sale_story_a_cart_and_a_locate():
    # when the demo is seeded
    call_command("seed_demo", stdout=io.StringIO())
    # then globex's WEB-1001 was paid, delivered, partly returned and refunded
    globex = Tenant.objects.get(slug="globex-goods")
    sales = SalesOrder.objects.for_tenant(globex).get(external_id="WEB-1001")
    assert sales.order.status == "completed"
    assert list(
        Fulfilment.objects.for_tenant(globex)
        .filter(sales_order=sales)
        .values_list("state", "carrier", "tracking_number")
    ) == [("delivered", "DHL", "00340434161094042557")]
    assert list(
        Payment.objects.for_tenant(globex).values_list(
            "sales_order_id", "authorized", "captured", "refunded", "state"
        )
    ) == [(sales.pk, sales.grand_total, sales.grand_total, Decimal("19.90"), "partially_refunded")]
    returns = Return.objects.for_tenant(globex).order_by("rma_number")
    year = returns[0].created_at.year
    assert [(r.rma_number, r.state, r.sales_order_id) for r in returns] == [
        (f"RMA-{year}-000001", "approved", sales.pk),
        (f"RMA-{year}-000002", "requested", sales.pk),
    ]
    assert list(
        ReturnLine.objects.for_tenant(globex)
        .order_by("return_request__rma_number")
        .values_list("line__sku", "quantity")
    ) == [("TSHIRT-M", Decimal("1")), ("MUG-BLK", Decimal("1"))]
    assert list(
        Refund.objects.for_tenant(globex).values_list("return_request_id", "amount", "currency")
    ) == [(returns[0].pk, Decimal("19.90"), "EUR")]
    after_sale = ("payment", "fulfilment_updated", "return_updated", "refunded")
    kinds = list(
        OrderEvent.objects.for_tenant(globex)
        .filter(order=sales.order, kind__in=after_sale)
        .order_by("pk")
        .values_list("kind", "actor__username")
    )
    # authorize, capture; fulfilment created, picked, packed (shipping and delivery have their
    # own kinds); RMA 1 requested, approved; its refund; RMA 2 requested
    assert kinds == [
        *[("payment", "globex.seller")] * 2,
        *[("fulfilment_updated", "globex.seller")] * 3,
        *[("return_updated", "globex.seller")] * 2,
        ("refunded", "globex.seller"),
        ("return_updated", "globex.seller"),
    ]
    assert list(
        OrderEvent.objects.for_tenant(globex)
        .filter(order=sales.order, kind__in=("shipped", "delivered"))
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == ["shipped", "delivered"]
    # and a web-shop cart holds two mugs in Berlin (no order yet)
    cart = Reservation.objects.for_tenant(globex).get()
    assert (cart.reference, cart.stock.warehouse.code, cart.stock.product.sku) == (
        "demo-cart-1",
        "BER",
        "MUG-BLK",
    )
    assert (cart.quantity, cart.status, cart.sales_order_id) == (Decimal("2"), "active", None)
    # and acme's proprietary book has a locate for 5,000 MSFT
    acme = Tenant.objects.get(slug="acme-capital")
    assert list(
        Locate.objects.for_tenant(acme).values_list(
            "account__code", "instrument__symbol", "quantity", "source"
        )
    ) == [("PROP-1", "MSFT", Decimal("5000"), "Demo prime broker")]


@pytest.mark.django_db
def test_seed_demo_second_run_changes_nothing():
    # given a seeded database
    call_command("seed_demo", stdout=io.StringIO())
    before = _snapshot()
    # when it runs again
    call_command("seed_demo", stdout=io.StringIO())
    # then every row is byte-for-byte the same and nothing was added
    assert _snapshot() == before
