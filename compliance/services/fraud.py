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

:func:`sales_screen` screens one order (the registered screen). :func:`sales_screen_many` is its
set-based entry point (registered as its ``many``; the marketplace import screens a page with
it): the same decisions, stored lines and alerts as :func:`sales_screen` on each order in turn,
in a constant number of statements for the whole set (the orders' sales details, then per
velocity window one grouped count per signal key, one count of the customers' orders, and one
INSERT of every result line); only a warning's alert is still written per order. The orders
must all be stored (as for :func:`sales_screen`, each is counted in its own velocity), and each
sees the others of the set, as it would screened one after the other once all were stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Upper

from compliance.models import RuleKind
from compliance.services.screening import (
    CompiledRule,
    Evaluation,
    Line,
    _decision,
    _now,
    screening_persist,
    screenings_persist,
    tenant_config,
)
from orders.models import Order
from orders.screening import Decision

# The signals that read other orders, given what they need:
# velocity(rule) -> counts by key ("by_customer", "by_email", "by_ip"), earlier() -> whether
# the customer has another order.
Velocity = Callable[[CompiledRule], dict[str, int]]
Earlier = Callable[[], bool]


def _velocity_result(counts: dict[str, int], rule: CompiledRule) -> tuple[bool, dict[str, Any]]:
    # the order itself is stored already (same transaction): it is counted
    fired = any(n > rule.p["max_orders"] for n in counts.values())
    return fired, {
        "counts": counts,
        "max_orders": rule.p["max_orders"],
        "window_seconds": rule.p["window_seconds"],
    }


def _velocity(order: Order, sales: Any, rule: CompiledRule) -> dict[str, int]:
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
        return {}
    counts: dict[str, int] = (
        SalesOrder.objects.for_tenant(order.tenant_id)
        .filter(order__created_at__gte=since)
        .aggregate(**{name: Count("pk", filter=q) for name, q in keys.items()})
    )
    return counts


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


def _first_high_value(
    sales: Any, rule: CompiledRule, earlier: Earlier
) -> tuple[bool, dict[str, Any]]:
    total = sales.grand_total_base
    values: dict[str, Any] = {"total": str(total), "amount": str(rule.p["amount"])}
    if not sales.customer_id:
        return False, values
    has_earlier = earlier()
    values["first_order"] = not has_earlier
    return (not has_earlier) and total > rule.p["amount"], values


def _evaluate(
    order: Order,
    sales: Any,
    rules: list[CompiledRule],
    velocity: Velocity,
    earlier: Earlier,
) -> Evaluation:
    """The signals scored against the threshold (module docstring), for one order."""
    lines: list[Line] = []
    score = 0
    threshold_rule: CompiledRule | None = None
    for rule in rules:
        if rule.kind == RuleKind.FRAUD_SCORE:
            threshold_rule = rule
            continue
        if rule.kind == RuleKind.FRAUD_VELOCITY:
            fired, values = _velocity_result(velocity(rule), rule)
        elif rule.kind == RuleKind.FRAUD_COUNTRY_MISMATCH:
            fired, values = _mismatch(sales)
        else:
            fired, values = _first_high_value(sales, rule, earlier)
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


def sales_evaluate(order: Order) -> Evaluation:
    rules = tenant_config(order.tenant_id).sales_rules
    if not rules:
        return Evaluation(order, [], Decision(), [])
    sales: Any = order.sales

    def earlier() -> bool:
        from commerce.models import SalesOrder

        return (
            SalesOrder.objects.for_tenant(order.tenant_id)
            .filter(customer_id=sales.customer_id)
            .exclude(pk=order.pk)
            .exists()
        )

    return _evaluate(order, sales, rules, lambda rule: _velocity(order, sales, rule), earlier)


def sales_screen(order: Order) -> Decision:
    """The registered screen for sales orders (one with no sales detail passes unscreened,
    like a trade order without its detail)."""
    from compliance.services.screening import order_has_detail

    if not order_has_detail(order, "sales"):
        return Decision()
    evaluation = sales_evaluate(order)
    screening_persist(evaluation)
    return evaluation.decision


# --- many orders at once ------------------------------------------------------------------------


