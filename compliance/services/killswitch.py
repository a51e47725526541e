"""The kill switch: engage (reject every new order in scope, cancel the open ones), release.

Scope: the whole tenant, one account or one trader (the orders' creator); it covers trade
orders (accounts and traders are trading notions). Compliance officers and administrators engage
and release it; a release needs a reason. Engaging cancels, after the switch is committed (so new
orders are already refused), every live trade order in scope through trading's own cancel
(``trading.services.requests.trade_order_cancel``), run under the switch's authority rather
than a trading role: an order not yet at a venue is cancelled at once, an order at a venue goes
PendingCancel and its venue orders are cancelled. Each order is cancelled in its own
transaction; the refs cancelled and any refusal are stored on the switch.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.models import KillSwitch, KillSwitchScope
from compliance.services.rules import config_version_bump
from oms_site.errors import (
    ApplicationError,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from orders.models import LIVE_STATUSES, Order
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role
from trading.models import PendingAction, TradeOrder

Actor = Any


def _check(tenant: Tenant, actor: Actor) -> None:
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=REVIEWERS):
        raise PermissionDenied(
            "Only compliance officers and administrators operate the kill switch."
        )


def killswitch_engage(
    *,
    tenant: Tenant,
    actor: Actor,
    scope: str,
    reason: str,
    account: Any = None,
    trader: Any = None,
) -> KillSwitch:
    _check(tenant, actor)
    errors: dict[str, list[str]] = {}
    if scope not in KillSwitchScope.values:
        errors["scope"] = ["Choose tenant, account or trader."]
    if not (reason or "").strip():
        errors["reason"] = ["This field is required."]
    if account is not None and account.tenant_id != tenant.pk:
        errors["account"] = ["Not found."]
    if trader is not None and not user_has_role(
        user=trader, tenant_id=tenant.pk, roles=frozenset({"admin", "trader", "portfolio_manager"})
    ):
        errors["trader"] = ["Not a trader of this tenant."]
    if scope == "account" and account is None:
        errors["account"] = ["Required for the account scope."]
    if scope == "trader" and trader is None:
        errors["trader"] = ["Required for the trader scope."]
    if scope != "account" and account is not None:
        errors["account"] = ["Only for the account scope."]
    if scope != "trader" and trader is not None:
        errors["trader"] = ["Only for the trader scope."]
    if errors:
        raise ValidationFailed(errors=errors)
    with transaction.atomic():
        switch = KillSwitch.objects.create(
            tenant=tenant,
            scope=scope,
            account=account,
            trader=trader,
            engaged_by=actor,
            reason=reason,
        )
        config_version_bump(tenant.pk)
    canceled, refused = _cancel_in_scope(tenant=tenant, switch=switch, actor=actor)
    KillSwitch.objects.for_tenant(tenant).filter(pk=switch.pk).update(
        canceled_orders={"canceled": canceled, "refused": refused}
    )
    switch.canceled_orders = {"canceled": canceled, "refused": refused}
    return switch


def _in_scope(tenant: Tenant, switch: KillSwitch) -> list[int]:
    trades = TradeOrder.objects.for_tenant(tenant).filter(order__status__in=list(LIVE_STATUSES))
    if switch.scope == "account":
        trades = trades.filter(account=switch.account)
    elif switch.scope == "trader":
        trades = trades.filter(order__created_by_id=switch.trader_id)
    return list(trades.order_by("pk").values_list("pk", flat=True))


def _cancel_in_scope(
    *, tenant: Tenant, switch: KillSwitch, actor: Actor
) -> tuple[list[str], list[str]]:
    """Each live trade order in scope through trading's own cancel, under the switch's
    authority (checked in ``killswitch_engage``), each in its own transaction. An order whose
    cancel is already pending counts as canceled."""
    from trading.services.requests import trade_order_cancel

    canceled: list[str] = []
    refused: list[str] = []
    reason = f"Kill switch {switch.pk}: {switch.reason}"[:500]
    for order_id in _in_scope(tenant, switch):
        try:
            with transaction.atomic():
                order = Order.objects.for_tenant(tenant).get(pk=order_id)
                pending = TradeOrder.objects.for_tenant(tenant).filter(
                    pk=order_id, pending=PendingAction.CANCEL
                )
                if not pending.exists():
                    order = trade_order_cancel(
                        tenant=tenant,
                        order=order,
                        actor=actor,
                        reason=reason,
                        check_permission=False,
                    )
            canceled.append(order.reference)
        except ApplicationError as exc:
            refused.append(f"{order_id} ({exc.message})")
    return canceled, refused


@transaction.atomic
def killswitch_release(*, tenant: Tenant, actor: Actor, switch_id: int, reason: str) -> KillSwitch:
    """Only a compliance officer releases (not an administrator: the issue names the officer)."""
    if actor is None or not user_has_role(
        user=actor, tenant_id=tenant.pk, roles=frozenset({"compliance_officer"})
    ):
        raise PermissionDenied("Only a compliance officer releases a kill switch.")
    switch = KillSwitch.objects.for_tenant(tenant).select_for_update().filter(pk=switch_id).first()
    if switch is None:
        raise NotFound("Kill switch not found.")
    if not (reason or "").strip():
        raise ValidationFailed(errors={"reason": ["This field is required."]})
    if not switch.engaged:
        raise TransitionNotAllowed("This kill switch is already released.")
    switch.engaged = False
    switch.released_by = actor
    switch.released_at = timezone.now()
    switch.release_reason = reason
    switch.save(
        update_fields=["engaged", "released_by", "released_at", "release_reason", "updated_at"]
    )
    config_version_bump(tenant.pk)
    return switch
