"""Admin tenant resolution: ``request.admin_tenant`` for every /admin/ request.

A staff user works in one tenant at a time: the one chosen with the tenant switcher (kept in the
session), else their first membership. A superuser may choose a tenant or none (= all tenants).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenancy.models import Membership, Tenant
from tenancy.selectors import memberships_of_user

SESSION_KEY = "oms_admin_tenant"


def admin_tenant_resolve(request: HttpRequest) -> tuple[Tenant | None, list[Membership]]:
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return None, []
    memberships = memberships_of_user(user=user)
    chosen = request.session.get(SESSION_KEY)
    if user.is_superuser:
        tenant = Tenant.objects.filter(slug=chosen).first() if chosen else None
        return tenant, memberships
    for membership in memberships:
        if membership.tenant.slug == chosen:
            return membership.tenant, memberships
    return (memberships[0].tenant if memberships else None), memberships


class AdminTenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.admin_tenant = None  # type: ignore[attr-defined]
        request.admin_memberships = []  # type: ignore[attr-defined]
        if request.path.startswith("/admin/"):
            tenant, memberships = admin_tenant_resolve(request)
            request.admin_tenant = tenant  # type: ignore[attr-defined]
            request.admin_memberships = memberships  # type: ignore[attr-defined]
        return self.get_response(request)
