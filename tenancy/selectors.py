from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tenancy.models import Membership, Tenant

_ROLE_CACHE_ATTR = "_oms_tenant_roles"


def memberships_of_user(*, user: Any) -> list[Membership]:
    """The user's active memberships in active tenants, ordered by tenant slug.

    Always reads the database, and refreshes the role cache that ``user_role`` reads; the API
    and the admin call it at the start of every request, so roles are never stale past one.
    """
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = list(
        Membership.objects.all_tenants(reason="a user's own memberships span tenants")
        .filter(user_id=user.pk, active=True, tenant__active=True)
        .select_related("tenant")
        .order_by("tenant__slug")
    )
    setattr(user, _ROLE_CACHE_ATTR, {m.tenant_id: m.role for m in memberships})
    return memberships


def user_role(*, user: Any, tenant_id: int) -> str | None:
    """The user's role in the tenant, or None (cached on the user object, see above)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache: dict[int, str] | None = getattr(user, _ROLE_CACHE_ATTR, None)
    if cache is None:
        memberships_of_user(user=user)
        cache = getattr(user, _ROLE_CACHE_ATTR)
    return cache.get(tenant_id)


def user_has_role(*, user: Any, tenant_id: int, roles: Iterable[str]) -> bool:
    role = user_role(user=user, tenant_id=tenant_id)
    return role is not None and role in set(roles)


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()
