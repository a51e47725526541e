"""Compliance reads: the alert review queue, one alert with its notes and journal.

Who reads alerts (issue section 7, and the choice made where it is silent):

- compliance officers and administrators read every alert of their tenant, with its notes and
  journal, except an alert whose subject is themselves (nobody reviews their own conduct: such
  an alert answers 404 to them exactly like a missing one);
- every other role (traders, portfolio managers, sellers, operations, viewers) reads no alert
  at all (403): an alert is a suspicion about a person or an account, and telling the people
  who trade that they are under review would tip them off;
- nobody reads another tenant's alert (404).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from compliance.models.alerts import Alert, AlertAction, AlertNote
from oms_site.errors import NotFound, PermissionDenied
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role

ALERT_READERS = REVIEWERS


def alert_reader_check(*, tenant: Tenant, user: Any) -> None:
    if not user_has_role(user=user, tenant_id=tenant.pk, roles=ALERT_READERS):
        raise PermissionDenied("Only compliance officers and administrators read alerts.")


def alerts_visible(*, tenant: Tenant, user: Any) -> QuerySet[Alert]:
    """The tenant's alerts this reviewer may see: all but those about the reviewer."""
    qs = Alert.objects.for_tenant(tenant).select_related(
        "assigned_to", "subject_user", "proposed_by", "approved_by", "order"
    )
    if user is not None and getattr(user, "pk", None) is not None:
        qs = qs.exclude(subject_user_id=user.pk)
    return qs


def alerts_queue(
    *,
    tenant: Tenant,
    user: Any,
    statuses: list[str] | None = None,
    severities: list[str] | None = None,
    rules: list[str] | None = None,
    older_than_hours: int | None = None,
    assigned_to: int | None = None,
    unassigned: bool = False,
    now: Any = None,
) -> QuerySet[Alert]:
    """The review queue with its filters (each list filter matches any of its values)."""
    qs = alerts_visible(tenant=tenant, user=user)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if severities:
        qs = qs.filter(severity__in=severities)
    if rules:
        qs = qs.filter(rule__in=rules)
    if older_than_hours is not None:
        cutoff = (now or timezone.now()) - timedelta(hours=older_than_hours)
        qs = qs.filter(created_at__lte=cutoff)
    if unassigned:
        qs = qs.filter(assigned_to__isnull=True)
    elif assigned_to is not None:
        qs = qs.filter(assigned_to_id=assigned_to)
    return qs


def _json_contains() -> bool:
    from django.db import connection

    return bool(connection.features.supports_json_field_contains)


def alert_get(*, tenant: Tenant, user: Any, alert_id: int) -> Alert:
    alert = alerts_visible(tenant=tenant, user=user).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("Alert not found.")
    return alert


def alert_notes(*, alert: Alert) -> QuerySet[AlertNote]:
    return (
        AlertNote.objects.for_tenant(alert.tenant_id)
        .filter(alert=alert)
        .order_by("created_at", "id")
    )


def alert_actions(*, alert: Alert) -> QuerySet[AlertAction]:
    return (
        AlertAction.objects.for_tenant(alert.tenant_id)
        .filter(alert=alert)
        .order_by("created_at", "id")
    )


def alerts_for_order(*, tenant: Tenant, order_id: int) -> list[Alert]:
    """Alerts about an order: its own alerts and pattern alerts listing it as evidence.

    Pattern alerts keep their order ids in a JSON list; on SQLite (no JSON containment) that
    list is checked in Python over the tenant's alerts naming any order.
    """
    base = Alert.objects.for_tenant(tenant).order_by("created_at", "id")
    if _json_contains():
        from django.db.models import Q

        return list(base.filter(Q(order_id=order_id) | Q(order_ids__contains=[order_id])))
    return [
        alert
        for alert in base.exclude(order_ids=[], order__isnull=True)
        if alert.order_id == order_id or order_id in (alert.order_ids or [])
    ]


# --- audit export -----------------------------------------------------------------------------

