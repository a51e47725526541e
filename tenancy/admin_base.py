"""The base of every tenant-owned model's admin.

Staff see and edit only their working tenant's rows: the changelist, change pages, foreign-key
choices, search, related-field filters and actions all start from ``get_queryset``, which is
scoped here. New rows get the working tenant. Permissions come from the user's role in that
tenant (``*_roles``), never from Django's global permissions. Superusers see every tenant, or
the one they switched to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest

from tenancy.models import Tenant, TenantOwned
from tenancy.roles import ALL_ROLES, TENANT_ADMINS
from tenancy.scoping import TenantManager
from tenancy.selectors import user_has_role


def request_tenant(request: HttpRequest) -> Tenant | None:
    return getattr(request, "admin_tenant", None)


def scoped_queryset(model: type[models.Model], request: HttpRequest) -> QuerySet[Any]:
    """The rows of ``model`` this admin request may see."""
    manager = model._default_manager
    tenant = request_tenant(request)
    if isinstance(manager, TenantManager):
        if tenant is not None:
            return manager.for_tenant(tenant)
        if request.user.is_superuser:
            return manager.all_tenants(reason="superuser admin without a working tenant")
        return manager.all_tenants(reason="no tenant: nothing visible").none()
    if model is Tenant:
        if tenant is not None:
            return Tenant.objects.filter(pk=tenant.pk)
        return Tenant.objects.all() if request.user.is_superuser else Tenant.objects.none()
    return manager.all()


class TenantRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field filter whose choices come from the working tenant only."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        ordering = self.field_admin_ordering(field, request, model_admin)
        qs = scoped_queryset(field.related_model, request)
        if ordering:
            qs = qs.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in qs]


class TenantScopedModelForm(forms.ModelForm):
    """Validates a staff user's row as a row of their working tenant.

    Staff never see the tenant field, so Django would leave it out of validation and skip every
    uniqueness rule that includes it; the insert would then fail with an IntegrityError (a 500).
    ``TenantScopedAdmin.get_form`` binds the working tenant: a new instance gets it before
    validation, and the tenant takes part in the unique checks.
    """

    working_tenant: Tenant | None = None

    def _post_clean(self) -> None:
        if self.working_tenant is not None and getattr(self.instance, "tenant_id", None) is None:
            self.instance.tenant = self.working_tenant
        super()._post_clean()  # type: ignore[misc]

    def _get_validation_exclusions(self) -> set[str]:
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        if getattr(self.instance, "tenant_id", None) is not None:
            exclude.discard("tenant")
        return exclude


class TenantRoleAdminMixin:
    view_roles: Iterable[str] = ALL_ROLES
    add_roles: Iterable[str] = TENANT_ADMINS
    change_roles: Iterable[str] = TENANT_ADMINS
    delete_roles: Iterable[str] = ()

    def _has_role(self, request: HttpRequest, roles: Iterable[str]) -> bool:
        if request.user.is_superuser:
            return True
        tenant = request_tenant(request)
        if tenant is None or not request.user.is_staff:
            return False
        return user_has_role(user=request.user, tenant_id=tenant.pk, roles=roles)

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> Any:
        # Missing and another tenant's object answer alike: 404, not a redirect with a message.
        raise Http404("Not found.")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._has_role(request, self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request, self.view_roles)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._has_role(request, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request, self.delete_roles)


class TenantScopedAdmin(TenantRoleAdminMixin, admin.ModelAdmin):
    form = TenantScopedModelForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = scoped_queryset(self.model, request)
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and issubclass(self.model, TenantOwned):
            exclude.append("tenant")
        return exclude

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant = request_tenant(request)
        hidden = "tenant" not in form.base_fields
        if tenant is not None and hidden and issubclass(form, TenantScopedModelForm):
            form.working_tenant = tenant  # a class built for this request by modelform_factory
        return form

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str):
                field = self.model._meta.get_field(item) if "__" not in item else None
                if field is not None and field.is_relation and field.related_model is not None:
                    item = (item, TenantRelatedFieldListFilter)
            filters.append(item)
        return filters

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        related = db_field.related_model
        if issubclass(related, TenantOwned) or related is Tenant:
            kwargs["queryset"] = scoped_queryset(related, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tenant = request_tenant(request)
        new_row = not change and isinstance(obj, TenantOwned) and tenant is not None
        if new_row and (not request.user.is_superuser or not obj.tenant_id):
            obj.tenant = tenant
        super().save_model(request, obj, form, change)


class ReadOnlyChildInline(admin.TabularInline):
    """A read-only inline of a tenant-owned child under an already tenant-scoped parent.

    Whoever may view the parent may read its children; nobody adds, changes or deletes them
    here. The parent's scope decides the tenant: the inline only filters by the parent.
    """

    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        manager = self.model._default_manager
        assert isinstance(manager, TenantManager)
        return manager.all_tenants(reason="inline of an already scoped parent")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
