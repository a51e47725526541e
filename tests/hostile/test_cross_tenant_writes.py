"""Writes naming another tenant's objects in their body: refused exactly like unknown names,
and nothing stored. (The id-path probes are in ``test_cross_tenant.py``; these are the
hand-written bodies of the entry endpoints, which name objects by code or id.)"""

from __future__ import annotations

from typing import Any

import pytest

from commerce.models import Channel, SalesOrder
from orders.models import Order, OrderEvent
from tests.hostile.conftest import PROBE_TENANT, Demo, api_as
from trading.models import Account, TradeOrder

pytestmark = pytest.mark.django_db

WHY = "cross-tenant write probe"


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.all_tenants(reason=WHY).count()
        for model in (Order, OrderEvent, TradeOrder, SalesOrder)
    }


def _trade_body(**fields: Any) -> dict[str, Any]:
    return {
        "client_order_id": "probe-1",
        "account": "C-1001",
        "instrument": "AAPL",
        "side": "buy",
        "quantity": "10",
        "order_type": "market",
        "time_in_force": "day",
        **fields,
    }


def test_a_trade_order_naming_another_tenants_account_is_refused_like_an_unknown_one(
    demo: Demo,
) -> None:
    victim = Account.objects.all_tenants(reason=WHY).get(tenant__slug="acme-capital", code="C-1002")
    assert (
        not Account.objects.all_tenants(reason=WHY)
        .filter(tenant__slug=PROBE_TENANT, code=victim.code)
        .exists()
    )
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    foreign = api.post("/api/v1/trading/orders/", _trade_body(account=victim.code), format="json")
    missing = api.post("/api/v1/trading/orders/", _trade_body(account="NOWHERE-1"), format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["errors"]["account"] == [f"No code {victim.code}."]
    assert missing.json()["errors"]["account"] == ["No code NOWHERE-1."]
    assert _counts() == before


def test_a_trade_order_directed_to_another_tenants_venue_is_refused(demo: Demo) -> None:
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    response = api.post("/api/v1/trading/orders/", _trade_body(venue="ACMEX"), format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["venue"]
    assert _counts() == before


def test_a_sales_order_naming_another_tenants_channel_is_refused_like_an_unknown_one(
    demo: Demo,
) -> None:
    channel = Channel.objects.all_tenants(reason=WHY).filter(tenant__slug="globex-goods").first()
    assert channel is not None
    assert (
        not Channel.objects.all_tenants(reason=WHY)
        .filter(tenant__slug=PROBE_TENANT, code=channel.code)
        .exists()
    )
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    body = {
        "channel": channel.code,
        "external_id": "probe-1",
        "currency": "USD",
        "lines": [{"sku": "ANY", "quantity": "1", "unit_price": "1.00"}],
    }
    foreign = api.post("/api/v1/commerce/orders/", body, format="json")
    unknown = api.post("/api/v1/commerce/orders/", {**body, "channel": "NOWHERE"}, format="json")
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json()["errors"] == {"channel": [f"No channel {channel.code!r}."]}
    assert unknown.json()["errors"] == {"channel": ["No channel 'NOWHERE'."]}
    assert _counts() == before