AUDIT_COLUMNS = ("at", "source", "ref", "kind", "from_status", "to_status", "actor", "detail")
# Rows at the same instant keep the causal order of their sources.
_SOURCE_RANK = {
    "order_event": 0,
    "screening_result": 1,
    "override": 2,
    "execution": 3,
    "shipment": 4,
    "tracking": 5,
    "alert_action": 6,
}


class _ExactEncoder(DjangoJSONEncoder):
    """Like Django's, but datetimes keep their microseconds (audit rows order by them)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


def _plain(value: Any) -> Any:
    """JSON-safe, exact: Decimals and datetimes become strings (never floats)."""
    return json.loads(json.dumps(value, cls=_ExactEncoder))


def _row(
    *,
    at: Any,
    source: str,
    ref: Any,
    kind: str,
    actor: str = "",
    from_status: str = "",
    to_status: str = "",
    detail: dict[str, Any] | None = None,
    pk: int = 0,
) -> dict[str, Any]:
    return {
        "at": at,
        "source": source,
        "ref": str(ref),
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "detail": _plain(detail or {}),
        "_pk": pk,
    }


def _optional_model(name: str) -> Any:
    from django.apps import apps

    try:
        return apps.get_model("compliance", name)
    except LookupError:
        return None


def _username_of(user_id: int | None, names: dict[int, str]) -> str:
    if user_id is None:
        return ""
    if user_id not in names:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=user_id).first()
        names[user_id] = user.get_username() if user is not None else str(user_id)
    return names[user_id]


def _generic_detail(row: Any, skip: set[str]) -> dict[str, Any]:
    """Every concrete field of a row but its keys and timestamps (foreign keys by id)."""
    out: dict[str, Any] = {}
    for field in row._meta.concrete_fields:
        if field.name in skip or field.name in {"id", "tenant", "created_at", "updated_at"}:
            continue
        out[field.attname] = getattr(row, field.attname)
    return out


def order_audit_trail(
    *, tenant: Tenant, user: Any, order_id: int
) -> tuple[Any, list[dict[str, Any]]]:
    """An order's whole life, in time order: its journal (screening decisions included, as the
    ``screened`` events), each rule's screening outcome, overrides, executions (trade) or
    shipments and carrier scans (sales), and the alerts naming it with their every action.

    Alerts about the caller are left out, as everywhere (see the module docstring).
    Each row: at, source, ref (the row's own id or code), kind, from/to status, actor, detail.
    """
    from orders.models import Order, OrderEvent

    order = Order.objects.for_tenant(tenant).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    rows: list[dict[str, Any]] = []
    names: dict[int, str] = {}

    for event in (
        OrderEvent.objects.for_tenant(tenant).filter(order=order).order_by("created_at", "id")
    ):
        rows.append(
            _row(
                at=event.created_at,
                source="order_event",
                ref=event.pk,
                pk=event.pk,
                kind=event.kind,
                from_status=event.from_status,
                to_status=event.to_status,
                actor=event.actor_name,
                detail={"reason": event.reason, "data": event.data},
            )
        )

    results = _optional_model("ScreeningResult")
    if results is not None:
        for result in results.objects.for_tenant(tenant).filter(order_id=order.pk).order_by("id"):
            detail = _generic_detail(result, {"order"})
            rows.append(
                _row(
                    at=result.created_at,
                    source="screening_result",
                    ref=result.pk,
                    pk=result.pk,
                    kind=str(getattr(result, "outcome", "")),
                    actor="system",
                    detail=detail,
                )
            )

    overrides = _optional_model("Override")
    if overrides is not None:
        for override in (
            overrides.objects.for_tenant(tenant).filter(order_id=order.pk).order_by("id")
        ):
            detail = _generic_detail(override, {"order"})
            rows.append(
                _row(
                    at=override.created_at,
                    source="override",
                    ref=override.pk,
                    pk=override.pk,
                    kind="requested",
                    actor=_username_of(getattr(override, "requested_by_id", None), names),
                    detail=detail,
                )
            )
            decided_at = getattr(override, "decided_at", None)
            if decided_at is not None:
                rows.append(
                    _row(
                        at=decided_at,
                        source="override",
                        ref=override.pk,
                        pk=override.pk,
                        kind=str(getattr(override, "status", "decided")),
                        actor=_username_of(getattr(override, "approved_by_id", None), names),
                        detail=detail,
                    )
                )

    if order.kind == "trade":
        rows.extend(_execution_rows(tenant=tenant, order_id=order.pk))
    else:
        rows.extend(_shipment_rows(tenant=tenant, order_id=order.pk))

    for alert in alerts_for_order(tenant=tenant, order_id=order.pk):
        if user is not None and alert.subject_user_id == getattr(user, "pk", None):
            continue
        summary = {
            "alert_id": alert.pk,
            "rule": alert.rule,
            "severity": alert.severity,
            "title": alert.title,
        }
        for action in alert_actions(alert=alert):
            rows.append(
                _row(
                    at=action.created_at,
                    source="alert_action",
                    ref=action.pk,
                    pk=action.pk,
                    kind=action.kind,
                    from_status=action.from_status,
                    to_status=action.to_status,
                    actor=action.actor_name,
                    detail={**summary, "data": action.data},
                )
            )

    rows.sort(key=lambda r: (r["at"], _SOURCE_RANK[r["source"]], r["_pk"]))
    for row in rows:
        del row["_pk"]
        row["at"] = _plain(row["at"])
    return order, rows


def _execution_rows(*, tenant: Tenant, order_id: int) -> list[dict[str, Any]]:
    from trading.models import Execution

    rows = []
    executions = (
        Execution.objects.for_tenant(tenant)
        .filter(order_id=order_id)
        .select_related("venue")
        .order_by("transacted_at", "id")
    )
    for execution in executions:
        rows.append(
            _row(
                at=execution.transacted_at,
                source="execution",
                ref=execution.exec_id,
                pk=execution.pk,
                kind="fill",
                actor=execution.venue.code if execution.venue else "",
                detail={
                    "exec_id": execution.exec_id,
                    "last_qty": execution.last_qty,
                    "last_px": execution.last_px,
                    "fee": execution.fee,
                    "liquidity": execution.liquidity,
                    "venue": execution.venue.code if execution.venue else None,
                },
            )
        )
    return rows


def _shipment_rows(*, tenant: Tenant, order_id: int) -> list[dict[str, Any]]:
    from commerce.models import Fulfilment, TrackingEvent

    rows = []
    fulfilments = list(
        Fulfilment.objects.for_tenant(tenant)
        .filter(sales_order_id=order_id)
        .select_related("warehouse")
        .order_by("id")
    )
    for fulfilment in fulfilments:
        detail = {
            "fulfilment_id": fulfilment.pk,
            "warehouse": fulfilment.warehouse.code,
            "state": fulfilment.state,
            "carrier": fulfilment.carrier,
            "tracking_number": fulfilment.tracking_number,
        }
        for kind, at in (
            ("created", fulfilment.created_at),
            ("shipped", fulfilment.shipped_at),
            ("delivered", fulfilment.delivered_at),
            ("marketplace_confirmed", fulfilment.marketplace_confirmed_at),
        ):
            if at is not None:
                rows.append(
                    _row(
                        at=at,
                        source="shipment",
                        ref=fulfilment.pk,
                        pk=fulfilment.pk,
                        kind=kind,
                        detail=detail,
                    )
                )
    scans = (
        TrackingEvent.objects.for_tenant(tenant)
        .filter(fulfilment__in=[f.pk for f in fulfilments])
        .order_by("occurred_at", "id")
    )
    for scan in scans:
        rows.append(
            _row(
                at=scan.occurred_at,
                source="tracking",
                ref=scan.pk,
                pk=scan.pk,
                kind=scan.code,
                detail={
                    "fulfilment_id": scan.fulfilment_id,
                    "description": scan.description,
                    "location": scan.location,
                },
            )
        )
    return rows
