"""Commerce admin: fulfilments (lines and tracking inline, shipment entry, transition buttons,
creating an order's missing fulfilments) and the shortage forecast (``commerce.admin.forecast``).

The pages only read; every write goes through ``commerce.services.fulfilment`` and is allowed
to the roles that enter sales orders (admin, seller, operations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from commerce.admin import forecast  # noqa: F401  (registers the forecast page)
from commerce.models import Fulfilment, FulfilmentLine, FulfilmentState, SalesOrder, TrackingEvent
from commerce.services import fulfilment as services
from oms_site.errors import ApplicationError
from orders.models import Order
from tenancy.admin_base import ReadOnlyChildInline, TenantScopedAdmin, request_tenant
from tenancy.roles import ALL_ROLES, SALES_ENTRY
from tenancy.selectors import user_has_role

STEPS: dict[str, tuple[Callable[..., Fulfilment], str]] = {
    "pick": (services.fulfilment_pick, "Start picking"),
    "pack": (services.fulfilment_pack, "Mark packed"),
    "deliver": (services.fulfilment_deliver, "Mark delivered"),
    "cancel": (services.fulfilment_cancel, "Cancel fulfilment"),
}
STEP_SOURCES = {
    "pick": (FulfilmentState.PENDING,),
    "pack": (FulfilmentState.PICKING,),
    "deliver": (FulfilmentState.SHIPPED,),
    "cancel": (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED),
}


def _refusal(action: str, exc: ApplicationError) -> str:
    """One readable line: "Ship refused: carrier: Required." """
    parts = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()]
    return f"{action} refused: {'; '.join(parts) or exc.message}"


def _form_refusal(action: str, form: forms.Form) -> str:
    parts = [f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in form.errors.items()]
    return f"{action} refused: {'; '.join(parts)}"


class ShipForm(forms.Form):
    """Carrier, tracking number and one quantity per fulfilment line (``qty_<line id>``),
    prefilled with the full quantity."""

    carrier = forms.CharField(max_length=services.CARRIER_MAX)
    tracking_number = forms.CharField(max_length=services.TRACKING_MAX, required=False)

    def __init__(self, *args: Any, lines: list[FulfilmentLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for fl in lines:
            self.fields[f"qty_{fl.line_id}"] = forms.DecimalField(
                label=f"Line {fl.line.line_no} {fl.line.sku} (of {fl.quantity})",
                max_digits=14,
                decimal_places=3,
                min_value=0,
                initial=fl.quantity,
            )

    def ship_lines(self) -> list[services.ShipLine]:
        return [
            services.ShipLine(line_id=fl.line_id, quantity=self.cleaned_data[f"qty_{fl.line_id}"])
            for fl in self.lines
        ]


class TrackingForm(forms.Form):
    code = forms.ChoiceField(choices=[(c, c) for c in services.TRACKING_CODES])
    occurred_at = forms.DateTimeField(help_text="UTC, e.g. 2025-03-01 14:30")
    location = forms.CharField(max_length=services.LOCATION_MAX, required=False)
    description = forms.CharField(max_length=services.DESCRIPTION_MAX, required=False)


class FulfilmentLineInline(ReadOnlyChildInline):
    model = FulfilmentLine
    fields = ("line", "quantity", "shipped_quantity")
    readonly_fields = fields


class TrackingEventInline(ReadOnlyChildInline):
    model = TrackingEvent
    ordering = ("occurred_at", "id")
    fields = ("occurred_at", "code", "location", "description")
    readonly_fields = fields


@admin.register(Fulfilment)
class FulfilmentAdmin(TenantScopedAdmin):
    change_form_template = "admin/commerce/fulfilment/change_form.html"
    change_list_template = "admin/commerce/fulfilment/change_list.html"
    list_display = (
        "id",
        "reference",
        "warehouse",
        "state",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
    )
    list_filter = ("state", "warehouse")
    search_fields = ("sales_order__order__reference", "sales_order__external_id", "tracking_number")
    list_select_related = ("sales_order__order", "warehouse")
    readonly_fields = (
        "sales_order",
        "warehouse",
        "state",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "marketplace_confirmed_at",
    )
    fields = readonly_fields
    inlines = [FulfilmentLineInline, TrackingEventInline]
    view_roles = ALL_ROLES
    change_roles = ALL_ROLES  # the page only offers buttons; each checks its role
    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None

    @admin.display(description="order", ordering="sales_order__order__reference")
    def reference(self, obj: Fulfilment) -> str:
        return obj.sales_order.order.reference

    def _may_work(self, request: HttpRequest) -> bool:
        tenant = request_tenant(request)
        return bool(
            request.user.is_superuser
            or (
                tenant is not None
                and user_has_role(user=request.user, tenant_id=tenant.pk, roles=SALES_ENTRY)
            )
        )

    def _lines(self, obj: Fulfilment) -> list[FulfilmentLine]:
        return list(
            FulfilmentLine.objects.for_tenant(obj.tenant_id)
            .filter(fulfilment=obj)
            .select_related("line")
            .order_by("line__line_no")
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        may_work = obj is not None and self._may_work(request)
        extra: dict[str, Any] = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "may_work": may_work,
        }
        if obj is not None and may_work:
            extra["steps"] = [
                (name, label)
                for name, (_, label) in STEPS.items()
                if obj.state in STEP_SOURCES[name]
            ]
            if obj.state in STEP_SOURCES["cancel"]:
                extra["ship_form"] = ShipForm(lines=self._lines(obj))
            if obj.state in (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED):
                extra["tracking_form"] = TrackingForm()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "create-for-order/",
                wrap(self.create_for_order_view),
                name="commerce_fulfilment_create_for_order",
            ),
            path(
                "<path:object_id>/step/<str:step>/",
                wrap(self.step_view),
                name="commerce_fulfilment_step",
            ),
            path("<path:object_id>/ship/", wrap(self.ship_view), name="commerce_fulfilment_ship"),
            path(
                "<path:object_id>/tracking/",
                wrap(self.tracking_view),
                name="commerce_fulfilment_tracking",
            ),
            *super().get_urls(),
        ]

    def _object_or_404(self, request: HttpRequest, object_id: str) -> Fulfilment:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        return obj

    def _back(self, obj: Fulfilment) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:commerce_fulfilment_change", args=[obj.pk]))

    def _refuse_role(self, request: HttpRequest) -> bool:
        if request.method != "POST":
            return True
        if not self._may_work(request):
            self.message_user(request, "Your role may not work fulfilments.", messages.ERROR)
            return True
        return False

    def step_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        if step not in STEPS:
            raise Http404("Not found.")
        if self._refuse_role(request):
            return self._back(obj)
        service, label = STEPS[step]
        kwargs: dict[str, Any] = {}
        if step == "cancel":
            kwargs["reason"] = request.POST.get("reason", "")[:500]
        try:
            service(tenant=obj.tenant, actor=request.user, fulfilment_id=obj.pk, **kwargs)
        except ApplicationError as exc:
            self.message_user(request, _refusal(label, exc), messages.ERROR)
        else:
            self.message_user(request, f"Fulfilment {obj.pk}: {label.lower()} done.")
        return self._back(obj)

    def ship_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        if self._refuse_role(request):
            return self._back(obj)
        form = ShipForm(request.POST, lines=self._lines(obj))
        if not form.is_valid():
            self.message_user(request, _form_refusal("Ship", form), messages.ERROR)
            return self._back(obj)
        try:
            services.fulfilment_ship(
                tenant=obj.tenant,
                actor=request.user,
                fulfilment_id=obj.pk,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                lines=form.ship_lines(),
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Ship", exc), messages.ERROR)
        else:
            self.message_user(request, f"Fulfilment {obj.pk} shipped.")
        return self._back(obj)

    def tracking_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        if self._refuse_role(request):
            return self._back(obj)
        form = TrackingForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _form_refusal("Tracking event", form), messages.ERROR)
            return self._back(obj)
        try:
            recorded = services.tracking_event_record(
                tenant=obj.tenant, actor=request.user, fulfilment_id=obj.pk, **form.cleaned_data
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Tracking event", exc), messages.ERROR)
        else:
            word = "recorded" if recorded.created else "already recorded"
            self.message_user(request, f"Tracking event {recorded.event.code} {word}.")
        return self._back(obj)

    def create_for_order_view(self, request: HttpRequest) -> HttpResponse:
        """Create the missing fulfilments of the order named by its reference."""
        back = HttpResponseRedirect(reverse("admin:commerce_fulfilment_changelist"))
        tenant = request_tenant(request)
        if tenant is None or self._refuse_role(request):
            if tenant is None and request.method == "POST":
                self.message_user(request, "Choose a working tenant first.", messages.ERROR)
            return back
        reference = request.POST.get("reference", "").strip()[:40]
        order = Order.objects.for_tenant(tenant).filter(reference=reference).first()
        if order is None or not SalesOrder.objects.for_tenant(tenant).filter(pk=order.pk).exists():
            self.message_user(request, f"No sales order {reference!r}.", messages.ERROR)
            return back
        try:
            created = services.fulfilments_create_for_order(
                tenant=tenant, actor=request.user, sales_order_id=order.pk
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Create fulfilments", exc), messages.ERROR)
            return back
        self.message_user(request, f"{reference}: {len(created)} fulfilment(s) created.")
        return back
