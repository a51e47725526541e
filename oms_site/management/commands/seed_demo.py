"""Demo tenants, users and orders. Idempotent: a second run changes nothing.

Later issues extend it: each domain app may define ``<app>.demo.seed(stdout)``, run in order.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services import order_create
from tenancy.models import Role
from tenancy.services import membership_ensure, tenant_ensure, user_ensure

TENANTS = [
    ("acme-capital", "Acme Capital", "USD", "America/New_York"),
    ("globex-goods", "Globex Goods", "EUR", "Europe/Berlin"),
    ("initech", "Initech", "USD", "America/Chicago"),
]
USERS = [
    ("acme.admin", "acme-capital", Role.ADMIN),
    ("acme.trader", "acme-capital", Role.TRADER),
    ("acme.pm", "acme-capital", Role.PORTFOLIO_MANAGER),
    ("acme.compliance", "acme-capital", Role.COMPLIANCE_OFFICER),
    ("acme.ops", "acme-capital", Role.OPERATIONS),
    ("globex.admin", "globex-goods", Role.ADMIN),
    ("globex.seller", "globex-goods", Role.SELLER),
    ("globex.ops", "globex-goods", Role.OPERATIONS),
    ("globex.compliance", "globex-goods", Role.COMPLIANCE_OFFICER),
    ("initech.admin", "initech", Role.ADMIN),
]
# (tenant, entering user, kind, client order id, note)
# Generic orders of kinds whose domain app has no entry of its own yet; trade orders come from
# trading.demo (real trade orders), since the trade kind has its own entry.
ORDERS = [
    ("globex-goods", "globex.seller", "sales", "demo-globex-1", "Demo web shop order"),
    ("globex-goods", "globex.seller", "sales", "demo-globex-2", "Demo marketplace order"),
    ("initech", "initech.admin", "sales", "demo-initech-2", "Demo sales order"),
]
DOMAIN_SEEDERS = (
    "trading.demo",
    "commerce.demo",
    "commerce.demo_marketplaces",
    "compliance.demo",
    "compliance.demo_surveillance",
)


class Command(BaseCommand):
    help = "Create the demo tenants, users and data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD
        tenants = {
            slug: tenant_ensure(slug=slug, name=name, base_currency=ccy, timezone=tz)
            for slug, name, ccy, tz in TENANTS
        }
        user_ensure(username="root", password=password, is_superuser=True)
        users = {}
        for username, slug, role in USERS:
            users[username] = user_ensure(username=username, password=password)
            membership_ensure(tenant=tenants[slug], user=users[username], role=role)
        created = 0
        for slug, username, kind, client_id, note in ORDERS:
            result = order_create(
                tenant=tenants[slug],
                actor=users[username],
                kind=kind,
                client_order_id=client_id,
                payload={"kind": kind, "client_order_id": client_id, "note": note},
                note=note,
                expires_at=None,
            )
            created += int(result.created)
        for module_name in DOMAIN_SEEDERS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.seed(stdout=self.stdout)
        self.stdout.write(
            f"Demo data ready: {len(tenants)} tenants, {len(USERS) + 1} users, "
            f"{created} new orders."
        )
        self.stdout.write(
            f"Logins: root and {', '.join(u for u, _, _ in USERS)}; password: {password}"
        )
