"""Fraud flags on sales orders: signals scored, the score compared to a threshold.

Signals (each a rule with its ``points``): velocity (more than ``max_orders`` orders of the same
customer, the same e-mail or the same IP address within ``window_seconds``, this one included),
country mismatch (billing, shipping and IP countries, those given, not all equal) and high-value
first order (the customer's first order with a total above ``amount`` in the base currency). The
score is the sum of the points of the signals that fired. Above the ``fraud_score`` rule's
``threshold`` the order is held (a soft finding, released by operations or compliance through
``compliance.services.overrides.sales_hold_release``); a positive score at or below it is a warn
finding (accepted + alert). With no ``fraud_score`` rule every positive score is a warning.
Each signal's line, with its values, is stored like any screening result.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q

from compliance.models import RuleKind
from compliance.services.screening import (
    CompiledRule,
    Evaluation,
    Line,
    _decision,
    _now,
    screening_persist,
    tenant_state,
)
from orders.models import Order
from orders.screening import Decision


def _velocity(order: Order, sales: Any, rule: CompiledRule) -> tuple[bool, dict[str, Any]]:
    from commerce.models import SalesOrder

    since = _now() - timedelta(seconds=rule.p["window_seconds"])
    keys: dict[str, Q] = {}
    if sales.customer_id:
        keys["by_customer"] = Q(customer_id=sales.customer_id)
        email = sales.customer.email if sales.customer else ""
        if email:
            keys["by_email"] = Q(customer__email__iexact=email)
    if sales.ip_address:
        keys["by_ip"] = Q(ip_address=sales.ip_address)
    if not keys:
        return False, {"counts": {}}
    counts = (
        SalesOrder.objects.for_tenant(order.tenant_id)
        .filter(order__created_at__gte=since)
        .aggregate(**{name: Count("pk", filter=q) for name, q in keys.items()})
    )
    # this order is stored already (same transaction): it is counted
    fired = any(n > rule.p["max_orders"] for n in counts.values())
    return fired, {
        "counts": counts,
        "max_orders": rule.p["max_orders"],
        "window_seconds": rule.p["window_seconds"],
    }


def _mismatch(sales: Any) -> tuple[bool, dict[str, Any]]:
    given = {
        k: v
        for k, v in (
            ("billing", sales.billing_country),
            ("shipping", sales.ship_country),
            ("ip", sales.ip_country),
        )
        if v
    }
    return len({v.upper() for v in given.values()}) > 1, {"countries": given}


def _first_high_value(order: Order, sales: Any, rule: CompiledRule) -> tuple[bool, dict[str, Any]]:
    from commerce.models import SalesOrder

    total = sales.grand_total_base
    values: dict[str, Any] = {"total": str(total), "amount": str(rule.p["amount"])}
    if not sales.customer_id:
        return False, values
    earlier = (
        SalesOrder.objects.for_tenant(order.tenant_id)
        .filter(customer_id=sales.customer_id)
        .exclude(pk=order.pk)
        .exists()
    )
    values["first_order"] = not earlier
    return (not earlier) and total > rule.p["amount"], values


def sales_evaluate(order: Order) -> Evaluation:
    state = tenant_state(order.tenant_id)
    rules = state.config.sales_rules
    lines: list[Line] = []
    if not rules:
        return Evaluation(order, lines, Decision(), [])
    sales = order.sales
    score = 0
    threshold_rule: CompiledRule | None = None
    for rule in rules:
        if rule.kind == RuleKind.FRAUD_SCORE:
            threshold_rule = rule
            continue
        if rule.kind == RuleKind.FRAUD_VELOCITY:
            fired, values = _velocity(order, sales, rule)
        elif rule.kind == RuleKind.FRAUD_COUNTRY_MISMATCH:
            fired, values = _mismatch(sales)
        else:
            fired, values = _first_high_value(order, sales, rule)
        points = rule.p["points"] if fired else 0
        score += points
        values["points"] = points
        lines.append(
            Line(rule, rule.kind, rule.name, True, "", values, "Signal fired." if fired else "")
        )
    threshold = threshold_rule.p["threshold"] if threshold_rule else None
    values = {"score": score, "threshold": threshold}
    if score and threshold is not None and score > threshold:
        lines.append(
            Line(
                threshold_rule,
                RuleKind.FRAUD_SCORE,
                threshold_rule.name if threshold_rule else "fraud score",
                False,
                "soft",
                values,
                f"Fraud score {score} above {threshold}.",
            )
        )
    elif score:
        name = threshold_rule.name if threshold_rule else "fraud score"
        lines.append(
            Line(
                threshold_rule,
                RuleKind.FRAUD_SCORE,
                name,
                False,
                "warn",
                values,
                f"Fraud score {score}.",
            )
        )
    else:
        lines.append(
            Line(
                threshold_rule,
                RuleKind.FRAUD_SCORE,
                threshold_rule.name if threshold_rule else "fraud score",
                True,
                "",
                values,
                "",
            )
        )
    return Evaluation(order, lines, _decision(lines), [])


def sales_screen(order: Order) -> Decision:
    """The registered screen for sales orders (one with no sales detail passes unscreened,
    like a trade order without its detail)."""
    from compliance.services.screening import order_has_detail

    if not order_has_detail(order, "sales"):
        return Decision()
    evaluation = sales_evaluate(order)
    screening_persist(evaluation)
    return evaluation.decision
