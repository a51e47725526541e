"""Shared ground of the hostile-input suites: the demo data set, seeded once for the package.

``seed_demo`` runs once, inside an outer transaction opened for the whole package and rolled
back at its end; each test then runs in a savepoint inside it (pytest-django's ``db``), so every
test starts from the same demo data and leaves nothing behind, and the other suites of a run
never see it. The same trick as Django's ``TestCase.setUpTestData``. No test of this package may
use ``transactional_db`` / ``live_server`` (they would flush the shared data).

Users added on top of the demo:

- ``fuzz.<role>``: one user per role, a member of ``acme-capital`` (trading data) and of
  ``globex-goods`` (commerce data) with that role; requests name the tenant with ``X-Tenant``.
- ``probe.<role>``: one user per role of ``initech``, the tenant that probes the other two.

Every such user has a real API token (``Authorization: Token ...``): the fuzzing goes through
the same authentication as a client.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders import kinds, screening
from tenancy.models import Role, Tenant
from tenancy.services import membership_ensure, user_ensure

ROLES: tuple[str, ...] = tuple(role.value for role in Role)
VICTIM_TENANTS = ("acme-capital", "globex-goods")
PROBE_TENANT = "initech"
PASSWORD = "hostile-password-1"

# Path parameters whose objects have no list endpoint at the path's own prefix: where to find
# them instead (the prefix of a list endpoint whose items carry the same ids).
ID_SOURCES = {
    "/api/v1/commerce/allocations/": "/api/v1/commerce/orders/",
    "/api/v1/compliance/orders/": "/api/v1/orders/",
    "/api/v1/commerce/webhooks/shopify/": "/api/v1/commerce/channels/",
}
PARAM = re.compile(r"\{([^}]+)\}")


@dataclass
class Demo:
    """The seeded data set: users, tokens and, per tenant, real values for each path id."""

    tokens: dict[str, str]  # username -> token key
    tenants: dict[str, Tenant]
    # tenant slug -> collection prefix (up to the parameter) -> real lookup values
    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def token_for(self, username: str) -> str:
        return self.tokens[username]

    def values_for(self, slug: str, path: str) -> dict[str, list[str]]:
        """Real values for each path parameter of ``path`` (a template) in tenant ``slug``."""
        out: dict[str, list[str]] = {}
        for match in PARAM.finditer(path):
            prefix = path[: match.start()]
            values = self.ids.get(slug, {}).get(prefix, [])
            if values:
                out[match.group(1)] = values
        return out


def api_as(demo: Demo, username: str, tenant_slug: str | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {demo.token_for(username)}")
    if tenant_slug:
        client.credentials(
            HTTP_AUTHORIZATION=f"Token {demo.token_for(username)}", HTTP_X_TENANT=tenant_slug
        )
    return client


def list_items(data: Any) -> list[dict[str, Any]]:
    """The items of a list response, paginated (``results``) or not."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return [item for item in data["results"] if isinstance(item, dict)]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return []


def _lookup_value(prefix: str, param: str, item: dict[str, Any]) -> str | None:
    value = item.get("code") if param == "code" else item.get("id")
    return None if value is None else str(value)


def _discover_ids(demo: Demo, document: dict[str, Any]) -> None:
    """For every ``{param}`` of every path, real values of each tenant, read through the
    tenant's own list endpoints (as whichever role may read them)."""
    listable: dict[str, Any] = document["paths"]
    prefixes: dict[str, str] = {}
    for path in listable:
        for match in PARAM.finditer(path):
            prefixes.setdefault(path[: match.start()], match.group(1))
    for slug in (*VICTIM_TENANTS, PROBE_TENANT):
        found: dict[str, list[str]] = {}
        users = [f"fuzz.{r}" for r in ROLES] if slug != PROBE_TENANT else []
        users += [f"probe.{r}" for r in ROLES] if slug == PROBE_TENANT else []
        clients = [api_as(demo, u, slug) for u in users]

        def read(url: str, clients: list[APIClient] = clients) -> list[dict[str, Any]]:
            for client in clients:
                response = client.get(url)
                if response.status_code == 200:
                    items = list_items(response.json())
                    if items:
                        return items
            return []

        # plain collections first, then nested ones that need a parent id
        for prefix, param in sorted(prefixes.items(), key=lambda kv: kv[0].count("{")):
            source = ID_SOURCES.get(prefix, prefix)
            if "get" not in listable.get(source, {}):
                continue
            values = [
                v for item in read(source) if (v := _lookup_value(prefix, param, item)) is not None
            ]
            if values:
                found[prefix] = values[:4]
        # fulfilments have no collection of their own: read them through their orders
        nested = "/api/v1/commerce/fulfilments/"
        if nested in prefixes and nested not in found:
            values = []
            for order_id in found.get("/api/v1/commerce/orders/", []):
                for item in read(f"/api/v1/commerce/orders/{order_id}/fulfilments/"):
                    values.append(str(item["id"]))
            if values:
                found[nested] = values[:4]
        demo.ids[slug] = found


