"""The incremental scan of one tenant: every enabled detector, from its own cursor.

A scan takes its cursors under a row lock (two scans of a tenant never overlap: the second
waits and then finds nothing new), reads the high-water marks -- the last execution, trade
order and restricted-list entry at least ``settle_seconds`` old, so a row whose transaction
has not committed yet is not stepped over -- runs each detector on what lies between its
cursor and those marks, raises an alert per finding not raised before (the finding's
dedupe key), and moves the cursors, all in one transaction: a failed scan changes nothing and
the next one redoes it. A disabled detector's cursor stays where it is, so enabling it again
judges everything since (nothing is skipped silently).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from compliance.models.alerts import Alert
from compliance.models.rules import RestrictedListEntry
from compliance.models.surveillance import ScanCursor, SurveillanceSetting
from compliance.services.alerts import alert_raise
from compliance.surveillance.base import DetectorSpec, Finding, ScanWindow
from compliance.surveillance.registry import DETECTORS, params_effective
from orders.models import Order, OrderKind
from tenancy.models import Tenant
from trading.models import Execution


@dataclass
class DetectorRun:
    detector: str
    window: ScanWindow
    ran: bool
    findings: int = 0
    raised: list[int] = field(default_factory=list)  # ids of the alerts raised by this scan
    milliseconds: int = 0


@dataclass
class ScanResult:
    tenant_id: int
    runs: dict[str, DetectorRun] = field(default_factory=dict)

    @property
    def raised(self) -> list[int]:
        return [pk for run in self.runs.values() for pk in run.raised]


def settle_default() -> float:
    return float(getattr(settings, "SURVEILLANCE_SETTLE_SECONDS", 2.0))


def high_water(tenant_id: int, settle_seconds: float) -> tuple[int, int, int]:
    """(execution, trade order, restricted entry) ids: the last rows old enough to judge."""
    cutoff = timezone.now() - timedelta(seconds=settle_seconds)

    def last(queryset: Any) -> int:
        return int(queryset.filter(created_at__lte=cutoff).aggregate(m=Max("pk"))["m"] or 0)

    return (
        last(Execution.objects.for_tenant(tenant_id)),
        last(Order.objects.for_tenant(tenant_id).filter(kind=OrderKind.TRADE)),
        last(RestrictedListEntry.objects.for_tenant(tenant_id)),
    )


def _cursors(tenant: Tenant, names: list[str]) -> dict[str, ScanCursor]:
    ScanCursor.objects.bulk_create(
        [ScanCursor(tenant=tenant, detector=name) for name in names], ignore_conflicts=True
    )
    locked = (
        ScanCursor.objects.for_tenant(tenant)
        .select_for_update()
        .filter(detector__in=names)
        .order_by("pk")
    )
    return {cursor.detector: cursor for cursor in locked}


def scan_run(
    *, tenant: Tenant, detectors: list[str] | None = None, settle_seconds: float | None = None
) -> ScanResult:
    """Run the scan (the caller holds the transaction)."""
    names = [name for name in DETECTORS if detectors is None or name in detectors]
    cursors = _cursors(tenant, names)
    configured = {
        s.detector: s
        for s in SurveillanceSetting.objects.for_tenant(tenant).filter(detector__in=names)
    }
    settle = settle_default() if settle_seconds is None else settle_seconds
    exec_upto, order_upto, restricted_upto = high_water(tenant.pk, settle)
    result = ScanResult(tenant_id=tenant.pk)
    moved: list[ScanCursor] = []
    for name in names:
        spec, cursor, setting = DETECTORS[name], cursors[name], configured.get(name)
        window = ScanWindow(
            tenant_id=tenant.pk,
            exec_after=cursor.last_execution_id,
            exec_upto=max(exec_upto, cursor.last_execution_id),
            order_after=cursor.last_order_id,
            order_upto=max(order_upto, cursor.last_order_id),
            restricted_after=cursor.last_restricted_id,
            restricted_upto=max(restricted_upto, cursor.last_restricted_id),
        )
        if setting is not None and not setting.enabled:
            result.runs[name] = DetectorRun(detector=name, window=window, ran=False)
            continue
        run = _detector_run(tenant, spec, window, setting)
        result.runs[name] = run
        if not window.has_new:
            continue  # nothing moved: the cursor row is left alone
        cursor.last_execution_id = window.exec_upto
        cursor.last_order_id = window.order_upto
        cursor.last_restricted_id = window.restricted_upto
        cursor.last_scan_at = cursor.updated_at = timezone.now()
        cursor.alerts_raised += len(run.raised)
        if run.ran:
            cursor.last_duration_ms = run.milliseconds
        moved.append(cursor)
    ScanCursor.objects.for_tenant(tenant).bulk_update(moved, CURSOR_FIELDS)
    return result


CURSOR_FIELDS = [
    "last_execution_id",
    "last_order_id",
    "last_restricted_id",
    "last_scan_at",
    "alerts_raised",
    "last_duration_ms",
    "updated_at",
]


def _relevant(spec: DetectorSpec, window: ScanWindow) -> bool:
    new = {
        "executions": window.exec_upto > window.exec_after,
        "orders": window.order_upto > window.order_after,
        "restricted": window.restricted_upto > window.restricted_after,
    }
    return any(new[kind] for kind in spec.uses)


def _detector_run(
    tenant: Tenant, spec: DetectorSpec, window: ScanWindow, setting: SurveillanceSetting | None
) -> DetectorRun:
    if not _relevant(spec, window):
        return DetectorRun(detector=spec.name, window=window, ran=False)
    params = params_effective(spec, setting.params if setting else None)
    started = time.perf_counter()
    findings = spec.detect(window, params)
    severity = (setting.severity if setting else "") or spec.severity
    raised = _raise(tenant, spec, findings, params, severity)
    return DetectorRun(
        detector=spec.name,
        window=window,
        ran=True,
        findings=len(findings),
        raised=raised,
        milliseconds=int((time.perf_counter() - started) * 1000),
    )


def _raise(
    tenant: Tenant,
    spec: DetectorSpec,
    findings: list[Finding],
    params: dict[str, Any],
    severity: str,
) -> list[int]:
    if not findings:
        return []
    keys = [f.dedupe_key for f in findings]
    known = set(
        Alert.objects.for_tenant(tenant)
        .filter(dedupe_key__in=keys)
        .values_list("dedupe_key", flat=True)
    )
    fresh = [f for f in findings if f.dedupe_key not in known]
    orders = Order.objects.for_tenant(tenant).in_bulk(
        [f.order_id for f in fresh if f.order_id is not None]
    )
    raised = []
    for finding in fresh:
        if finding.dedupe_key in known:
            continue  # two findings of one scan with the same key: the first one stands
        known.add(finding.dedupe_key)
        alert = alert_raise(
            tenant=tenant,
            rule=spec.name,
            severity=severity,
            title=finding.title,
            evidence=finding.evidence(spec.name, params),
            order=orders.get(finding.order_id) if finding.order_id is not None else None,
            account_code=finding.account_codes[0] if finding.account_codes else "",
            dedupe_key=finding.dedupe_key,
            order_ids=finding.order_ids,
            execution_ids=finding.execution_ids,
            account_codes=finding.account_codes,
        )
        raised.append(alert.pk)
    return raised
