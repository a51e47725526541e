"""The shortage forecast in the admin: a page listed in the commerce app (a proxy of
``Stock``) showing the products at risk, or all, with a small server-rendered SVG chart per
row: daily demand of the history as bars, then the projected available stock over the lead
time as a line falling by the daily forecast, against the reorder point (dashed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString, mark_safe

from commerce.models import Product, ShortageForecast, Warehouse
from commerce.services.forecast import (
    ForecastRow,
    forecast_params_default,
    forecast_rows,
    tenant_today,
)
from tenancy.admin_base import TenantScopedAdmin, request_tenant
from tenancy.roles import ALL_ROLES

CHART_W, CHART_H, PAD = 280, 72, 4
HISTORY_SHARE = Decimal("0.6")
ROWS_SHOWN = 500


def _y(value: Decimal, top: Decimal) -> float:
    """The SVG y of ``value`` on a 0..top scale (top of the chart is y = PAD)."""
    usable = CHART_H - 2 * PAD
    share = value / top if top > 0 else Decimal(0)
    return round(CHART_H - PAD - float(share) * usable, 2)


def demand_stock_svg(row: ForecastRow) -> SafeString:
    """A small chart of one forecast row, built from numbers only (nothing to escape)."""
    f = row.figures
    history = list(row.history)
    split = float(CHART_W * HISTORY_SHARE)
    bar_w = split / max(len(history), 1)
    top_demand = max([*history, f.daily_forecast, Decimal(1)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{CHART_H}" '
        f'viewBox="0 0 {CHART_W} {CHART_H}" role="img" class="forecast-chart">',
        f'<rect x="0" y="0" width="{CHART_W}" height="{CHART_H}" fill="#f8f8f8"/>',
    ]
    for i, x in enumerate(history):
        if x > 0:
            y = _y(x, top_demand)
            parts.append(
                f'<rect x="{round(i * bar_w, 2)}" y="{y}" width="{round(max(bar_w - 1, 1), 2)}" '
                f'height="{round(CHART_H - PAD - y, 2)}" fill="#79aec8"><title>{x}</title></rect>'
            )
    forecast_y = _y(f.daily_forecast, top_demand)
    parts.append(
        f'<line x1="0" y1="{forecast_y}" x2="{split}" y2="{forecast_y}" stroke="#417690" '
        f'stroke-width="1"><title>daily forecast {f.daily_forecast}</title></line>'
    )
    parts.append(
        f'<line x1="{split}" y1="0" x2="{split}" y2="{CHART_H}" stroke="#999" stroke-width="1"/>'
    )
    # Projected available stock over the lead time (at least a week), on its own scale.
    horizon = max(row.lead_time_days, 7)
    step = (CHART_W - split) / horizon
    top_stock = max(row.available, f.reorder_point, Decimal(1))
    points = []
    for day in range(horizon + 1):
        level = max(row.available - f.daily_forecast * day, Decimal(0))
        points.append(f"{round(split + day * step, 2)},{_y(level, top_stock)}")
    colour = "#ba2121" if f.at_risk else "#2e7d32"
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2"><title>available {row.available}</title></polyline>'
    )
    rop_y = _y(f.reorder_point, top_stock)
    parts.append(
        f'<line x1="{split}" y1="{rop_y}" x2="{CHART_W}" y2="{rop_y}" stroke="#e65100" '
        f'stroke-dasharray="4 3" stroke-width="1"><title>reorder point {f.reorder_point}'
        "</title></line>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # numbers and fixed markup only: nothing to escape


class ForecastFilterForm(forms.Form):
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), required=False)
    sku = forms.CharField(max_length=64, required=False, label="SKU")
    at_risk = forms.ChoiceField(
        choices=[("true", "At risk only"), ("false", "All products")],
        required=False,
        initial="true",
    )
    service_level = forms.DecimalField(
        min_value=Decimal("0.5"),
        max_value=Decimal("0.9999"),
        max_digits=5,
        decimal_places=4,
        required=False,
    )

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        field = self.fields["warehouse"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Warehouse.objects.for_tenant(tenant).order_by("code")

    def clean_sku(self) -> Product | None:
        sku = self.cleaned_data.get("sku") or ""
        if not sku:
            return None
        product = Product.objects.for_tenant(self.tenant).filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(f"No product {sku}.")
        return product


@admin.register(ShortageForecast)
class ShortageForecastAdmin(TenantScopedAdmin):
    """A read-only page: the changelist is the forecast."""

    view_roles = ALL_ROLES
    change_roles: frozenset[str] = frozenset()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        raise Http404("Not found.")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        tenant = request_tenant(request)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Shortage forecast",
            "tenant": tenant,
        }
        if tenant is None:
            return TemplateResponse(request, "admin/commerce/forecast.html", context)
        data = request.GET.copy()
        data.setdefault("at_risk", "true")
        form = ForecastFilterForm(data, tenant=tenant)
        rows: list[ForecastRow] = []
        params = forecast_params_default()
        if form.is_valid():
            rows = forecast_rows(
                tenant=tenant,
                today=tenant_today(tenant),
                params=params,
                warehouse=form.cleaned_data["warehouse"],
                product=form.cleaned_data["sku"],
                at_risk_only=form.cleaned_data["at_risk"] != "false",
                service_level=form.cleaned_data["service_level"],
            )
        context.update(
            {
                "form": form,
                "rows": [(row, demand_stock_svg(row)) for row in rows[:ROWS_SHOWN]],
                "count": len(rows),
                "shown": min(len(rows), ROWS_SHOWN),
                "today": tenant_today(tenant),
                "params": params,
                "service_level": (form.is_valid() and form.cleaned_data["service_level"])
                or params.service_level,
            }
        )
        return TemplateResponse(request, "admin/commerce/forecast.html", context)
