"""The trading blotter in the admin: open orders (auto-refreshing), completed orders, the care
queue, executions on each order, cancel and replace buttons. Writes go through the services."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from oms_site.errors import ApplicationError
from orders.models import LIVE_STATUSES, TERMINAL_STATUSES
from orders.services import order_transition, orders_cancel_each
from tenancy.admin_base import ReadOnlyChildInline, TenantScopedAdmin, request_tenant
from tenancy.roles import ALL_ROLES, TRADE_CANCEL
from tenancy.selectors import user_has_role
from trading.models import ExecutionReport, Handling, TradeOrder
from trading.services.requests import trade_order_release_care, trade_order_replace


def _refusal(action: str, message: str, errors: dict[str, list[str]]) -> str:
    """One readable line: "Replace refused: quantity: Must be greater than zero." """
    parts = [
        " ".join(msgs) if field in ("non_field_errors", "__all__") else f"{field}: {' '.join(msgs)}"
        for field, msgs in errors.items()
    ]
    return f"{action} refused: {'; '.join(parts) or message}"


class BlotterFilter(admin.SimpleListFilter):
    title = "blotter"
    parameter_name = "blotter"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open orders"), ("done", "Completed orders"), ("care", "Care queue")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "open":
            return queryset.filter(order__status__in=LIVE_STATUSES)
        if value == "done":
            return queryset.filter(order__status__in=TERMINAL_STATUSES)
        if value == "care":
            return queryset.filter(handling=Handling.CARE, order__status__in=LIVE_STATUSES)
        return queryset


class ExecutionReportInline(ReadOnlyChildInline):
    model = ExecutionReport
    ordering = ("id",)
    fields = (
        "exec_id",
        "exec_type",
        "ord_status",
        "order_qty",
        "last_qty",
        "last_px",
        "cum_qty",
        "leaves_qty",
        "avg_px",
        "text",
        "created_at",
    )
    readonly_fields = fields


class ReplaceForm(forms.Form):
    quantity = forms.DecimalField(max_digits=20, decimal_places=6, required=False)
    limit_price = forms.DecimalField(max_digits=20, decimal_places=8, required=False)
    stop_price = forms.DecimalField(max_digits=20, decimal_places=8, required=False)


@admin.register(TradeOrder)
class TradeOrderAdmin(TenantScopedAdmin):
    change_list_template = "admin/trading/tradeorder/change_list.html"
    change_form_template = "admin/trading/tradeorder/change_form.html"
    list_display = (
        "reference",
        "ord_status_label",
        "account",
        "instrument",
        "side",
        "quantity",
        "order_type",
        "limit_price",
        "cum_qty",
        "leaves_qty",
        "avg_px",
        "time_in_force",
        "venue_label",
        "handling",
    )
    list_filter = (BlotterFilter, "side", "time_in_force", "handling", "order_type")
    search_fields = (
        "order__reference",
        "order__client_order_id",
        "instrument__symbol",
        "account__code",
    )
    list_select_related = ("order", "account", "instrument", "venue")
    readonly_fields = (
        "order",
        "account",
        "instrument",
        "side",
        "quantity",
        "order_type",
        "limit_price",
        "stop_price",
        "trail_amount",
        "trail_percent",
        "time_in_force",
        "venue",
        "handling",
        "cum_qty",
        "leaves_qty",
        "avg_px",
        "pending",
        "triggered",
        "trail_watermark",
    )
    fields = readonly_fields
    inlines = [ExecutionReportInline]
    actions = ["cancel_selected", "release_care"]
    view_roles = ALL_ROLES
    change_roles = ALL_ROLES  # the page only offers buttons; each checks its role
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None

    @admin.display(description="reference", ordering="order__reference")
    def reference(self, obj: TradeOrder) -> str:
        return obj.order.reference

    @admin.display(description="OrdStatus")
    def ord_status_label(self, obj: TradeOrder) -> str:
        return str(obj.ord_status.label)

    @admin.display(description="venue")
    def venue_label(self, obj: TradeOrder) -> str:
        return obj.venue.code if obj.venue else "smart"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # Auto-refresh the open-order blotter and the care queue (not history or searches).
        refresh = request.GET.get("blotter") in ("open", "care") and not request.GET.get("q")
        return super().changelist_view(request, {**(extra_context or {}), "auto_refresh": refresh})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        tenant = request_tenant(request)
        may_work = bool(
            obj is not None
            and obj.order.status in LIVE_STATUSES
            and not obj.request_pending
            and (
                request.user.is_superuser
                or (
                    tenant is not None
                    and user_has_role(user=request.user, tenant_id=tenant.pk, roles=TRADE_CANCEL)
                )
            )
        )
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "may_work": may_work,
            "replace_form": ReplaceForm(),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="trading_order_cancel"),
            path(
                "<path:object_id>/replace/", wrap(self.replace_view), name="trading_order_replace"
            ),
            *super().get_urls(),
        ]

    def _order_or_404(self, request: HttpRequest, object_id: str) -> TradeOrder:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        return obj

    def _back(self, obj: TradeOrder) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:trading_tradeorder_change", args=[obj.pk]))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._order_or_404(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        try:
            order_transition(
                tenant=obj.tenant,
                order_id=obj.pk,
                transition="cancel",
                actor=request.user,
                reason=request.POST.get("reason", "")[:500],
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Cancel", exc.message, exc.errors), messages.ERROR)
        else:
            self.message_user(request, f"{obj.order.reference}: cancel requested.")
        return self._back(obj)

    def replace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._order_or_404(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        form = ReplaceForm(request.POST)  # bound even when empty: "give a new value" below
        if not form.is_valid():
            errors = {field: [str(m) for m in msgs] for field, msgs in form.errors.items()}
            self.message_user(request, _refusal("Replace", "", errors), messages.ERROR)
            return self._back(obj)
        try:
            trade_order_replace(
                tenant=obj.tenant, order_id=obj.pk, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Replace", exc.message, exc.errors), messages.ERROR)
        except InvalidOperation:
            self.message_user(request, "Replace refused: invalid number.", messages.ERROR)
        else:
            self.message_user(request, f"{obj.order.reference}: replace requested.")
        return self._back(obj)

    @admin.action(description="Cancel selected orders")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[TradeOrder]) -> None:
        done, refused = orders_cancel_each(
            orders=[t.order for t in queryset.select_related("order__tenant").order_by("pk")],
            actor=request.user,
            reason="Canceled from the blotter.",
        )
        if done:
            self.message_user(request, f"Cancel requested for {done} order(s).")
        if refused:
            self.message_user(request, "Not canceled: " + ", ".join(refused), messages.WARNING)

    @admin.action(description="Release selected care orders to smart routing")
    def release_care(self, request: HttpRequest, queryset: QuerySet[TradeOrder]) -> None:
        released = 0
        for trade in queryset.filter(handling=Handling.CARE).order_by("pk"):
            try:
                trade_order_release_care(tenant=trade.tenant, order_id=trade.pk, actor=request.user)
                released += 1
            except ApplicationError as exc:
                self.message_user(
                    request, f"{trade.order.reference}: {exc.message}", messages.WARNING
                )
        if released:
            self.message_user(request, f"Released {released} care order(s) to routing.")
