"""Four-eyes overrides of held orders.

A held order is released by an ``Override``: someone asks for it with a justification (the
order's creator, a trader, an officer), then a compliance officer who is neither the order's
creator nor the requester approves it (the order's FSM ``approve``, through ``orders.services``)
or refuses it. The override is for that order only and lapses at the end of the day it was
requested (tenant time zone). Self-approval answers 403 and changes nothing. Requests, approvals
and refusals are journaled on the order (``event_record``, kind ``note``, ``data.override``).

Fraud holds of sales orders may also be released directly by operations or compliance
(:func:`sales_hold_release`), again never by the order's creator.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from compliance.models import Override, OverrideStatus
from oms_site.errors import NotFound, PermissionDenied, TransitionNotAllowed, ValidationFailed
from orders.kinds import kind_after
from orders.models import EventKind, Order, OrderStatus
from orders.permissions import ENTRY_ROLES
from orders.services import event_record, order_apply_transition, order_lock
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role

Actor = Any
OFFICERS = frozenset({"compliance_officer"})
SALES_RELEASERS = frozenset({"compliance_officer", "operations", "admin"})


def end_of_day(tenant: Tenant, now: datetime) -> datetime:
    tz = ZoneInfo(tenant.timezone)
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
    return midnight.astimezone(ZoneInfo("UTC"))


def _journal(order: Order, actor: Actor, action: str, override: Override, reason: str) -> None:
    event_record(
        order=order,
        kind=EventKind.NOTE,
        actor=actor,
        from_status=order.status,
        to_status=order.status,
        reason=reason,
        data={"override": override.pk, "action": action},
    )


@transaction.atomic
def override_request(
    *, tenant: Tenant, actor: Actor, order_id: int, justification: str
) -> Override:
    order = order_lock(tenant=tenant, order_id=order_id)
    roles = ENTRY_ROLES.get(order.kind, frozenset()) | REVIEWERS
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=roles):
        raise PermissionDenied("Your role may not request an override.")
    if not (justification or "").strip():
        raise ValidationFailed(errors={"justification": ["This field is required."]})
    if order.status != OrderStatus.HELD:
        raise TransitionNotAllowed(
            f"Only a held order can be overridden; this one is {order.status}."
        )
    now = timezone.now()
    override = Override.objects.create(
        tenant=tenant,
        order=order,
        requested_by=actor,
        justification=justification,
        expires_at=end_of_day(tenant, now),
    )
    _journal(order, actor, "requested", override, justification[:500])
    return override


def _decidable(tenant: Tenant, actor: Actor, override_id: int) -> tuple[Override, Order]:
    found = Override.objects.for_tenant(tenant).filter(pk=override_id).first()
    if found is None:
        raise NotFound("Override not found.")
    order = order_lock(tenant=tenant, order_id=found.order_id)
    override = Override.objects.for_tenant(tenant).select_for_update().get(pk=override_id)
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=OFFICERS):
        raise PermissionDenied("Only a compliance officer decides an override.")
    if actor.pk in (order.created_by_id, override.requested_by_id):
        raise PermissionDenied("Four eyes: you created this order or asked for this override.")
    if override.status != OverrideStatus.REQUESTED:
        raise TransitionNotAllowed(f"This override is already {override.status}.")
    if timezone.now() >= override.expires_at:
        raise TransitionNotAllowed("This override expired at the end of the day it was asked.")
    if order.status != OrderStatus.HELD:
        raise TransitionNotAllowed(f"The order is no longer held ({order.status}).")
    return override, order


@transaction.atomic
def override_approve(
    *, tenant: Tenant, actor: Actor, override_id: int, reason: str = ""
) -> Override:
    override, order = _decidable(tenant, actor, override_id)
    override.status = OverrideStatus.APPROVED
    override.approved_by = actor
    override.decided_at = timezone.now()
    override.decision_reason = reason
    override.save(
        update_fields=["status", "approved_by", "decided_at", "decision_reason", "updated_at"]
    )
    _journal(order, actor, "approved", override, reason or override.justification[:500])
    order_apply_transition(
        order=order,
        transition="approve",
        actor=actor,
        reason=f"Override {override.pk}: {override.justification}"[:500],
        data={"override": override.pk},
    )
    kind_after(order, "approve")
    return override


@transaction.atomic
def override_refuse(*, tenant: Tenant, actor: Actor, override_id: int, reason: str) -> Override:
    if not (reason or "").strip():
        raise ValidationFailed(errors={"reason": ["This field is required."]})
    override, order = _decidable(tenant, actor, override_id)
    override.status = OverrideStatus.REFUSED
    override.approved_by = actor
    override.decided_at = timezone.now()
    override.decision_reason = reason
    override.save(
        update_fields=["status", "approved_by", "decided_at", "decision_reason", "updated_at"]
    )
    _journal(order, actor, "refused", override, reason[:500])
    return override


@transaction.atomic
def sales_hold_release(*, tenant: Tenant, actor: Actor, order_id: int, reason: str) -> Order:
    """Release a sales order held by the fraud score (operations or compliance, not its creator)."""
    order = order_lock(tenant=tenant, order_id=order_id)
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=SALES_RELEASERS):
        raise PermissionDenied("Only operations or compliance release a fraud hold.")
    if actor.pk == order.created_by_id:
        raise PermissionDenied("Four eyes: you created this order.")
    if not (reason or "").strip():
        raise ValidationFailed(errors={"reason": ["This field is required."]})
    if order.kind != "sales" or order.status != OrderStatus.HELD:
        raise TransitionNotAllowed("Only a held sales order is released here.")
    order_apply_transition(
        order=order,
        transition="approve",
        actor=actor,
        reason=reason,
        check_permission=False,
        data={"release": "fraud"},
    )
    kind_after(order, "approve")
    return order
