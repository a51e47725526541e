"""Demo marketplace channels for ``seed_demo``: Amazon, eBay, AliExpress and Shopify per demo
seller tenant, pointed at the built-in sandbox marketplaces (``commerce.marketplaces.sandbox``).

Endpoints are ``<base><kind>/`` (``<base>`` = env ``OMS_SANDBOX_BASE_URL``, default
``http://127.0.0.1:8000/sandbox/``, where ``make run`` serves the sandbox); the credentials are
the sandbox's well-formed fakes carrying a signed sandbox account token whose "opened" moment is
:data:`HISTORY` before the channel is first seeded, so the first sync finds that much order
history and later syncs find new and updated orders as time passes.

Idempotent: a channel whose code exists in the tenant is left exactly as it is (the demo user may
have changed it), so a second run creates and changes nothing. A tenant without active products
(nothing to sell) gets no marketplace channels.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from commerce.marketplaces.sandbox import AMAZON_MARKETPLACE_ID, SHOPIFY_API, sandbox_credentials
from commerce.models import Channel, ChannelKind, Product
from commerce.services.channels import channel_create
from tenancy.models import Tenant

DEFAULT_BASE_URL = "http://127.0.0.1:8000/sandbox/"
HISTORY = timedelta(hours=6)
TENANTS = ("acme-capital", "globex-goods", "initech")  # those with products get channels
# code, name, kind, extra channel fields
CHANNELS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("AMAZON-DE", "Amazon.de (sandbox)", ChannelKind.AMAZON, {"currency": "EUR"}),
    ("EBAY-DE", "eBay.de (sandbox)", ChannelKind.EBAY, {"currency": "EUR"}),
    (
        "ALIEXPRESS",
        "AliExpress (sandbox)",
        ChannelKind.ALIEXPRESS,
        {"currency": "USD", "timezone": "America/Los_Angeles"},
    ),
    ("SHOPIFY", "Shopify store (sandbox)", ChannelKind.SHOPIFY, {"currency": "EUR"}),
]


def sandbox_base_url() -> str:
    base = os.environ.get("OMS_SANDBOX_BASE_URL") or DEFAULT_BASE_URL
    return base.rstrip("/") + "/"


def _fields(kind: str, base: str) -> dict[str, Any]:
    root = f"{base}{kind}/"
    if kind == ChannelKind.AMAZON:
        return {
            "endpoint": root,
            "auth_endpoint": f"{root}auth/o2/token",
            "marketplace_id": AMAZON_MARKETPLACE_ID,
        }
    if kind == ChannelKind.EBAY:
        return {"endpoint": root, "auth_endpoint": f"{root}identity/v1/oauth2/token"}
    if kind == ChannelKind.SHOPIFY:
        return {"endpoint": f"{root}{SHOPIFY_API}"}
    return {"endpoint": root}


@transaction.atomic
def marketplace_channels_seed(
    *, tenant: Tenant, base_url: str | None = None, opened: datetime | None = None
) -> list[Channel]:
    """Create the tenant's four sandbox marketplace channels that do not exist yet; returns the
    channels created (none on a second run)."""
    if not Product.objects.for_tenant(tenant).filter(active=True).exists():
        return []
    base = (base_url or sandbox_base_url()).rstrip("/") + "/"
    since = opened or timezone.now() - HISTORY
    existing = set(Channel.objects.for_tenant(tenant).values_list("code", flat=True))
    created = []
    for code, name, kind, extra in CHANNELS:
        if code in existing:
            continue
        created.append(
            channel_create(
                tenant=tenant,
                actor=None,
                code=code,
                name=name,
                kind=kind,
                credentials=sandbox_credentials(kind, tenant.slug, since),
                **_fields(kind, base),
                **extra,
            )
        )
    return created


def seed(*, stdout: Any) -> None:
    total = 0
    for tenant in Tenant.objects.filter(slug__in=TENANTS).order_by("slug"):
        total += len(marketplace_channels_seed(tenant=tenant))
    stdout.write(
        f"Marketplace demo ready: {total} new sandbox channels at {sandbox_base_url()} "
        "(served when OMS_SANDBOX_MARKETPLACES is on, as under `make run`)."
    )
