from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from compliance.services.counters import counters_reset
from orders import kinds, screening
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from trading import fill_listeners

IS_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
BROKER = os.environ.get("CELERY_BROKER_URL", "")
HAS_REDIS = BROKER.startswith("redis://")


# Suites that start real Celery workers or restart Redis: they share the broker and the Redis
# server with nothing else, so under pytest-xdist they run in a pytest run of their own
# (``-m serial``; ``-m "not serial"`` for the parallel run), see .ci/run.
SERIAL = ("tests/reliability/", "tests/browser/", "tests/oms_site/test_celery_worker.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    serial = pytest.mark.serial
    for item in items:
        if any(part in item.nodeid for part in SERIAL):
            item.add_marker(serial)
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (.ci/run does)"
    )
    skip_redis = pytest.mark.skip(
        reason="needs Redis: run with CELERY_BROKER_URL=redis://... (.ci/run does)"
    )
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not HAS_REDIS:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _clean_cache_and_registries(request: Any) -> Iterator[None]:
    cache.clear()
    counters_reset()  # the screens' in-process counters, like the cache
    screens_before = dict(screening._registry)
    listeners = fill_listeners._listeners  # the list itself: a test may monkeypatch the name
    listeners_before = list(listeners)
    policies_before = dict(kinds._policies)
    path = str(request.node.path)
    # The fault, hostile-input and browser suites run the whole product.
    whole = ("tests/reliability", "tests/hostile", "tests/browser")
    domains = ("tests/trading", "tests/commerce", "tests/compliance", *whole)
    if not any(suite in path for suite in domains):
        # The foundation suites test the common workflow itself, with no domain policy.
        kinds._policies.clear()
    if not any(suite in path for suite in ("tests/compliance", *whole)):
        # Compliance registers its screens and its fill listener at start-up; the other suites
        # test their own behaviour without compliance.
        screening._registry.clear()
        listeners.clear()
    yield
    listeners[:] = listeners_before
    screening._registry.clear()
    screening._registry.update(screens_before)
    kinds._policies.clear()
    kinds._policies.update(policies_before)
    cache.clear()
    counters_reset()


@pytest.fixture
def tenant(db: Any) -> Any:
    return TenantFactory(slug="alpha")


@pytest.fixture
def other_tenant(db: Any) -> Any:
    return TenantFactory(slug="beta")


def member(tenant: Any, role: str, **user_kwargs: Any) -> Any:
    user = UserFactory(**user_kwargs)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def trader(tenant: Any) -> Any:
    return member(tenant, "trader", username="alpha.trader")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: Any, tenant_slug: str | None = None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    if tenant_slug:
        client.credentials(HTTP_X_TENANT=tenant_slug)
    return client


# --- tenancy suites (tests/tenancy, tests/oms_site) -----------------------------------------


def admin_client_for(user: Any) -> Any:
    """A Django test client logged in (session) as ``user``: the admin's way in."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def tenancy_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every tenant, membership, order, journal row and counter: compare around a refusal."""
    from orders.models import Order, OrderEvent, OrderSequence
    from tenancy.models import Membership, Tenant

    why = "test snapshot across every tenant"
    return {
        "tenants": list(
            Tenant.objects.order_by("pk").values_list("pk", "slug", "name", "active", "updated_at")
        ),
        "memberships": list(
            Membership.objects.all_tenants(reason=why)
            .order_by("pk")
            .values_list("pk", "tenant_id", "user_id", "role", "active", "updated_at")
        ),
        "orders": list(
            Order.objects.all_tenants(reason=why)
            .order_by("pk")
            .values_list("pk", "tenant_id", "status", "status_reason", "note", "updated_at")
        ),
        "events": list(
            OrderEvent.objects.all_tenants(reason=why)
            .order_by("pk")
            .values_list("pk", "tenant_id", "order_id", "kind", "to_status")
        ),
        "sequences": list(
            OrderSequence.objects.all_tenants(reason=why)
            .order_by("pk")
            .values_list("pk", "tenant_id", "kind", "last_value")
        ),
    }
