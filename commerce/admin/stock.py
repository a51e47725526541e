"""Commerce admin: reservations (goods held for a cart or for an order awaiting payment).

The list shows, per reservation, the product, the warehouse, the quantity, what it is held for
(a cart, named by its reference, or an order), its expiry and its state; it filters by state,
by what it is held for, by expiry (due: active and past its expiry, waiting for the beat task
``route_reservations_expire``) and by warehouse, and searches by SKU, order reference and cart
reference.

Rows are read-only: reservations are created through the stock services (API) and end by
routing (consumed into allocations), their expiry, or a release. The one write here is the
action "Release selected reservations", offered to the roles that enter sales orders (admin,
seller, operations, as in the API): it calls ``commerce.services.stock.reservation_release``
for each selected reservation of the working tenant (the goods become available again and the
product's backorders are retried). A reservation already released is left alone and named in
a warning; a consumed one is refused by the service and named with its reason; another
tenant's reservation is never part of the selection (the changelist is scoped to the working
tenant).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from commerce.models import Reservation, ReservationStatus
from commerce.services.stock import reservation_release
from oms_site.errors import ApplicationError
from tenancy.admin_base import TenantRelatedFieldListFilter, TenantScopedAdmin, request_tenant
from tenancy.roles import ALL_ROLES, SALES_ENTRY

CART, ORDER = "cart", "order"
DUE, NOT_DUE = "due", "not_due"


class HeldForFilter(admin.SimpleListFilter):
    title = "held for"
    parameter_name = "held_for"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(CART, "A cart"), (ORDER, "An order awaiting payment")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == CART:
            return queryset.filter(sales_order__isnull=True)
        if self.value() == ORDER:
            return queryset.filter(sales_order__isnull=False)
        return queryset


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(DUE, "Due for release"), (NOT_DUE, "Active, not yet due")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        active = queryset.filter(status=ReservationStatus.ACTIVE)
        if self.value() == DUE:
            return active.filter(expires_at__lte=timezone.now())
        if self.value() == NOT_DUE:
            return active.filter(expires_at__gt=timezone.now())
        return queryset


@admin.register(Reservation)
class ReservationAdmin(TenantScopedAdmin):
    list_display = (
        "id",
        "sku",
        "warehouse",
        "quantity",
        "held_for",
        "holder",
        "expires_at",
        "state",
        "created_at",
    )
    list_filter = (
        "status",
        HeldForFilter,
        ExpiryFilter,
        ("stock__warehouse", TenantRelatedFieldListFilter),
    )
    search_fields = ("stock__product__sku", "sales_order__order__reference", "reference")
    list_select_related = ("stock__warehouse", "stock__product", "sales_order__order")
    readonly_fields = (
        "sku",
        "warehouse",
        "quantity",
        "held_for",
        "holder",
        "expires_at",
        "state",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    actions = ["release_selected"]
    view_roles = ALL_ROLES
    ordering = ("expires_at", "id")

    @admin.display(description="SKU", ordering="stock__product__sku")
    def sku(self, obj: Reservation) -> str:
        return obj.stock.product.sku

    @admin.display(description="warehouse", ordering="stock__warehouse__code")
    def warehouse(self, obj: Reservation) -> str:
        return obj.stock.warehouse.code

    @admin.display(description="held for")
    def held_for(self, obj: Reservation) -> str:
        return ORDER if obj.sales_order_id else CART

    @admin.display(description="holder")
    def holder(self, obj: Reservation) -> str:
        if obj.sales_order is not None:
            return obj.sales_order.order.reference
        return obj.reference or "-"

    @admin.display(description="state", ordering="status")
    def state(self, obj: Reservation) -> str:
        label = str(obj.get_status_display())
        if obj.status == ReservationStatus.ACTIVE and obj.expires_at <= timezone.now():
            return f"{label}, due for release"
        return label

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # superusers too: reservations are made through the stock services

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_release_permission(self, request: HttpRequest) -> bool:
        return self._has_role(request, SALES_ENTRY)

    @admin.action(description="Release selected reservations", permissions=["release"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        working = request_tenant(request)
        released: list[str] = []
        left: list[str] = []
        refused: list[str] = []
        for reservation in queryset.select_related("tenant", "stock__product").order_by("pk"):
            name = f"#{reservation.pk}"
            if reservation.status == ReservationStatus.RELEASED:
                left.append(name)
                continue
            try:
                done = reservation_release(
                    tenant=working or reservation.tenant,
                    actor=request.user,
                    reservation_id=reservation.pk,
                )
            except ApplicationError as exc:
                refused.append(f"{name}: {exc.message}")
                continue
            released.append(f"{name} ({done.quantity} {reservation.stock.product.sku})")
        self._report(request, released, left, refused)

    def _report(
        self, request: HttpRequest, released: list[str], left: list[str], refused: list[str]
    ) -> None:
        if not (released or left or refused):
            self.message_user(request, "No reservation to release.", messages.WARNING)
        if released:
            self.message_user(
                request, f"Released {len(released)} reservation(s): " + ", ".join(released)
            )
        if left:
            self.message_user(
                request, "Already released, left alone: " + ", ".join(left), messages.WARNING
            )
        if refused:
            self.message_user(request, "Not released: " + "; ".join(refused), messages.ERROR)
