"""Tenant resolution and the tenant-scoped API base classes.

Every tenant API view derives from :class:`TenantAPIView` / :class:`TenantViewSet`. Their
``initial()`` resolves the caller's tenant before any handler runs, and their ``get_queryset``
is built from ``tenant_queryset(tenant)`` only, so a view cannot forget to scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import generics, serializers, viewsets
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from oms_site.errors import PermissionDenied, ValidationFailed
from tenancy.models import Membership, Tenant
from tenancy.roles import ALL_ROLES
from tenancy.scoping import TenantManager
from tenancy.selectors import memberships_of_user

TENANT_HEADER = "X-Tenant"


def tenant_resolve_for_api(request: Request) -> Membership:
    """The caller's membership: the only one, or the one named by ``X-Tenant``.

    A slug the user is not a member of answers 403 with the same message as a slug that does
    not exist, so probing reveals nothing.
    """
    memberships = memberships_of_user(user=request.user)
    slug = request.headers.get(TENANT_HEADER)
    if slug:
        for membership in memberships:
            if membership.tenant.slug == slug:
                return membership
        raise PermissionDenied("You are not a member of this tenant.")
    if not memberships:
        raise PermissionDenied("You are not a member of any tenant.")
    if len(memberships) > 1:
        raise ValidationFailed(
            errors={TENANT_HEADER: ["Required: you belong to several tenants; name one by slug."]}
        )
    return memberships[0]


class TenantRolePermission(BasePermission):
    """Checks the caller's role in the resolved tenant against the view's role map."""

    def has_permission(self, request: Request, view: Any) -> bool:
        membership: Membership | None = getattr(request, "membership", None)
        if membership is None:
            return False
        roles = view.roles_for(request)
        return membership.role in roles


class TenantAPIView(generics.GenericAPIView):
    """Resolves ``request.tenant`` / ``request.membership`` and scopes every queryset.

    ``read_roles`` apply to safe methods, ``write_roles`` to the rest; ``action_roles`` overrides
    per viewset action. Subclasses implement ``tenant_queryset(tenant)``; ``get_queryset`` is
    built from it only, so a view cannot forget to scope.
    """

    permission_classes = [TenantRolePermission]
    read_roles: Iterable[str] = ALL_ROLES
    write_roles: Iterable[str] = ()
    action_roles: dict[str, Iterable[str]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise MethodNotAllowed(request.method or "")  # 405 before any role check
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            membership = tenant_resolve_for_api(request)
            request.membership = membership  # type: ignore[attr-defined]
            request.tenant = membership.tenant  # type: ignore[attr-defined]
        super().initial(request, *args, **kwargs)

    @property
    def tenant(self) -> Tenant:
        tenant: Tenant = self.request.tenant  # type: ignore[attr-defined]
        return tenant

    def roles_for(self, request: Request) -> frozenset[str]:
        action = getattr(self, "action", None)
        if action and action in self.action_roles:
            return frozenset(self.action_roles[action])
        return frozenset(self.read_roles if request.method in SAFE_METHODS else self.write_roles)

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request tenant
            assert self.queryset is not None
            return self.queryset.none()
        return self.tenant_queryset(self.tenant)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["tenant"] = getattr(self.request, "tenant", None)
        return context


class TenantViewSet(viewsets.ViewSetMixin, TenantAPIView):
    lookup_value_regex = "[0-9]{1,18}"


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key field that only sees the request tenant's rows.

    Another tenant's id fails exactly like a missing one ("object does not exist").
    """

    def __init__(self, *, model: type[Model], **kwargs: Any) -> None:
        manager = model._default_manager
        if not isinstance(manager, TenantManager):
            raise TypeError(f"{model.__name__} is not tenant-owned.")
        self.manager: TenantManager[Any] = manager
        kwargs.setdefault("queryset", manager.all_tenants(reason="placeholder").none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        tenant = self.context.get("tenant")
        if tenant is None:
            return self.manager.all_tenants(reason="no tenant: match nothing").none()
        return self.manager.for_tenant(tenant)


class TenantSlugRelatedField(serializers.SlugRelatedField):
    """Names a tenant-owned object by a code (``slug_field``), seen in the request tenant only.

    Another tenant's code fails exactly like an unknown one. A value no code can be (not a
    string, longer than the column, NUL or surrogate characters) fails before any query, with
    the same message on every database.
    """

    default_error_messages = {
        "does_not_exist": "No {slug_name} {value}.",
        "invalid": "Must be a string.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
        "null_characters": "Null characters are not allowed.",
        "surrogate_characters": "Surrogate characters are not allowed: U+{code_point:X}.",
    }

    def __init__(self, *, model: type[Model], slug_field: str, **kwargs: Any) -> None:
        manager = model._default_manager
        if not isinstance(manager, TenantManager):
            raise TypeError(f"{model.__name__} is not tenant-owned.")
        self.manager: TenantManager[Any] = manager
        column = model._meta.get_field(slug_field)
        self.slug_max_length: int = getattr(column, "max_length", None) or 200
        kwargs.setdefault("queryset", manager.all_tenants(reason="placeholder").none())
        super().__init__(slug_field=slug_field, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        tenant = self.context.get("tenant")
        if tenant is None:
            return self.manager.all_tenants(reason="no tenant: match nothing").none()
        return self.manager.for_tenant(tenant)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > self.slug_max_length:
            self.fail("max_length", max_length=self.slug_max_length)
        if "\x00" in data:
            self.fail("null_characters")
        for char in data:
            if 0xD800 <= ord(char) <= 0xDFFF:
                self.fail("surrogate_characters", code_point=ord(char))
        known = related_prefetched(self.context, self.manager.model, self.slug_field)
        if known is not None:
            if data not in known:
                self.fail("does_not_exist", slug_name=self.slug_field, value=data)
            return known[data]
        return super().to_internal_value(data)


PREFETCH_KEY = "related_prefetch"


def related_prefetch(
    context: dict[str, Any], *, model: type[Model], slug_field: str, values: Iterable[Any]
) -> None:
    """Load, in one query, the tenant's ``model`` rows named by ``values`` into ``context``, so
    that serializers validating many items (a batch) look each code up once, not per item.
    A code absent from the result is unknown: the field fails as it would after its query."""
    tenant = context["tenant"]
    codes = {v for v in values if _queryable(v)}
    manager = model._default_manager
    assert isinstance(manager, TenantManager)
    rows = manager.for_tenant(tenant).filter(**{f"{slug_field}__in": codes})
    context.setdefault(PREFETCH_KEY, {})[(model, slug_field)] = {
        getattr(row, slug_field): row for row in rows
    }


def _queryable(value: Any) -> bool:
    """A code a database can be asked about (others fail in the field before any query)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def related_prefetched(
    context: Mapping[str, Any], model: type[Model], slug_field: str
) -> dict[str, Any] | None:
    """The rows ``related_prefetch`` loaded for (model, slug_field), or None."""
    loaded: dict[tuple[type[Model], str], dict[str, Any]] = context.get(PREFETCH_KEY) or {}
    return loaded.get((model, slug_field))
