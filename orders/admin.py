from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django_fsm.admin import FSMAdminMixin

from oms_site.errors import ApplicationError
from orders import services
from orders.models import HUMAN_TRANSITIONS, Order, OrderEvent
from tenancy.admin_base import ReadOnlyChildInline, TenantScopedAdmin
from tenancy.roles import ALL_ROLES


class OrderEventInline(ReadOnlyChildInline):
    """The journal, read-only: no add, change or delete from the admin."""

    model = OrderEvent
    ordering = ("created_at", "id")
    fields = ("created_at", "kind", "from_status", "to_status", "actor_name", "reason", "data")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(FSMAdminMixin, TenantScopedAdmin):
    """Orders are created by the services (API, domain screens), not with a bare admin form.

    The transition buttons are those the user's role may run in the order's tenant; each one
    goes through ``orders.services.order_transition`` (row lock, role check, journal).
    """

    fsm_fields = ["status"]
    list_display = ("reference", "kind", "client_order_id", "status", "created_by", "created_at")
    list_filter = ("kind", "status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reference", "client_order_id")
    readonly_fields = (
        "tenant",
        "reference",
        "kind",
        "client_order_id",
        "status",
        "status_reason",
        "note",
        "expires_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [OrderEventInline]
    actions = ["cancel_selected"]
    list_select_related = ("created_by",)
    view_roles = ALL_ROLES
    change_roles = ALL_ROLES  # the change page only offers transitions; each checks its role

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        # Every field is read-only: the only actions on the page are the transition buttons.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Nothing on the page is editable; a transition button must not write the whole row
        # (it would overwrite a concurrent status change). The service does the writing.
        return None

    def response_change(self, request: HttpRequest, obj: Any) -> Any:
        name = request.POST.get(self.fsm_post_param)
        if name and name not in HUMAN_TRANSITIONS:
            self.message_user(request, f"'{name}' is not a manual transition.", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def fsm_transition_view(
        self, request: HttpRequest, object_id: str, transition_name: str, **kwargs: Any
    ) -> Any:
        if transition_name not in HUMAN_TRANSITIONS:
            raise Http404("No such transition.")
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def _apply_fsm_transition(
        self,
        *,
        obj: Order,  # type: ignore[override]
        transition_name: str,
        request: HttpRequest,
        kwargs: Any = None,
    ) -> bool:
        if transition_name not in HUMAN_TRANSITIONS:
            self.message_user(
                request, f"'{transition_name}' is not a manual transition.", messages.ERROR
            )
            return False
        try:
            services.order_transition(
                tenant=obj.tenant,
                order_id=obj.pk,
                transition=transition_name,
                actor=request.user,
                reason=(kwargs or {}).get("reason", ""),
            )
        except ApplicationError as exc:
            self.message_user(request, f"{transition_name}: {exc.message}", messages.ERROR)
            return False
        self.message_user(request, f"{obj.reference}: {transition_name} done.", messages.SUCCESS)
        return True

    @admin.action(description="Cancel selected orders")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done, refused = services.orders_cancel_each(
            orders=queryset.select_related("tenant").order_by("pk"),
            actor=request.user,
            reason="Canceled from the admin list.",
        )
        if done:
            self.message_user(request, f"Canceled {done} order(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not canceled: " + ", ".join(refused), messages.WARNING)
