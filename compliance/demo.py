"""Compliance demo data, run by ``seed_demo`` (idempotent: a second run changes nothing).

- a second compliance officer per tenant (``acme.compliance2``, ``globex.compliance2``), so
  the four-eyes closure can be tried: ``*.compliance`` proposes, ``*.compliance2`` approves;
- the other compliance areas' demo data (rule configuration, planted surveillance activity),
  from their own modules when present;
- a few review-queue alerts in different states per tenant (new, assigned, in review,
  escalated, pending approval, closed), each keyed by a dedupe key so nothing is raised twice.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from compliance.models.alerts import Alert, AlertStatus
from compliance.services import alerts as svc
from orders.models import Order
from tenancy.models import Role, Tenant
from tenancy.services import membership_ensure, user_ensure

OFFICERS = {
    "acme-capital": ("acme.compliance", "acme.compliance2"),
    "globex-goods": ("globex.compliance", "globex.compliance2"),
}
PARTS = ("compliance.demo_rules", "compliance.demo_surveillance")

# (key, rule, severity, title, target status)
ALERTS = {
    "acme-capital": [
        ("demo-alert-1", "watch_list", "medium", "Order in a watch-listed issuer", "new"),
        ("demo-alert-2", "price_collar", "low", "Limit price 4% away from last", "assigned"),
        ("demo-alert-3", "large_notional", "high", "Notional above desk norm", "in_review"),
        ("demo-alert-4", "otr", "medium", "Order-to-trade ratio 42:1", "escalated"),
        ("demo-alert-5", "duplicate_order", "low", "Same order twice in 3 s", "pending_approval"),
        ("demo-alert-6", "watch_list", "low", "Watch-listed issuer, small size", "closed"),
    ],
    "globex-goods": [
        ("demo-alert-1", "fraud_velocity", "medium", "Five orders from one IP in 10 min", "new"),
        (
            "demo-alert-2",
            "fraud_country",
            "high",
            "Billing, shipping and IP countries differ",
            "in_review",
        ),
        ("demo-alert-3", "fraud_first_order", "low", "High-value first order", "pending_approval"),
    ],
}
PATH = ["assigned", "in_review", "escalated", "pending_approval", "closed"]


def _officers(tenant: Tenant, names: tuple[str, str]) -> tuple[Any, Any]:
    first = get_user_model().objects.filter(username=names[0]).first()
    if first is None:
        first = user_ensure(username=names[0], password=settings.DEMO_PASSWORD)
        membership_ensure(tenant=tenant, user=first, role=Role.COMPLIANCE_OFFICER)
    second = user_ensure(username=names[1], password=settings.DEMO_PASSWORD)
    membership_ensure(tenant=tenant, user=second, role=Role.COMPLIANCE_OFFICER)
    return first, second


def _drive(tenant: Tenant, alert: Alert, target: str, analyst: Any, approver: Any) -> None:
    """Take a freshly raised alert to ``target``: the analyst works it, the approver approves."""
    if target == AlertStatus.NEW:
        return
    common: dict[str, Any] = {"tenant": tenant, "alert_id": alert.pk}
    svc.alert_assign(**common, actor=approver, assignee=analyst)
    if target == AlertStatus.ASSIGNED:
        return
    svc.alert_start_review(**common, actor=analyst)
    svc.alert_note_add(**common, actor=analyst, text="Pulled the order history for the day.")
    if target == AlertStatus.IN_REVIEW:
        return
    if target == AlertStatus.ESCALATED:
        svc.alert_escalate(**common, actor=analyst, reason="Repeated pattern; senior view needed.")
        return
    svc.alert_propose_close(
        **common,
        actor=analyst,
        disposition="false_positive",
        reason="Explained by the client's documented strategy.",
    )
    if target == AlertStatus.CLOSED:
        svc.alert_approve_close(**common, actor=approver, reason="Agreed.")


@transaction.atomic
def _alerts(tenant: Tenant, analyst: Any, approver: Any) -> int:
    order = Order.objects.for_tenant(tenant).order_by("pk").first()
    created = 0
    for key, rule, severity, title, target in ALERTS.get(tenant.slug, []):
        if Alert.objects.for_tenant(tenant).filter(dedupe_key=key).exists():
            continue
        alert = svc.alert_raise(
            tenant=tenant,
            rule=rule,
            severity=severity,
            title=title,
            evidence={"demo": True, "orders": [order.pk] if order else []},
            dedupe_key=key,
        )
        _drive(tenant, alert, target, analyst, approver)
        created += 1
    return created


def seed(stdout: Any) -> None:
    for slug, names in OFFICERS.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            _officers(tenant, names)
    for module_name in PARTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.seed(stdout=stdout)
    for slug, names in OFFICERS.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            continue
        analyst, approver = _officers(tenant, names)
        created = _alerts(tenant, analyst, approver)
        stdout.write(
            f"Compliance demo for {slug}: officers {names[0]} and {names[1]}, "
            f"{created} new review-queue alerts."
        )
