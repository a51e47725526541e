"""Shortage forecast per product and warehouse.

Method, with the choices a reader needs to check the numbers by hand:

- History: the daily demand of the last ``history_days`` complete days (today, being partial,
  is left out) in the tenant's time zone; a day without orders counts as 0. Demand is the
  allocated quantity dated by the order's placement (``commerce.selectors_forecast``).
- Daily forecast: simple exponential smoothing, ``l_1 = x_1``, ``l_t = a x_t + (1 - a) l_(t-1)``,
  forecast ``l_n``. When the share of zero-demand days exceeds ``croston_zero_share`` (default
  0.25: an average demand interval above 1.32 days, the Syntetos-Boylan cut-off for
  intermittent demand) Croston's method is used instead: size ``z`` and interval ``p`` are
  started at the first non-zero day (``z = x``, ``p`` = its day number, counting from 1) and
  smoothed with the same ``a`` at each later non-zero day (``p`` updated with the days since
  the previous one); forecast ``z / p``. No demand at all: forecast 0.
- Sigma: the sample standard deviation (n - 1) of the daily demand over the history.
- ``z = NormalDist().inv_cdf(service_level)`` rounded to 4 places (0.95 -> 1.6449).
- The daily forecast and sigma are rounded to 4 places, and everything after is computed from
  the rounded values: lead-time demand ``= forecast x L``; safety stock
  ``= z x sigma x sqrt(L)``; reorder point ``= lead-time demand + safety stock`` (quantities
  rounded half up to 3 places; ``L`` = the product's lead time in days).
- Stock-out date ``= today + floor(available / forecast)`` days (``available`` = on hand -
  allocated - reserved, floored at 0); none when the forecast is 0.
- At risk: some demand in the history and either ``available <= reorder point`` or a stock-out
  before ``today + L`` (stock runs out before a reorder placed today arrives).

Defaults come from settings (``COMMERCE_FORECAST_*``); the API may override the service level
and alpha per request.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from commerce.models import Product, Warehouse
from commerce.selectors_forecast import daily_demand, forecast_stock_rows
from tenancy.models import Tenant

ZERO = Decimal("0")
FOUR_PLACES = Decimal("0.0001")
QTY_PLACES = Decimal("0.001")
SES, CROSTON = "ses", "croston"


@dataclass(frozen=True)
class ForecastParams:
    alpha: Decimal
    service_level: Decimal
    history_days: int
    croston_zero_share: Decimal


def forecast_params_default() -> ForecastParams:
    return ForecastParams(
        alpha=Decimal(str(getattr(settings, "COMMERCE_FORECAST_ALPHA", "0.2"))),
        service_level=Decimal(str(getattr(settings, "COMMERCE_FORECAST_SERVICE_LEVEL", "0.95"))),
        history_days=int(getattr(settings, "COMMERCE_FORECAST_HISTORY_DAYS", 56)),
        croston_zero_share=Decimal(
            str(getattr(settings, "COMMERCE_FORECAST_CROSTON_ZERO_SHARE", "0.25"))
        ),
    )


# --- pure numeric functions -------------------------------------------------------------------


def _round(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def zero_share(series: Sequence[Decimal]) -> Decimal:
    """Share of zero-demand days (0 for an empty series)."""
    if not series:
        return ZERO
    return Decimal(sum(1 for x in series if x == 0)) / Decimal(len(series))


def ses(series: Sequence[Decimal], alpha: Decimal) -> Decimal:
    """Simple exponential smoothing started at the first observation; the last level."""
    if not series:
        return ZERO
    level = Decimal(series[0])
    for x in series[1:]:
        level = alpha * x + (1 - alpha) * level
    return level


def croston(series: Sequence[Decimal], alpha: Decimal) -> Decimal:
    """Croston's method: smoothed demand size over smoothed interval (0 without demand)."""
    size: Decimal | None = None
    interval = ZERO
    since = 0
    for x in series:
        since += 1
        if x <= 0:
            continue
        if size is None:
            size, interval = Decimal(x), Decimal(since)
        else:
            size += alpha * (x - size)
            interval += alpha * (since - interval)
        since = 0
    return ZERO if size is None else size / interval


def demand_sigma(series: Sequence[Decimal]) -> Decimal:
    """Sample standard deviation (n - 1) of daily demand; 0 for fewer than two days."""
    n = len(series)
    if n < 2:
        return ZERO
    mean = sum(series, ZERO) / n
    variance = sum(((x - mean) ** 2 for x in series), ZERO) / (n - 1)
    return variance.sqrt()


def z_score(service_level: Decimal) -> Decimal:
    """The standard normal quantile of the service level, rounded to 4 places."""
    return _round(Decimal(repr(NormalDist().inv_cdf(float(service_level)))), FOUR_PLACES)


def safety_stock(*, z: Decimal, sigma: Decimal, lead_time_days: int) -> Decimal:
    return _round(z * sigma * Decimal(lead_time_days).sqrt(), QTY_PLACES)


def lead_time_demand(*, daily_forecast: Decimal, lead_time_days: int) -> Decimal:
    return _round(daily_forecast * lead_time_days, QTY_PLACES)


