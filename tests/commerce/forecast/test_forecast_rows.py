"""forecast_rows: the daily demand read from allocations (active or shipped, by the day the
order was placed in the tenant's time zone) and the figures per product and warehouse."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from commerce.services.forecast import ForecastParams, forecast_rows
from tests.commerce.forecast.helpers import history_make, placed

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date(2025, 3, 10)
PARAMS = ForecastParams(
    alpha=D("0.5"), service_level=D("0.95"), history_days=8, croston_zero_share=D("0.25")
)


def test_the_figures_of_each_stock_row(tenant):
    history_make(tenant, TODAY)
    rows = forecast_rows(tenant=tenant, today=TODAY, params=PARAMS)
    assert [(r.warehouse, r.sku) for r in rows] == [("A", "P1"), ("B", "P1")]
    at_a, at_b = rows
    assert at_a.history == tuple(D(x) for x in (0, 0, 3, 0, 5, 0, 0, 4))
    assert at_a.as_dict() == {
        "warehouse": "A",
        "sku": "P1",
        "product_name": "Product P1",
        "method": "croston",
        "history_days": 8,
        "zero_share": D("0.6250"),
        "daily_forecast": D("1.4545"),
        "sigma": D("2.1381"),
        "lead_time_days": 9,
        "lead_time_demand": D("13.091"),
        "safety_stock": D("10.551"),
        "reorder_point": D("23.642"),
        "on_hand": D("35"),
        "allocated": D("15"),
        "reserved": D("0"),
        "available": D("20"),
        "stockout_date": date(2025, 3, 23),
        "at_risk": True,
    }
    assert at_b.history == (D(0),) * 8
    assert (at_b.figures.daily_forecast, at_b.figures.stockout_date, at_b.figures.at_risk) == (
        D("0.0000"),
        None,
        False,
    )


def test_filters(tenant):
    made = history_make(tenant, TODAY)
    assert [
        r.warehouse
        for r in forecast_rows(tenant=tenant, today=TODAY, params=PARAMS, at_risk_only=True)
    ] == ["A"]
    assert [
        r.warehouse
        for r in forecast_rows(tenant=tenant, today=TODAY, params=PARAMS, warehouse=made["wh_b"])
    ] == ["B"]
    higher = forecast_rows(
        tenant=tenant, today=TODAY, params=PARAMS, product=made["p1"], service_level=D("0.99")
    )
    assert higher[0].figures.safety_stock == D("14.922")


def test_days_follow_the_tenants_time_zone(tenant):
    # given a Berlin tenant: 23:30 UTC on the last history day is already "today" in Berlin
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    made = history_make(tenant, TODAY)
    placed(tenant, made["p1"], made["wh_a"], TODAY - timedelta(days=1), "9", hour=23)
    rows = forecast_rows(tenant=tenant, today=TODAY, params=PARAMS, warehouse=made["wh_a"])
    # then it is not in the history (today is left out); the 12:00 UTC orders stay put
    assert rows[0].history == tuple(D(x) for x in (0, 0, 3, 0, 5, 0, 0, 4))


def test_inactive_products_and_warehouses_are_left_out(tenant):
    made = history_make(tenant, TODAY)
    made["wh_b"].active = False
    made["wh_b"].save()
    assert [r.warehouse for r in forecast_rows(tenant=tenant, today=TODAY, params=PARAMS)] == ["A"]
    made["p1"].active = False
    made["p1"].save()
    assert forecast_rows(tenant=tenant, today=TODAY, params=PARAMS) == []


def test_another_tenants_history_is_not_read(tenant, other_tenant):
    history_make(other_tenant, TODAY)
    assert forecast_rows(tenant=tenant, today=TODAY, params=PARAMS) == []
