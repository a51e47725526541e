"""The forecast's numbers against values computed by hand (the working is in each comment)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.services.forecast import (
    ForecastParams,
    croston,
    demand_sigma,
    forecast_figures,
    lead_time_demand,
    safety_stock,
    ses,
    stockout_date,
    z_score,
    zero_share,
)

D = Decimal
INTERMITTENT = [D(x) for x in (0, 0, 3, 0, 5, 0, 0, 4)]
STEADY = [D(x) for x in (10, 12, 8, 10)]
TODAY = date(2025, 3, 10)


def _params(alpha="0.5", service_level="0.95"):
    return ForecastParams(
        alpha=D(alpha),
        service_level=D(service_level),
        history_days=8,
        croston_zero_share=D("0.25"),
    )


def test_ses_by_hand():
    # l1 = 2; l2 = .5*4 + .5*2 = 3; l3 = .5*0 + .5*3 = 1.5; l4 = .5*6 + .5*1.5 = 3.75
    assert ses([D(2), D(4), D(0), D(6)], D("0.5")) == D("3.75")
    # l = 10; 10.4; .2*8 + .8*10.4 = 9.92; .2*10 + .8*9.92 = 9.936
    assert ses(STEADY, D("0.2")) == D("9.936")
    assert ses([], D("0.2")) == D("0")


def test_croston_by_hand():
    # first demand 3 on day 3: z = 3, p = 3
    # demand 5 two days later: z = 3 + .5(5 - 3) = 4, p = 3 + .5(2 - 3) = 2.5
    # demand 4 three days later: z = 4 + .5(4 - 4) = 4, p = 2.5 + .5(3 - 2.5) = 2.75
    # forecast = 4 / 2.75 = 1.454545...
    assert croston(INTERMITTENT, D("0.5")).quantize(D("0.000001")) == D("1.454545")
    assert croston([D(0)] * 5, D("0.5")) == D("0")
    # a single demand of 6 on day 4: 6 / 4
    assert croston([D(0), D(0), D(0), D(6)], D("0.3")) == D("1.5")


def test_zero_share_and_sigma_by_hand():
    assert zero_share(INTERMITTENT) == D("0.625")  # 5 of 8 days
    assert zero_share([]) == D("0")
    # mean 1.5; squares 5 x 2.25 + 2.25 + 12.25 + 6.25 = 32; 32 / 7 = 4.5714...; sqrt = 2.13809
    assert demand_sigma(INTERMITTENT).quantize(D("0.00001")) == D("2.13809")
    # mean 10; squares 0 + 4 + 4 + 0 = 8; 8 / 3; sqrt = 1.63299
    assert demand_sigma(STEADY).quantize(D("0.00001")) == D("1.63299")
    assert demand_sigma([D(5)]) == D("0")


@pytest.mark.parametrize(
    ("level", "z"),
    [
        ("0.5", "0.0000"),
        ("0.9", "1.2816"),
        ("0.95", "1.6449"),
        ("0.99", "2.3263"),
        ("0.9999", "3.7190"),
    ],
)
def test_z_from_the_normal_inverse_cdf(level, z):
    assert z_score(D(level)) == D(z)


def test_safety_stock_lead_time_demand_and_stockout_by_hand():
    # 1.6449 x 2.1381 x sqrt(9) = 10.55088... -> 10.551
    assert safety_stock(z=D("1.6449"), sigma=D("2.1381"), lead_time_days=9) == D("10.551")
    # 1.4545 x 9 = 13.0905 -> 13.091 (half up)
    assert lead_time_demand(daily_forecast=D("1.4545"), lead_time_days=9) == D("13.091")
    # 20 / 1.4545 = 13.75 -> 13 days
    assert stockout_date(today=TODAY, available=D("20"), daily_forecast=D("1.4545")) == date(
        2025, 3, 23
    )
    assert stockout_date(today=TODAY, available=D("0"), daily_forecast=D("2")) == TODAY
    assert stockout_date(today=TODAY, available=D("20"), daily_forecast=D("0")) is None


def test_intermittent_demand_uses_croston():
    figures = forecast_figures(
        series=INTERMITTENT, available=D("20"), lead_time_days=9, today=TODAY, params=_params()
    )
    assert figures.method == "croston"
    assert (figures.zero_share, figures.daily_forecast, figures.sigma, figures.z) == (
        D("0.6250"),
        D("1.4545"),
        D("2.1381"),
        D("1.6449"),
    )
    # lead-time demand 13.091 + safety stock 10.551 = 23.642; available 20 <= 23.642
    assert (figures.lead_time_demand, figures.safety_stock, figures.reorder_point) == (
        D("13.091"),
        D("10.551"),
        D("23.642"),
    )
    assert figures.stockout_date == date(2025, 3, 23)
    assert figures.at_risk is True


def test_steady_demand_uses_ses():
    figures = forecast_figures(
        series=STEADY, available=D("100"), lead_time_days=4, today=TODAY, params=_params("0.2")
    )
    assert figures.method == "ses"
    # forecast 9.936; sigma 1.6330; LTD 9.936 x 4 = 39.744; SS 1.6449 x 1.6330 x 2 = 5.37224
    # -> 5.372; ROP 45.116; 100 / 9.936 = 10.06 -> 10 days
    assert (figures.daily_forecast, figures.sigma) == (D("9.9360"), D("1.6330"))
    assert (figures.lead_time_demand, figures.safety_stock, figures.reorder_point) == (
        D("39.744"),
        D("5.372"),
        D("45.116"),
    )
    assert figures.stockout_date == date(2025, 3, 20)
    assert figures.at_risk is False


def test_a_stockout_before_the_lead_time_is_a_risk_even_above_the_reorder_point():
    # forecast 10 a day, sigma 0: ROP = 10 x 30 = 300; available 250 -> stock-out in 25 days,
    # before the 30-day lead time, and below the ROP; with a 20-day lead time ROP = 200 < 250
    # and the stock-out (day 25) comes after the lead time: not at risk
    flat = [D(10)] * 8
    late = forecast_figures(
        series=flat, available=D("250"), lead_time_days=20, today=TODAY, params=_params()
    )
    assert (late.reorder_point, late.stockout_date, late.at_risk) == (
        D("200.000"),
        date(2025, 4, 4),
        False,
    )
    early = forecast_figures(
        series=flat, available=D("250"), lead_time_days=30, today=TODAY, params=_params()
    )
    assert (early.reorder_point, early.at_risk) == (D("300.000"), True)


def test_no_demand_is_never_at_risk():
    figures = forecast_figures(
        series=[D(0)] * 8, available=D("0"), lead_time_days=7, today=TODAY, params=_params()
    )
    assert (figures.daily_forecast, figures.reorder_point, figures.stockout_date) == (
        D("0.0000"),
        D("0.000"),
        None,
    )
    assert figures.at_risk is False


def test_a_higher_service_level_raises_the_safety_stock():
    low = forecast_figures(
        series=INTERMITTENT,
        available=D("20"),
        lead_time_days=9,
        today=TODAY,
        params=_params(service_level="0.9"),
    )
    high = forecast_figures(
        series=INTERMITTENT,
        available=D("20"),
        lead_time_days=9,
        today=TODAY,
        params=_params(service_level="0.99"),
    )
    # 1.2816 x 6.4143 = 8.22057... ; 2.3263 x 6.4143 = 14.92159... (2.1381 x 3 = 6.4143)
    assert (low.safety_stock, high.safety_stock) == (D("8.221"), D("14.922"))


@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=60),
    st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
)
def test_smoothed_forecasts_stay_within_the_observed_range(values, alpha):
    series = [D(v) for v in values]
    for forecast in (ses(series, alpha), croston(series, alpha)):
        assert D(0) <= forecast <= max(series)