@dataclass
class _Counts:
    """What the signals of a set of orders read from the tenant's other orders, counted in a
    few grouped queries: per velocity window and key, the orders per value; per customer, all
    the customer's orders."""

    velocity: dict[int, dict[str, dict[Any, int]]] = field(default_factory=dict)
    customer_orders: dict[int, int] = field(default_factory=dict)


def _counts_load(
    tenant_id: int, rules: list[CompiledRule], details: list[Any], now: datetime
) -> _Counts:
    from commerce.models import SalesOrder

    counts = _Counts()
    customers = sorted({s.customer_id for s in details if s.customer_id})
    emails = sorted({s.email_key for s in details if s.customer_id and s.email_key})
    ips = sorted({s.ip_address for s in details if s.ip_address})
    kinds = {rule.kind for rule in rules}
    windows = sorted(
        {rule.p["window_seconds"] for rule in rules if rule.kind == RuleKind.FRAUD_VELOCITY}
    )
    for window in windows:
        recent = SalesOrder.objects.for_tenant(tenant_id).filter(
            order__created_at__gte=now - timedelta(seconds=window)
        )
        by: dict[str, dict[Any, int]] = {"by_customer": {}, "by_email": {}, "by_ip": {}}
        if customers:
            by["by_customer"] = _grouped(recent.filter(customer_id__in=customers), "customer_id")
        if emails:
            by_key = recent.annotate(key=Upper("customer__email")).filter(key__in=emails)
            by["by_email"] = _grouped(by_key, "key")
        if ips:
            by["by_ip"] = _grouped(recent.filter(ip_address__in=ips), "ip_address")
        counts.velocity[window] = by
    if customers and RuleKind.FRAUD_HIGH_VALUE_FIRST in kinds:
        of_customers = SalesOrder.objects.for_tenant(tenant_id).filter(customer_id__in=customers)
        counts.customer_orders = _grouped(of_customers, "customer_id")
    return counts


def _grouped(rows: Any, key: str) -> dict[Any, int]:
    """key value -> number of the rows with it (one grouped query)."""
    return dict(rows.order_by().values_list(key).annotate(n=Count("pk")))


def _answer(value: bool) -> Earlier:
    return lambda: value


def _velocity_from(counts: _Counts, sales: Any) -> Velocity:
    def velocity(rule: CompiledRule) -> dict[str, int]:
        by = counts.velocity[rule.p["window_seconds"]]
        found: dict[str, int] = {}
        if sales.customer_id:
            found["by_customer"] = by["by_customer"].get(sales.customer_id, 0)
            if sales.email_key:
                found["by_email"] = by["by_email"].get(sales.email_key, 0)
        if sales.ip_address:
            found["by_ip"] = by["by_ip"].get(sales.ip_address, 0)
        return found

    return velocity


def sales_screen_many(orders: Sequence[Order]) -> list[Decision]:
    """:func:`sales_screen` of each order, set-based (module docstring); the decisions in the
    orders' order."""
    from commerce.models import SalesOrder

    decisions = [Decision()] * len(orders)
    by_tenant: dict[int, list[int]] = {}
    for n, order in enumerate(orders):
        by_tenant.setdefault(order.tenant_id, []).append(n)
    for tenant_id, positions in by_tenant.items():
        rules = tenant_config(tenant_id).sales_rules
        if not rules:
            continue  # no signal to score: every order passes, nothing is stored
        now = _now()
        details = {
            s.pk: s
            for s in SalesOrder.objects.for_tenant(tenant_id)
            .filter(pk__in=[orders[n].pk for n in positions])
            .select_related("customer")
            .annotate(email_key=Upper("customer__email"))
        }
        counts = _counts_load(tenant_id, rules, list(details.values()), now)
        evaluations: list[tuple[int, Evaluation]] = []
        for n in positions:
            order = orders[n]
            sales: Any = details.get(order.pk)
            if sales is None:
                continue  # no sales detail: passes unscreened, as in ``sales_screen``
            # the customer's orders include this one: another is "earlier"
            earlier = counts.customer_orders.get(sales.customer_id, 0) > 1
            evaluation = _evaluate(
                order, sales, rules, _velocity_from(counts, sales), _answer(earlier)
            )
            evaluations.append((n, evaluation))
        screenings_persist([evaluation for _, evaluation in evaluations], now)
        for n, evaluation in evaluations:
            decisions[n] = evaluation.decision
    return decisions
