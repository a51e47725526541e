"""Compliance test helpers: reviewers and alerts driven to any status through the services.

Public names are typed ``Any`` like the other factory modules.
"""

from __future__ import annotations

import itertools
from typing import Any

from compliance.models.alerts import Alert, AlertStatus, Disposition
from compliance.services import alerts as alert_services
from tests.conftest import member

_seq = itertools.count(1)


def reviewer(tenant: Any, name: str = "", role: str = "compliance_officer") -> Any:
    """A compliance officer (or ``role``) of the tenant."""
    return member(tenant, role, username=name or f"{tenant.slug}.co{next(_seq)}")


def alert_new(tenant: Any, **kwargs: Any) -> Alert:
    """A new alert raised through ``alert_raise`` (every field overridable)."""
    values: dict[str, Any] = {
        "rule": "wash_trade",
        "severity": "high",
        "title": "Wash trade suspected",
        "evidence": {"window_seconds": 60},
    }
    values.update(kwargs)
    return alert_services.alert_raise(tenant=tenant, **values)


# The services that lead from ``new`` to each status: (service name, who acts, extra kwargs).
# ``analyst`` works the alert, ``approver`` is the second pair of eyes.
STEPS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    AlertStatus.NEW: [],
    AlertStatus.ASSIGNED: [("alert_assign", "approver", {"assignee": "analyst"})],
    AlertStatus.IN_REVIEW: [
        ("alert_assign", "approver", {"assignee": "analyst"}),
        ("alert_start_review", "analyst", {}),
    ],
    AlertStatus.ESCALATED: [
        ("alert_assign", "approver", {"assignee": "analyst"}),
        ("alert_start_review", "analyst", {}),
        ("alert_escalate", "analyst", {"reason": "Needs a senior view"}),
    ],
    AlertStatus.PENDING_APPROVAL: [
        ("alert_assign", "approver", {"assignee": "analyst"}),
        ("alert_start_review", "analyst", {}),
        (
            "alert_propose_close",
            "analyst",
            {"disposition": Disposition.FALSE_POSITIVE, "reason": "Unrelated owners"},
        ),
    ],
    AlertStatus.CLOSED: [
        ("alert_assign", "approver", {"assignee": "analyst"}),
        ("alert_start_review", "analyst", {}),
        (
            "alert_propose_close",
            "analyst",
            {"disposition": Disposition.FALSE_POSITIVE, "reason": "Unrelated owners"},
        ),
        ("alert_approve_close", "approver", {}),
    ],
    AlertStatus.REOPENED: [
        ("alert_assign", "approver", {"assignee": "analyst"}),
        ("alert_start_review", "analyst", {}),
        (
            "alert_propose_close",
            "analyst",
            {"disposition": Disposition.FALSE_POSITIVE, "reason": "Unrelated owners"},
        ),
        ("alert_approve_close", "approver", {}),
        ("alert_reopen", "approver", {"reason": "New evidence"}),
    ],
}


def alert_in_status(
    tenant: Any, status: str, *, analyst: Any, approver: Any, **raise_kwargs: Any
) -> Alert:
    """An alert taken to ``status`` through the real services (journal included)."""
    alert = alert_new(tenant, **raise_kwargs)
    people = {"analyst": analyst, "approver": approver}
    for service_name, who, extra in STEPS[status]:
        kwargs = {k: people[v] if k == "assignee" else v for k, v in extra.items()}
        getattr(alert_services, service_name)(
            tenant=tenant, actor=people[who], alert_id=alert.pk, **kwargs
        )
    return Alert.objects.for_tenant(tenant).get(pk=alert.pk)


def alert_snapshot(tenant: Any) -> list[tuple[Any, ...]]:
    """Every alert, note and action of the tenant: compare around a refusal."""
    from compliance.models.alerts import AlertAction, AlertNote

    alerts = list(
        Alert.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "assigned_to_id",
            "disposition",
            "report_type",
            "report_reference",
            "duplicate_of_id",
            "proposed_by_id",
            "approved_by_id",
            "updated_at",
        )
    )
    notes = list(AlertNote.objects.for_tenant(tenant).order_by("pk").values_list("pk", "text"))
    actions = list(AlertAction.objects.for_tenant(tenant).order_by("pk").values_list("pk", "kind"))
    return [*alerts, ("notes", *notes), ("actions", *actions)]


__all__ = ["STEPS", "alert_in_status", "alert_new", "alert_snapshot", "reviewer"]


# --- pre-trade rules, lists, fraud (tests/compliance/pretrade, tests/compliance/fraud) -------


def rule_make(tenant: Any, kind: str, severity: str = "hard", **fields: Any) -> Any:
    """A rule saved through ``rule_save`` (validated, configuration version bumped)."""
    from compliance.services.rules import rule_save

    officer = reviewer(tenant)
    data: dict[str, Any] = {
        "name": fields.pop("name", f"{kind}-{next(_seq)}"),
        "kind": kind,
        "severity": severity,
        "params": fields.pop("params", {}),
    }
    data.update(fields)
    return rule_save(tenant=tenant, actor=officer, data=data)


def trade_submit(
    *,
    tenant: Any,
    actor: Any,
    account: Any,
    instrument: Any,
    side: str = "buy",
    quantity: str = "100",
    limit_price: str | None = "100",
) -> Any:
    """Enter a trade order through trading's entry service (screened); returns the Order."""
    from decimal import Decimal

    from trading.services.entry import TradeOrderInput, trade_order_submit

    data = TradeOrderInput(
        client_order_id=f"cmp-{next(_seq)}",
        account=account,
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type="limit" if limit_price is not None else "market",
        time_in_force="day",
        limit_price=Decimal(limit_price) if limit_price is not None else None,
    )
    return trade_order_submit(tenant=tenant, actor=actor, data=data).order
