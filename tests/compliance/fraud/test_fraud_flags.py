"""Fraud signals on sales orders, scored; above the threshold held, at or below a warning."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commerce.services.entry import sales_order_create
from compliance.models import Alert, ScreeningResult
from compliance.services.overrides import sales_hold_release
from oms_site.errors import PermissionDenied
from orders.models import Order
from tests.commerce.factories import ChannelFactory, CustomerFactory, ProductPriceFactory
from tests.compliance.factories import reviewer, rule_make
from tests.conftest import member

pytestmark = pytest.mark.django_db
_n = iter(range(1, 10**6))


@pytest.fixture
def shop(tenant: Any) -> dict[str, Any]:
    price = ProductPriceFactory(tenant=tenant, amount=Decimal("100.00"))
    return {
        "tenant": tenant,
        "seller": member(tenant, "seller", username="alpha.seller"),
        "channel": ChannelFactory(tenant=tenant),
        "sku": price.product.sku,
        "customer": CustomerFactory(tenant=tenant, email="buyer@example.com"),
    }


def _order(shop: dict[str, Any], quantity: int = 1, **kw: Any) -> Order:
    kw.setdefault("customer", shop["customer"])
    kw.setdefault(
        "shipping_address",
        {
            "name": "B",
            "line1": "Main St 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
    )
    created = sales_order_create(
        tenant=shop["tenant"],
        actor=shop["seller"],
        channel=shop["channel"],
        external_id=f"W-{next(_n)}",
        currency="USD",
        lines=[{"sku": shop["sku"], "quantity": quantity}],
        **kw,
    )
    return created.order


def _rules(tenant: Any, threshold: int = 50) -> None:
    rule_make(
        tenant, "fraud_velocity", params={"max_orders": 2, "window_seconds": 3600, "points": 30}
    )
    rule_make(tenant, "fraud_country_mismatch", params={"points": 30})
    rule_make(tenant, "fraud_high_value_first", params={"amount": "500", "points": 30})
    rule_make(tenant, "fraud_score", params={"threshold": threshold})


def test_clean_order_accepted_without_alert(shop: dict[str, Any]) -> None:
    _rules(shop["tenant"])
    order = _order(shop, billing_country="DE", ip_country="DE")
    assert order.status == "open"
    assert Alert.objects.for_tenant(shop["tenant"]).count() == 0
    kinds = (
        ScreeningResult.objects.for_tenant(shop["tenant"])
        .filter(order=order)
        .values_list("kind", "outcome")
    )
    assert list(kinds) == [
        ("fraud_country_mismatch", "pass"),
        ("fraud_high_value_first", "pass"),
        ("fraud_velocity", "pass"),
        ("fraud_score", "pass"),
    ]


def test_one_signal_at_or_below_threshold_warns(shop: dict[str, Any]) -> None:
    _rules(shop["tenant"], threshold=30)
    order = _order(shop, billing_country="DE", ip_country="NG")
    assert order.status == "open"
    assert list(Alert.objects.for_tenant(shop["tenant"]).values_list("rule", "order_id")) == [
        ("fraud_score", order.pk)
    ]


def test_two_signals_above_threshold_hold_until_released(shop: dict[str, Any]) -> None:
    _rules(shop["tenant"], threshold=59)
    # first order of the customer, 600 > 500, and countries differ: 60 points
    order = _order(shop, quantity=6, billing_country="DE", ip_country="NG")
    assert order.status == "held"
    with pytest.raises(PermissionDenied):
        sales_hold_release(
            tenant=shop["tenant"], actor=shop["seller"], order_id=order.pk, reason="ok"
        )
    assert Order.objects.for_tenant(shop["tenant"]).get(pk=order.pk).status == "held"
    ops = member(shop["tenant"], "operations", username="alpha.ops")
    sales_hold_release(
        tenant=shop["tenant"], actor=ops, order_id=order.pk, reason="Called the customer"
    )
    assert Order.objects.for_tenant(shop["tenant"]).get(pk=order.pk).status == "open"


def test_high_value_first_order_at_amount_passes(shop: dict[str, Any]) -> None:
    _rules(shop["tenant"], threshold=1)
    at = _order(shop, quantity=5)  # 500: not above 500
    assert at.status == "open"
    other = CustomerFactory(tenant=shop["tenant"], email="new@example.com")
    over = _order(shop, quantity=6, customer=other)
    assert over.status == "held"


def test_velocity_by_email(shop: dict[str, Any]) -> None:
    _rules(shop["tenant"], threshold=29)
    same_email = CustomerFactory(tenant=shop["tenant"], email="BUYER@example.com")
    first, second = _order(shop), _order(shop, customer=same_email)
    third = _order(shop)
    assert (first.status, second.status, third.status) == ("open", "open", "held")
    reviewer(shop["tenant"])
