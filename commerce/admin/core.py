"""Commerce admin, core: catalogue, customers, warehouses, stock, and the order inbox.

The inbox lists sales orders of every channel (reference, channel, external id, marketplace
status, status, payment and fulfilment status, totals). An order's page shows its lines and
allocations and offers the transitions the user's role allows (approve, reject, cancel), a
"route now" button and the allocation move form; every button goes through the services
(row locks, role checks, journal), never a bare model save.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet, UniqueConstraint
from django.forms.models import BaseInlineFormSet, InlineForeignKeyField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from commerce.models import (
    Address,
    Allocation,
    AllocationStatus,
    Customer,
    Product,
    ProductPrice,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)
from commerce.services.allocation import sales_orders_route
from commerce.services.allocation_moves import allocation_move
from commerce.services.inputs import Errors, location_of
from oms_site.errors import ApplicationError
from orders.models import LIVE_STATUSES
from orders.services import order_transition, orders_cancel_each
from tenancy.admin_base import (
    ReadOnlyChildInline,
    TenantRoleAdminMixin,
    TenantScopedAdmin,
    TenantScopedModelForm,
    request_tenant,
    scoped_queryset,
)
from tenancy.roles import ALL_ROLES, REFERENCE_DATA, SALES_ENTRY
from tenancy.selectors import user_has_role

ORDER_BUTTONS = ("approve", "reject", "cancel")


def _refusal(action: str, exc: ApplicationError) -> str:
    parts = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()]
    return f"{action} refused: {'; '.join(parts) or exc.message}"


class _ChildFormSet(BaseInlineFormSet):
    """Rows are validated as rows of the parent's tenant, so that the uniqueness rules that
    include the tenant (one price per currency) are checked by the forms: a duplicate is a form
    error, not an IntegrityError at save. A posted row id is looked up among the parent's rows
    only."""

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        if form.instance.tenant_id is None:
            form.instance.tenant_id = self.instance.tenant_id
        return form

    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        id_field = form.fields.get(self.model._meta.pk.name)
        if isinstance(id_field, forms.ModelChoiceField):
            # A row's id names a row of this parent only (Django would look it up unscoped).
            id_field.queryset = self.get_queryset()

    def get_unique_error_message(self, unique_check: Any) -> str:
        # Staff work in one tenant and never see its field: name only the fields they edit.
        return str(super().get_unique_error_message([f for f in unique_check if f != "tenant"]))


class _ChildForm(TenantScopedModelForm):
    """A row of an inline: Django leaves the parent's key out of a row's own constraint checks
    (the parent may not be saved yet), so the unique constraints that include it (one price per
    currency) are checked here against the stored rows once the parent exists, and reported on
    the field the user edits."""

    def validate_unique(self) -> None:
        super().validate_unique()
        model = type(self.instance)
        hidden = {"tenant"} | {
            name for name, field in self.fields.items() if isinstance(field, InlineForeignKeyField)
        }
        for constraint in model._meta.constraints:
            if not isinstance(constraint, UniqueConstraint) or constraint.condition is not None:
                continue
            names = list(constraint.fields)
            lookup = {
                model._meta.get_field(name).attname: getattr(
                    self.instance, model._meta.get_field(name).attname
                )
                for name in names
            }
            if set(names) & set(self.errors) or None in lookup.values():
                continue  # a field failed its own check, or the parent is new
            clash = model._default_manager.filter(**lookup)
            if self.instance.pk is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                shown = [name for name in names if name not in hidden]
                label = " and ".join(str(model._meta.get_field(n).verbose_name) for n in shown)
                message = f"{model._meta.verbose_name.capitalize()} with this {label} exists."
                self.add_error(shown[0] if len(shown) == 1 else None, message)


class _ChildInline(TenantRoleAdminMixin, admin.TabularInline):
    """An editable inline of a tenant-owned child: rows take the parent's tenant; the parent's
    scope decides which rows show (the formset filters by the parent); permissions come from
    the user's role in the working tenant, like the parent's."""

    form = _ChildForm
    formset = _ChildFormSet
    extra = 0
    view_roles = ALL_ROLES
    add_roles = SALES_ENTRY
    change_roles = SALES_ENTRY
    delete_roles = SALES_ENTRY

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        manager: Any = self.model._default_manager
        return manager.all_tenants(reason="inline of an already scoped parent")


def _save_children(formset: Any, parent: Any) -> None:
    for form in formset.forms:
        if form.instance is not None and not form.instance.tenant_id:
            form.instance.tenant_id = parent.tenant_id
    formset.save()


class ProductPriceInline(_ChildInline):
    model = ProductPrice
    fields = ("currency", "amount")


@admin.register(Product)
class ProductAdmin(TenantScopedAdmin):
    list_display = ("sku", "name", "weight_kg", "lead_time_days", "active")
    list_filter = ("active",)
    search_fields = ("sku", "name")
    fields = ("sku", "name", "weight_kg", "lead_time_days", "active")
    inlines = [ProductPriceInline]
    add_roles = SALES_ENTRY
    change_roles = SALES_ENTRY

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _save_children(formset, form.instance)


def _location_clean(form: forms.ModelForm, data: dict[str, Any], *, required: bool) -> None:
    """The service rules for a row's coordinates (both or neither; neither: looked up from the
    city, an error naming it when ``required`` and not found), as form errors."""
    if form.has_error("latitude") or form.has_error("longitude"):
        return
    errors = Errors()
    coords = location_of(
        data.get("latitude"),
        data.get("longitude"),
        city=data.get("city") or "",
        country=data.get("country") or "",
        prefix="",
        errors=errors,
        required=required,
    )
    for field, texts in errors.errors.items():
        for text in texts:
            form.add_error(field, text)
    if coords is not None and not errors:
        data["latitude"], data["longitude"] = coords
        form.instance.latitude, form.instance.longitude = coords


class AddressForm(_ChildForm):
    class Meta:
        model = Address
        fields = (
            "name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _location_clean(self, data, required=False)  # an unknown place is kept without them
        return data


class AddressInline(_ChildInline):
    model = Address
    form = AddressForm


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    list_display = ("name", "email", "country", "created_at")
    search_fields = ("name", "email")
    list_filter = ("country",)
    fields = ("name", "email", "country")
    inlines = [AddressInline]
    add_roles = SALES_ENTRY
    change_roles = SALES_ENTRY

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _save_children(formset, form.instance)


class WarehouseForm(TenantScopedModelForm):
    class Meta:
        model = Warehouse
        fields = (
            "code",
            "name",
            "line1",
            "city",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "priority",
            "daily_capacity",
            "is_store",
            "active",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _location_clean(self, data, required=True)
        return data


@admin.register(Warehouse)
class WarehouseAdmin(TenantScopedAdmin):
    form = WarehouseForm
    list_display = (
        "code",
        "name",
        "city",
        "country",
        "priority",
        "daily_capacity",
        "is_store",
        "active",
    )
    list_filter = ("is_store", "active", "country")
    search_fields = ("code", "name", "city")
    add_roles = REFERENCE_DATA
    change_roles = REFERENCE_DATA


@admin.register(Stock)
class StockAdmin(TenantScopedAdmin):
    """Read-only here: goods are received and counted through the stock services (API)."""

    list_display = ("warehouse", "product", "on_hand", "allocated", "reserved", "available_label")
    list_filter = ("warehouse",)
    search_fields = ("product__sku", "warehouse__code")
    list_select_related = ("warehouse", "product")
    readonly_fields = ("warehouse", "product", "on_hand", "allocated", "reserved")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="available")
    def available_label(self, obj: Stock) -> Decimal:
        return obj.available


class LineInline(ReadOnlyChildInline):
    model = SalesOrderLine
    ordering = ("line_no",)
    fields = ("line_no", "sku", "quantity", "unit_price", "discount", "tax", "total")
    readonly_fields = fields


class AllocationInline(ReadOnlyChildInline):
    model = Allocation
    ordering = ("line_id", "id")
    fields = ("id", "line", "warehouse", "quantity", "distance_km", "status")
    readonly_fields = fields


class MoveForm(forms.Form):
    allocation = forms.IntegerField(min_value=1)
    warehouse = forms.IntegerField(min_value=1)
    quantity = forms.DecimalField(max_digits=14, decimal_places=3, required=False)
    reason = forms.CharField(max_length=500, required=False)


@admin.register(SalesOrder)
class SalesOrderAdmin(TenantScopedAdmin):
    """The order inbox across channels."""

    change_form_template = "admin/commerce/salesorder/change_form.html"
    list_display = (
        "reference",
        "channel",
        "external_id",
        "marketplace_status",
        "status_label",
        "payment_status",
        "fulfilment_status",
        "allocation_state",
        "grand_total",
        "currency",
        "grand_total_base",
        "created_at",
    )
    list_filter = (
        "channel",
        "order__status",
        "payment_status",
        "fulfilment_status",
        "allocation_state",
    )
    search_fields = ("order__reference", "external_id", "customer__email", "ship_name")
    list_select_related = ("order", "channel")
    readonly_fields = (
        "order",
        "channel",
        "external_id",
        "marketplace_status",
        "customer",
        "ship_name",
        "ship_line1",
        "ship_city",
        "ship_postal_code",
        "ship_country",
        "ship_latitude",
        "ship_longitude",
        "currency",
        "subtotal",
        "discount_total",
        "tax_total",
        "shipping_total",
        "grand_total",
        "base_currency",
        "fx_rate",
        "grand_total_base",
        "payment_status",
        "fulfilment_status",
        "allocation_state",
        "promised_date",
        "exchange_of",
        "placed_at",
    )
    fields = readonly_fields
    inlines = [LineInline, AllocationInline]
    actions = ["cancel_selected", "route_selected"]
    view_roles = ALL_ROLES
    change_roles = ALL_ROLES  # the page only offers buttons; each checks its role
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None

    @admin.display(description="reference", ordering="order__reference")
    def reference(self, obj: SalesOrder) -> str:
        return obj.order.reference

    @admin.display(description="status", ordering="order__status")
    def status_label(self, obj: SalesOrder) -> str:
        return str(obj.order.get_status_display())

    def _may_work(self, request: HttpRequest) -> bool:
        tenant = request_tenant(request)
        return bool(
            request.user.is_superuser
            or (
                tenant is not None
                and user_has_role(user=request.user, tenant_id=tenant.pk, roles=SALES_ENTRY)
            )
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        live = obj is not None and obj.order.status in LIVE_STATUSES
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "may_work": live and self._may_work(request),
            "buttons": ORDER_BUTTONS,
            "active_allocations": (
                list(
                    Allocation.objects.for_tenant(obj.tenant_id)
                    .filter(sales_order=obj, status=AllocationStatus.ACTIVE)
                    .select_related("warehouse", "line")
                )
                if obj is not None
                else []
            ),
            "warehouses": scoped_queryset(Warehouse, request).filter(active=True),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                wrap(self.transition_view),
                name="commerce_salesorder_transition",
            ),
            path(
                "<path:object_id>/route/", wrap(self.route_view), name="commerce_salesorder_route"
            ),
            path("<path:object_id>/move/", wrap(self.move_view), name="commerce_salesorder_move"),
            *super().get_urls(),
        ]

    def _order_or_404(self, request: HttpRequest, object_id: str) -> SalesOrder:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        return obj

    def _back(self, obj: SalesOrder) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:commerce_salesorder_change", args=[obj.pk]))

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        obj = self._order_or_404(request, object_id)
        if name not in ORDER_BUTTONS:
            raise Http404("No such transition.")
        if request.method != "POST":
            return self._back(obj)
        try:
            order_transition(
                tenant=obj.tenant,
                order_id=obj.pk,
                transition=name,
                actor=request.user,
                reason=request.POST.get("reason", "")[:500],
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal(name.capitalize(), exc), messages.ERROR)
        else:
            self.message_user(request, f"{obj.order.reference}: {name} done.")
        return self._back(obj)

    def route_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._order_or_404(request, object_id)
        if request.method == "POST" and self._may_work(request):
            outcomes = sales_orders_route(
                tenant_id=obj.tenant_id, order_ids=[obj.pk], actor=request.user
            )
            state = outcomes[0].state if outcomes else "nothing to route"
            self.message_user(request, f"{obj.order.reference}: {state}.")
        return self._back(obj)

    def move_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._order_or_404(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        if not self._may_work(request):
            self.message_user(request, "Your role may not move allocations.", messages.ERROR)
            return self._back(obj)
        form = MoveForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{f}: {' '.join(map(str, m))}" for f, m in form.errors.items())
            self.message_user(request, f"Move refused: {errors}", messages.ERROR)
            return self._back(obj)
        data = form.cleaned_data
        allocation_ids = set(
            Allocation.objects.for_tenant(obj.tenant_id)
            .filter(sales_order=obj)
            .values_list("pk", flat=True)
        )
        if data["allocation"] not in allocation_ids:
            self.message_user(
                request, "Move refused: not an allocation of this order.", messages.ERROR
            )
            return self._back(obj)
        try:
            allocation_move(
                tenant=obj.tenant,
                actor=request.user,
                allocation_id=data["allocation"],
                warehouse_id=data["warehouse"],
                quantity=data["quantity"],
                reason=data["reason"],
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Move", exc), messages.ERROR)
        except InvalidOperation:
            self.message_user(request, "Move refused: invalid number.", messages.ERROR)
        else:
            self.message_user(request, f"{obj.order.reference}: allocation moved.")
        return self._back(obj)

    @admin.action(description="Cancel selected orders")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[SalesOrder]) -> None:
        done, refused = orders_cancel_each(
            orders=[s.order for s in queryset.select_related("order__tenant").order_by("pk")],
            actor=request.user,
            reason="Canceled from the order inbox.",
        )
        if done:
            self.message_user(request, f"Canceled {done} order(s).")
        if refused:
            self.message_user(request, "Not canceled: " + ", ".join(refused), messages.WARNING)

    @admin.action(description="Route selected orders to warehouses now")
    def route_selected(self, request: HttpRequest, queryset: QuerySet[SalesOrder]) -> None:
        if not self._may_work(request):
            self.message_user(request, "Your role may not route orders.", messages.ERROR)
            return
        by_tenant: dict[int, list[int]] = {}
        for tenant_id, pk in queryset.order_by("pk").values_list("tenant_id", "pk"):
            by_tenant.setdefault(tenant_id, []).append(pk)
        changed = 0
        for tenant_id, ids in by_tenant.items():
            outcomes = sales_orders_route(tenant_id=tenant_id, order_ids=ids, actor=request.user)
            changed += sum(1 for o in outcomes if o.changed)
        self.message_user(request, f"Routed {changed} order(s).")
