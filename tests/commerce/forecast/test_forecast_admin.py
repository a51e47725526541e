"""The shortage forecast page in the admin: listed in the commerce app, at-risk rows with an
SVG chart, filters, and a bad filter shown as a form error."""

from __future__ import annotations

import pytest

from commerce.services.forecast import tenant_today
from tests.commerce.forecast.helpers import history_make
from tests.conftest import admin_client_for

pytestmark = pytest.mark.django_db

PAGE = "/admin/commerce/shortageforecast/"


@pytest.fixture
def history(tenant, settings):
    settings.COMMERCE_FORECAST_HISTORY_DAYS = 8
    settings.COMMERCE_FORECAST_ALPHA = "0.5"
    return history_make(tenant, tenant_today(tenant))


def test_the_page_is_linked_from_the_commerce_app_index(tenant, seller, history):
    response = admin_client_for(seller).get("/admin/commerce/")
    assert response.status_code == 200
    assert PAGE.encode() in response.content


def test_at_risk_rows_with_a_chart(tenant, seller, history):
    response = admin_client_for(seller).get(PAGE)
    assert response.status_code == 200
    rows = [row for row, _ in response.context["rows"]]
    assert [(r.warehouse, r.sku, str(r.figures.reorder_point)) for r in rows] == [
        ("A", "P1", "23.642")
    ]
    (_, chart) = response.context["rows"][0]
    assert chart.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="280" height="72"')
    assert chart.count("<rect ") == 1 + 3  # background + three demand days
    assert "<polyline " in chart
    assert "reorder point 23.642" in chart
    assert b"<svg" in response.content  # rendered unescaped


def test_all_rows_and_a_bad_filter(tenant, seller, history):
    client = admin_client_for(seller)
    every = client.get(PAGE, {"at_risk": "false"})
    assert [r.warehouse for r, _ in every.context["rows"]] == ["A", "B"]
    bad = client.get(PAGE, {"service_level": "2"})
    assert bad.status_code == 200
    assert bad.context["rows"] == []
    assert "service_level" in bad.context["form"].errors
    unknown = client.get(PAGE, {"sku": "NOPE"})
    assert unknown.context["form"].errors == {"sku": ["No product NOPE."]}


def test_a_change_page_does_not_exist(tenant, seller, history):
    from commerce.models import Stock

    stock = Stock.objects.for_tenant(tenant).get(warehouse__code="A")
    assert admin_client_for(seller).get(f"{PAGE}{stock.pk}/change/").status_code == 404
