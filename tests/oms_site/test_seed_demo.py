from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from orders.models import Order, OrderEvent, OrderSequence
from tenancy.models import Membership, Tenant

EXPECTED_ROLES = {
    "acme.admin": ("acme-capital", "admin"),
    "acme.trader": ("acme-capital", "trader"),
    "acme.pm": ("acme-capital", "portfolio_manager"),
    "acme.compliance": ("acme-capital", "compliance_officer"),
    "acme.compliance2": ("acme-capital", "compliance_officer"),
    "acme.ops": ("acme-capital", "operations"),
    "globex.admin": ("globex-goods", "admin"),
    "globex.seller": ("globex-goods", "seller"),
    "globex.ops": ("globex-goods", "operations"),
    "globex.compliance": ("globex-goods", "compliance_officer"),
    "globex.compliance2": ("globex-goods", "compliance_officer"),
    "initech.admin": ("initech", "admin"),
}


def _snapshot() -> dict:
    user_model = get_user_model()
    reason = "test snapshot across tenants"
    return {
        "tenants": list(Tenant.objects.order_by("pk").values()),
        "users": list(user_model.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.all_tenants(reason=reason).order_by("pk").values()),
        "orders": list(Order.objects.all_tenants(reason=reason).order_by("pk").values()),
        "events": list(OrderEvent.objects.all_tenants(reason=reason).order_by("pk").values()),
        "sequences": list(OrderSequence.objects.all_tenants(reason=reason).order_by("pk").values()),
    }


@pytest.mark.django_db
def test_seed_demo_creates_tenants_users_roles_and_orders(settings):
    # given a fresh database and a demo password
    settings.DEMO_PASSWORD = "s3cret-demo"
    # when
    call_command("seed_demo", stdout=io.StringIO())
    # then
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == [
        "acme-capital",
        "globex-goods",
        "initech",
    ]
    user_model = get_user_model()
    root = user_model.objects.get(username="root")
    assert root.is_superuser is True
    assert root.check_password("s3cret-demo") is True
    roles = {
        m.user.username: (m.tenant.slug, m.role)
        for m in Membership.objects.all_tenants(reason="test").select_related("user", "tenant")
    }
    assert roles == EXPECTED_ROLES
    for username in EXPECTED_ROLES:
        user = user_model.objects.get(username=username)
        assert user.is_staff is True
        assert user.check_password("s3cret-demo") is True
    references = sorted(
        Order.objects.all_tenants(reason="test").values_list("tenant__slug", "reference")
    )
    # acme: 3 demo trade orders + 11 of the planted surveillance history; globex: 2 generic
    # demo orders + 5 routed commerce orders
    assert references == [
        *[("acme-capital", f"T-{n:06d}") for n in range(1, 15)],
        *[("globex-goods", f"S-{n:06d}") for n in range(1, 8)],
        ("initech", "S-000001"),
        ("initech", "T-000001"),
    ]


@pytest.mark.django_db
def test_seed_demo_second_run_changes_nothing():
    # given a seeded database
    call_command("seed_demo", stdout=io.StringIO())
    before = _snapshot()
    # when it runs again
    call_command("seed_demo", stdout=io.StringIO())
    # then every row is byte-for-byte the same and nothing was added
    assert _snapshot() == before
