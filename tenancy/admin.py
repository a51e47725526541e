from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from tenancy.admin_base import TenantRoleAdminMixin, TenantScopedAdmin, scoped_queryset
from tenancy.models import Membership, Tenant
from tenancy.roles import TENANT_ADMINS


@admin.register(Tenant)
class TenantAdmin(TenantRoleAdminMixin, admin.ModelAdmin):
    """Staff see their working tenant only; creating tenants is a platform (superuser) job."""

    list_display = ("slug", "name", "base_currency", "timezone", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("slug", "name")
    change_roles = TENANT_ADMINS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return scoped_queryset(Tenant, request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if request.user.is_superuser else ("slug", "active")


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Tenant admins manage roles of their tenant's users.

    Users are platform-wide, so the user choice lists only users already in the working tenant
    (a tenant admin cannot browse other firms' users); a superuser adds a new user to a tenant.
    """

    list_display = ("user", "role", "active", "tenant", "created_at")
    list_filter = ("role", "active")
    search_fields = ("user__username", "user__email")
    delete_roles = TENANT_ADMINS

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user" and not request.user.is_superuser:
            tenant = getattr(request, "admin_tenant", None)
            member_ids = Membership.objects.for_tenant(tenant).values("user_id") if tenant else []
            kwargs["queryset"] = get_user_model().objects.filter(pk__in=member_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
