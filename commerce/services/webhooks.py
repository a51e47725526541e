"""Shopify order webhooks (``orders/create``, ``orders/updated``).

Authentication is the signature: ``X-Shopify-Hmac-Sha256`` must be the base64 HMAC-SHA256 of
the raw body keyed by the channel's ``webhook_secret`` (compared in constant time). A bad or
missing signature, or an unknown channel, answers 401 and stores nothing (the two are not told
apart, so channel ids cannot be probed).

A verified delivery is recorded as a ``WebhookEvent`` keyed by ``X-Shopify-Webhook-Id``; the
unique constraint drops a repeated delivery (answered 200, ``duplicate: true``, nothing else
done). The order then goes through the same upsert as a sync page (newer-wins by
``updated_at``), in the same transaction as the event row: if storing fails, the event is not
recorded either and Shopify's retry is processed. An order inserted meanwhile by another writer
(the unique constraint refuses ours) is read again once, as a sync page is. Topics other than
the two order topics are acknowledged and ignored. A body that is not JSON is a 400 under
``body``; a JSON body that is not an order of the documented shape (not an object, a field
wrongly nested such as a ``shipping_address`` sent as a string) is a 400 naming the field
(``errors: {"shipping_address": [...]}``). Nothing is stored for either, not even the event
row, so a corrected redelivery is processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from commerce.marketplaces.shopify import order_from_json, webhook_signature_valid
from commerce.marketplaces.util import BadOrder
from commerce.models import Channel, ChannelKind, WebhookEvent
from commerce.services.marketplace_import import orders_upsert
from oms_site.errors import ApplicationError, ValidationFailed

ORDER_TOPICS = frozenset({"orders/create", "orders/updated"})


class WebhookUnauthorized(ApplicationError):
    status_code = 401
    code = "unauthorized"


@dataclass
class WebhookOutcome:
    duplicate: bool = False
    ignored: bool = False
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def shopify_webhook_receive(
    *, channel_id: int, topic: str, webhook_id: str, signature: str, body: bytes
) -> WebhookOutcome:
    channel = (
        Channel.objects.all_tenants(reason="a webhook names its channel; the HMAC authenticates")
        .select_related("tenant")
        .filter(pk=channel_id, kind=ChannelKind.SHOPIFY, active=True)
        .first()
    )
    secret = str((channel.credentials or {}).get("webhook_secret", "")) if channel else ""
    if channel is None or not webhook_signature_valid(body, secret, signature):
        raise WebhookUnauthorized("Webhook signature does not verify.")
    if not webhook_id:
        raise ValidationFailed(errors={"X-Shopify-Webhook-Id": ["Missing."]})
    if topic not in ORDER_TOPICS:
        return WebhookOutcome(ignored=True)
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(errors={"body": ["Not JSON."]}) from None
    try:
        market = order_from_json(raw)
    except BadOrder as exc:
        raise ValidationFailed(errors={exc.field or "body": [str(exc)]}) from None
    tenant = channel.tenant
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        WebhookEvent.objects.create(
                            tenant=tenant,
                            channel=channel,
                            event_id=webhook_id[:128],
                            topic=topic[:64],
                            external_id=market.external_id,
                        )
                except IntegrityError:
                    return WebhookOutcome(duplicate=True)
                result = orders_upsert(tenant=tenant, channel=channel, orders=[market])
            break
        except IntegrityError:
            # Another writer (an API entry of the same external id) inserted the order between
            # the upsert's read and its insert; read again: the order is now stored.
            if attempt == 2:
                raise
    return WebhookOutcome(
        created=result.created,
        updated=result.updated,
        skipped=result.skipped,
        errors=[f"{external_id}: {why}" for external_id, why in result.errors],
    )