def _seed(document: dict[str, Any]) -> Demo:
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    tenants = {t.slug: t for t in Tenant.objects.all()}
    tokens: dict[str, str] = {}
    for role in ROLES:
        for prefix, slugs in (("fuzz", VICTIM_TENANTS), ("probe", (PROBE_TENANT,))):
            username = f"{prefix}.{role}"
            user = user_ensure(username=username, password=PASSWORD)
            for slug in slugs:
                membership_ensure(tenant=tenants[slug], user=user, role=role)
            tokens[username] = Token.objects.get_or_create(user=user)[0].key
    demo = Demo(tokens=tokens, tenants=tenants)
    _victim_only_objects(demo)
    _discover_ids(demo, document)
    # Codes are unique per tenant only: a code the prober's tenant also has is its own object.
    for slug in VICTIM_TENANTS:
        for prefix, values in demo.ids[slug].items():
            own = set(demo.ids[PROBE_TENANT].get(prefix, []))
            demo.ids[slug][prefix] = [v for v in values if not v.isdigit() and v not in own] or [
                v for v in values if v.isdigit()
            ]
    return demo


def _victim_only_objects(demo: Demo) -> None:
    """Objects the demo has none of in the victim tenants (or only under codes every tenant
    shares), created through the API as the victim's administrator."""
    acme = api_as(demo, "fuzz.admin", "acme-capital")
    response = acme.post(
        "/api/v1/trading/venues/",
        {
            "code": "ACMEX",
            "name": "Acme internal crossing",
            "kind": "exchange",
            "asset_classes": ["equity"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    account = list_items(acme.get("/api/v1/trading/accounts/").json())[-1]["id"]
    response = acme.post(
        "/api/v1/compliance/kill-switch/",
        {"scope": "account", "account": account, "reason": "hostile suite: a victim's switch"},
        format="json",
    )
    assert response.status_code == 201, response.content
    # A marketplace sync cannot run while the demo is seeded (the sandbox marketplaces are
    # served by the web server): a run queued by the seller's "sync" (its task, published on
    # commit, never runs here: the package's transaction is rolled back).
    globex = api_as(demo, "fuzz.seller", "globex-goods")
    channels = list_items(globex.get("/api/v1/commerce/channels/", {"page_size": 500}).json())
    channel = next(c["id"] for c in channels if c["code"] == "AMAZON-DE")
    response = globex.post(f"/api/v1/commerce/channels/{channel}/sync/", format="json")
    assert response.status_code == 202, response.content


def openapi() -> dict[str, Any]:
    from tests.hostile.schema import OPENAPI

    return OPENAPI


@pytest.fixture(scope="package")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Demo]:
    django_db_blocker.unblock()
    outer = transaction.atomic()
    outer.__enter__()
    try:
        cache.clear()
        data = _seed(openapi())
        django_db_blocker.restore()
        yield data
        django_db_blocker.unblock()
    finally:
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
        django_db_blocker.restore()
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache_and_registries() -> Iterator[None]:
    """Overrides the root conftest's: this package runs the whole product (every domain policy
    and compliance screen registered at start-up), like the fault suite."""
    cache.clear()
    screens_before = dict(screening._registry)
    policies_before = dict(kinds._policies)
    yield
    screening._registry.clear()
    screening._registry.update(screens_before)
    kinds._policies.clear()
    kinds._policies.update(policies_before)
    cache.clear()


@contextmanager
def _module_savepoint(django_db_blocker: Any) -> Iterator[None]:
    """A savepoint inside the package's transaction for objects one module adds on top of the
    demo data (built once, seen by each test of the module, rolled back at its end)."""
    django_db_blocker.unblock()
    savepoint = transaction.savepoint()
    django_db_blocker.restore()
    try:
        yield
    finally:
        django_db_blocker.unblock()
        transaction.savepoint_rollback(savepoint)
        django_db_blocker.restore()
        cache.clear()


@pytest.fixture(scope="module")
def probe_shop(demo: Demo, django_db_blocker: Any) -> Iterator[Any]:
    """The probing tenant's own shop and the commerce victim's objects to name
    (``tests/hostile/probing.py``), for the cross-tenant write probes."""
    from tests.hostile.probing import shop_build

    with _module_savepoint(django_db_blocker):
        with django_db_blocker.unblock():
            shop = shop_build(demo)
        yield shop


@pytest.fixture(scope="module")
def probe_desk(demo: Demo, django_db_blocker: Any) -> Iterator[Any]:
    """The probing tenant's trading and compliance objects and acme-capital's to name
    (``tests/hostile/probing.py``), for the cross-tenant write probes."""
    from tests.hostile.probing import desk_build

    with _module_savepoint(django_db_blocker):
        with django_db_blocker.unblock():
            desk = desk_build(demo)
        yield desk
