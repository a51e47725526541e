"""GET /api/v1/commerce/forecast/: rows with the hand-checked figures, filters, and 400s
naming the parameter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commerce.services.forecast import tenant_today
from tests.commerce.forecast.helpers import history_make
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/commerce/forecast/"


@pytest.fixture
def history(tenant, settings):
    settings.COMMERCE_FORECAST_HISTORY_DAYS = 8
    settings.COMMERCE_FORECAST_ALPHA = "0.5"
    return history_make(tenant, tenant_today(tenant))


def test_the_forecast_rows(tenant, seller, history):
    response = client_for(seller).get(URL)
    assert response.status_code == 200
    body = response.json()
    today = tenant_today(tenant)
    assert {k: body[k] for k in ("today", "service_level", "alpha", "history_days", "count")} == {
        "today": today.isoformat(),
        "service_level": "0.95",
        "alpha": "0.5",
        "history_days": 8,
        "count": 2,
    }
    assert body["results"][0] == {
        "warehouse": "A",
        "sku": "P1",
        "product_name": "Product P1",
        "method": "croston",
        "history_days": 8,
        "zero_share": "0.6250",
        "daily_forecast": "1.4545",
        "sigma": "2.1381",
        "lead_time_days": 9,
        "lead_time_demand": "13.091",
        "safety_stock": "10.551",
        "reorder_point": "23.642",
        "on_hand": "35.000",
        "allocated": "15.000",
        "reserved": "0.000",
        "available": "20.000",
        "stockout_date": (today + timedelta(days=13)).isoformat(),
        "at_risk": True,
    }
    assert (body["results"][1]["warehouse"], body["results"][1]["at_risk"]) == ("B", False)


def test_filters_and_service_level(tenant, seller, history):
    client = client_for(seller)
    at_risk = client.get(URL, {"at_risk": "true"}).json()
    assert [(r["warehouse"], r["sku"]) for r in at_risk["results"]] == [("A", "P1")]
    only_b = client.get(URL, {"warehouse": "B", "sku": "P1"}).json()
    assert [r["warehouse"] for r in only_b["results"]] == ["B"]
    high = client.get(URL, {"service_level": "0.99", "warehouse": "A"}).json()
    assert (high["service_level"], high["results"][0]["safety_stock"]) == ("0.99", "14.922")
    page = client.get(URL, {"limit": "1", "offset": "1"}).json()
    assert (page["count"], [r["warehouse"] for r in page["results"]]) == (2, ["B"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"service_level": "0.4999"}, "service_level"),
        ({"service_level": "1"}, "service_level"),
        ({"service_level": "0.99999"}, "service_level"),
        ({"service_level": "high"}, "service_level"),
        ({"alpha": "0"}, "alpha"),
        ({"alpha": "1.5"}, "alpha"),
        ({"at_risk": "yes"}, "at_risk"),
        ({"warehouse": "ZZ"}, "warehouse"),
        ({"sku": "NOPE"}, "sku"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_answer_400_naming_them(tenant, seller, history, params, field):
    response = client_for(seller).get(URL, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_service_level_bounds_are_accepted(tenant, seller, history):
    client = client_for(seller)
    for level in ("0.5", "0.9999"):
        assert client.get(URL, {"service_level": level}).status_code == 200


def test_another_tenants_warehouse_is_unknown(tenant, other_tenant, seller, history):
    history_make(other_tenant, tenant_today(other_tenant))
    from commerce.models import Warehouse

    Warehouse.objects.for_tenant(tenant).filter(code="B").update(code="OWN")
    response = client_for(seller).get(URL, {"warehouse": "B"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"warehouse": ["No code B."]}


def test_a_decimal_rendering_is_exact(tenant, seller, history):
    body = client_for(seller).get(URL, {"warehouse": "A"}).json()
    assert Decimal(body["results"][0]["reorder_point"]) == Decimal("23.642")
