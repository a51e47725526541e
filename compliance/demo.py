"""Compliance demo data, run by ``seed_demo`` (idempotent: a second run changes nothing).

- a second compliance officer per tenant (``acme.compliance2``, ``globex.compliance2``), so
  the four-eyes closure can be tried: ``*.compliance`` proposes, ``*.compliance2`` approves;
- the other compliance areas' demo data (rule configuration, planted surveillance activity),
  from their own modules when present;
- a few review-queue alerts in different states per tenant (new, assigned, in review,
  escalated, pending approval, closed), each keyed by a dedupe key so nothing is raised twice;
- for ``acme-capital`` (once its rules exist): a buy limit order entered by ``acme.trader``
  outside the 5% price collar, which pre-trade screening holds, with the trader's override
  request pending (``acme.compliance`` or ``acme.compliance2`` approves or refuses it); and a
  locate of 5,000 MSFT for the proprietary book, recorded by ``acme.compliance`` for the day
  the demo was seeded, so that book may sell MSFT short.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from compliance.models import Locate, Override
from compliance.models.alerts import Alert, AlertStatus
from compliance.services import alerts as svc
from compliance.services.overrides import override_request
from compliance.services.rules import locate_set
from orders.models import Order, OrderStatus
from tenancy.models import Role, Tenant
from tenancy.services import membership_ensure, user_ensure
from trading.models import Account, Instrument

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

# (tenant, trader, client order id, account, symbol, quantity, limit price, justification):
# AAPL's demo last price is 190.00, so a 200.00 limit is 5.3% away, outside the 5% collar (soft)
HELD = (
    "acme-capital",
    "acme.trader",
    "demo-acme-held-1",
    "C-1001",
    "AAPL",
    "100",
    "200.00",
    "Client instruction: buy up to 200.00 ahead of the product launch; the client accepts "
    "paying above the collar.",
)
# (tenant, officer, account, symbol, quantity, source)
LOCATE = ("acme-capital", "acme.compliance", "PROP-1", "MSFT", "5000", "Demo prime broker")


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


def _desk(
    slug: str, username: str, code: str, symbol: str
) -> tuple[Tenant, Any, Account, Instrument] | None:
    """The demo tenant, user, account and instrument named, or None if any is missing (the
    trading demo was not seeded, or the demo user removed them)."""
    tenant = Tenant.objects.filter(slug=slug).first()
    user = get_user_model().objects.filter(username=username).first()
    if tenant is None or user is None:
        return None
    account = Account.objects.for_tenant(tenant).filter(code=code).first()
    instrument = Instrument.objects.for_tenant(tenant).filter(symbol=symbol).first()
    if account is None or instrument is None:
        return None
    return tenant, user, account, instrument


@transaction.atomic
def _held_order_with_override() -> bool:
    """Enter the held demo order (a replay once it exists) and ask for its override, unless it
    has one or is no longer held; True if an override was requested."""
    from trading.services.entry import TradeOrderInput, trade_order_submit

    slug, username, client_id, code, symbol, quantity, limit, why = HELD
    desk = _desk(slug, username, code, symbol)
    if desk is None:
        return False
    tenant, trader, account, instrument = desk
    result = trade_order_submit(
        tenant=tenant,
        actor=trader,
        data=TradeOrderInput(
            client_order_id=client_id,
            account=account,
            instrument=instrument,
            side="buy",
            quantity=Decimal(quantity),
            order_type="limit",
            limit_price=Decimal(limit),
            time_in_force="gtc",
        ),
    )
    order = result.order
    if order.status != OrderStatus.HELD:
        return False
    if Override.objects.for_tenant(tenant).filter(order_id=order.pk).exists():
        return False
    override_request(tenant=tenant, actor=trader, order_id=order.pk, justification=why)
    return True


@transaction.atomic
def _locate() -> bool:
    """The day's locate for the demo short sale, unless the book has one already."""
    slug, username, code, symbol, quantity, source = LOCATE
    desk = _desk(slug, username, code, symbol)
    if desk is None:
        return False
    tenant, officer, account, instrument = desk
    if Locate.objects.for_tenant(tenant).filter(account=account, instrument=instrument).exists():
        return False
    locate_set(
        tenant=tenant,
        actor=officer,
        account=account,
        instrument=instrument,
        quantity=Decimal(quantity),
        day=timezone.now().astimezone(ZoneInfo(tenant.timezone)).date(),
        source=source,
    )
    return True


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
    override = _held_order_with_override()
    locate = _locate()
    stdout.write(
        f"Compliance demo: {int(override)} new override request, {int(locate)} new locate."
    )
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