def stockout_date(*, today: date, available: Decimal, daily_forecast: Decimal) -> date | None:
    if daily_forecast <= 0:
        return None
    days = math.floor(max(available, ZERO) / daily_forecast)
    return today + timedelta(days=days)


@dataclass(frozen=True)
class Figures:
    method: str
    zero_share: Decimal
    daily_forecast: Decimal
    sigma: Decimal
    z: Decimal
    lead_time_demand: Decimal
    safety_stock: Decimal
    reorder_point: Decimal
    stockout_date: date | None
    at_risk: bool


def forecast_figures(
    *,
    series: Sequence[Decimal],
    available: Decimal,
    lead_time_days: int,
    today: date,
    params: ForecastParams,
) -> Figures:
    """Every figure of one product in one warehouse from its daily demand history."""
    share = zero_share(series)
    method = CROSTON if share > params.croston_zero_share else SES
    raw = croston(series, params.alpha) if method == CROSTON else ses(series, params.alpha)
    forecast = _round(raw, FOUR_PLACES)
    sigma = _round(demand_sigma(series), FOUR_PLACES)
    z = z_score(params.service_level)
    ltd = lead_time_demand(daily_forecast=forecast, lead_time_days=lead_time_days)
    ss = safety_stock(z=z, sigma=sigma, lead_time_days=lead_time_days)
    rop = ltd + ss
    stockout = stockout_date(today=today, available=available, daily_forecast=forecast)
    demand_seen = any(x > 0 for x in series)
    runs_out_early = stockout is not None and stockout < today + timedelta(days=lead_time_days)
    return Figures(
        method=method,
        zero_share=_round(share, FOUR_PLACES),
        daily_forecast=forecast,
        sigma=sigma,
        z=z,
        lead_time_demand=ltd,
        safety_stock=ss,
        reorder_point=rop,
        stockout_date=stockout,
        at_risk=demand_seen and (available <= rop or runs_out_early),
    )


# --- per product and warehouse ----------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    stock_id: int
    warehouse: str
    sku: str
    product_name: str
    lead_time_days: int
    on_hand: Decimal
    allocated: Decimal
    reserved: Decimal
    available: Decimal
    history_days: int
    history: tuple[Decimal, ...]
    figures: Figures

    def as_dict(self) -> dict[str, object]:
        f = self.figures
        return {
            "warehouse": self.warehouse,
            "sku": self.sku,
            "product_name": self.product_name,
            "method": f.method,
            "history_days": self.history_days,
            "zero_share": f.zero_share,
            "daily_forecast": f.daily_forecast,
            "sigma": f.sigma,
            "lead_time_days": self.lead_time_days,
            "lead_time_demand": f.lead_time_demand,
            "safety_stock": f.safety_stock,
            "reorder_point": f.reorder_point,
            "on_hand": self.on_hand,
            "allocated": self.allocated,
            "reserved": self.reserved,
            "available": self.available,
            "stockout_date": f.stockout_date,
            "at_risk": f.at_risk,
        }


def tenant_today(tenant: Tenant) -> date:
    return timezone.now().astimezone(ZoneInfo(tenant.timezone)).date()


def _sort_key(row: ForecastRow) -> tuple[bool, date, str, str]:
    stockout = row.figures.stockout_date or date.max
    return (not row.figures.at_risk, stockout, row.warehouse, row.sku)


def forecast_rows(
    *,
    tenant: Tenant,
    today: date | None = None,
    params: ForecastParams | None = None,
    warehouse: Warehouse | None = None,
    product: Product | None = None,
    at_risk_only: bool = False,
    service_level: Decimal | None = None,
    alpha: Decimal | None = None,
) -> list[ForecastRow]:
    """The forecast of each stock row (active products in active warehouses), at-risk rows
    first, then by stock-out date, warehouse code and SKU."""
    params = params or forecast_params_default()
    if service_level is not None:
        params = replace(params, service_level=service_level)
    if alpha is not None:
        params = replace(params, alpha=alpha)
    today = today or tenant_today(tenant)
    start = today - timedelta(days=params.history_days)
    demand = daily_demand(
        tenant=tenant,
        start=start,
        end=today,
        tz=ZoneInfo(tenant.timezone),
        warehouse=warehouse,
        product=product,
    )
    days = [start + timedelta(days=i) for i in range(params.history_days)]
    rows = []
    for stock in forecast_stock_rows(tenant=tenant, warehouse=warehouse, product=product):
        by_day = demand.get((stock.warehouse_id, stock.product_id), {})
        series = tuple(by_day.get(day, ZERO) for day in days)
        available = stock.available
        figures = forecast_figures(
            series=series,
            available=available,
            lead_time_days=stock.product.lead_time_days,
            today=today,
            params=params,
        )
        if at_risk_only and not figures.at_risk:
            continue
        rows.append(
            ForecastRow(
                stock_id=stock.pk,
                warehouse=stock.warehouse.code,
                sku=stock.product.sku,
                product_name=stock.product.name,
                lead_time_days=stock.product.lead_time_days,
                on_hand=stock.on_hand,
                allocated=stock.allocated,
                reserved=stock.reserved,
                available=available,
                history_days=params.history_days,
                history=series,
                figures=figures,
            )
        )
    rows.sort(key=_sort_key)
    return rows
