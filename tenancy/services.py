from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from tenancy.models import Membership, Tenant


@transaction.atomic
def tenant_ensure(
    *, slug: str, name: str, base_currency: str = "USD", timezone: str = "UTC"
) -> Tenant:
    """Create the tenant if missing; an existing one is left as it is (idempotent)."""
    tenant, _ = Tenant.objects.get_or_create(
        slug=slug, defaults={"name": name, "base_currency": base_currency, "timezone": timezone}
    )
    return tenant


@transaction.atomic
def user_ensure(
    *, username: str, password: str, is_staff: bool = True, is_superuser: bool = False
) -> Any:
    """Create the user with this password if missing; an existing user is not touched."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create_user(
            username=username,
            password=password,
            email=f"{username}@example.com",
            is_staff=is_staff,
            is_superuser=is_superuser,
        )
    return user


@transaction.atomic
def membership_ensure(*, tenant: Tenant, user: Any, role: str) -> Membership:
    membership, _ = Membership.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    return membership
