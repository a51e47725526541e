"""Channels: create, change, delete, with write-only credentials.

Credentials (``Channel.credentials``) are secrets: written here, never returned by the API or
shown by the admin (both show only which keys are set). On change, the keys given replace the
stored ones, a key given as an empty string is removed, keys not given are kept, so a client
can rotate one secret without re-sending the others. A channel that has orders or sync runs is
not deleted (409): deactivate it instead (``active = false``).

A channel code may not contain ``:`` (400 naming ``code``, from the API and the admin alike):
the code and an order's external id make the order's idempotency key ``<code>:<external id>``
(``commerce.services.entry``), which must name one channel's order only. The rule applies when
a code is set; a channel stored earlier with such a code keeps it while other fields change.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from commerce.models import Channel, SalesOrder, SyncRun
from oms_site.errors import Conflict, NotFound, ValidationFailed
from orders.services import Actor
from tenancy.models import Tenant

CHANNEL_CODE_MAX = 32  # the length of ``Channel.code``
CODE_SEPARATOR = ":"
CHANNEL_FIELDS = (
    "code",
    "name",
    "kind",
    "endpoint",
    "auth_endpoint",
    "marketplace_id",
    "timezone",
    "currency",
    "allow_split_shipments",
    "store",
    "sync_enabled",
    "sync_overlap_seconds",
    "active",
)


def channel_code_problem(code: object) -> str | None:
    """Why ``code`` cannot be given to a channel, or ``None`` (other checks: the model's)."""
    if isinstance(code, str) and CODE_SEPARATOR in code:
        return f"Must not contain '{CODE_SEPARATOR}'."
    return None


def credentials_merge(stored: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(stored or {})
    for key, value in (given or {}).items():
        if value in ("", None):
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def _save(channel: Channel, *, code_set: bool) -> Channel:
    """Validate (every problem at once) and save; ``code_set``: the code is being given."""
    errors: dict[str, list[str]] = {}
    try:
        channel.full_clean(exclude=["tenant"])
    except DjangoValidationError as exc:
        errors = {field: list(messages) for field, messages in exc.message_dict.items()}
    problem = channel_code_problem(channel.code) if code_set else None
    if problem:
        errors.setdefault("code", []).append(problem)
    if errors:
        raise ValidationFailed(errors=errors)
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise ValidationFailed(errors={"code": ["A channel with this code exists."]}) from None
    return channel


@transaction.atomic
def channel_create(
    *, tenant: Tenant, actor: Actor, credentials: dict[str, Any] | None = None, **fields: Any
) -> Channel:
    values = {k: v for k, v in fields.items() if k in CHANNEL_FIELDS}
    channel = Channel(tenant=tenant, credentials=credentials_merge({}, credentials), **values)
    return _save(channel, code_set=True)


@transaction.atomic
def channel_update(
    *,
    tenant: Tenant,
    actor: Actor,
    channel_id: int,
    credentials: dict[str, Any] | None = None,
    **fields: Any,
) -> Channel:
    channel = Channel.objects.for_tenant(tenant).select_for_update().filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found.")
    code_set = "code" in fields and fields["code"] != channel.code
    for name, value in fields.items():
        if name in CHANNEL_FIELDS:
            setattr(channel, name, value)
    if credentials is not None:
        channel.credentials = credentials_merge(channel.credentials, credentials)
    return _save(channel, code_set=code_set)


@transaction.atomic
def channel_delete(*, tenant: Tenant, actor: Actor, channel_id: int) -> None:
    channel = Channel.objects.for_tenant(tenant).select_for_update().filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found.")
    used = (
        SalesOrder.objects.for_tenant(tenant).filter(channel=channel).exists()
        or SyncRun.objects.for_tenant(tenant).filter(channel=channel).exists()
    )
    if used:
        raise Conflict("The channel has orders or sync runs: deactivate it instead.")
    channel.delete()
