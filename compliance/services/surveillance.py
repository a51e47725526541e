"""Surveillance services: run a scan, configure a detector, grant a personal-dealing
pre-clearance. Configuration and pre-clearances are compliance decisions: only reviewers
(tenant admins and compliance officers) make them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from compliance.models.alerts import AlertSeverity
from compliance.models.surveillance import (
    PreClearance,
    PreClearanceSide,
    ScanCursor,
    SurveillanceSetting,
)
from compliance.surveillance.registry import DETECTORS, params_validate
from compliance.surveillance.runner import ScanResult, scan_run
from oms_site.errors import PermissionDenied, ValidationFailed
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role
from trading.models import Account, AccountKind, Instrument

Actor = Any


def _require_reviewer(tenant: Tenant, actor: Actor) -> None:
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=REVIEWERS):
        raise PermissionDenied("Only compliance officers and administrators may do this.")


@transaction.atomic
def surveillance_scan(
    *,
    tenant: Tenant,
    actor: Actor = None,
    detectors: list[str] | None = None,
    settle_seconds: float | None = None,
) -> ScanResult:
    """Scan what arrived since each detector's cursor and raise the new alerts (the system
    runs it, on fills and periodically; ``actor`` is recorded by nobody: alerts are raised
    by the system)."""
    unknown = sorted(set(detectors or ()) - set(DETECTORS))
    if unknown:
        raise ValidationFailed(
            errors={"detectors": [f"Unknown detector(s): {', '.join(unknown)}."]}
        )
    return scan_run(tenant=tenant, detectors=detectors, settle_seconds=settle_seconds)


@transaction.atomic
def surveillance_setting_set(
    *,
    tenant: Tenant,
    actor: Actor,
    detector: str,
    enabled: bool | None = None,
    severity: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> SurveillanceSetting:
    """Create or change a tenant's setting of one detector (``None``: leave as is; ``params``
    replaces the overrides as a whole; ``severity=""`` restores the default)."""
    _require_reviewer(tenant, actor)
    errors: dict[str, list[str]] = {}
    spec = DETECTORS.get(detector)
    if spec is None:
        errors["detector"] = [f"Choose one of {', '.join(DETECTORS)}."]
    if severity and severity not in AlertSeverity.values:
        errors["severity"] = [f"Choose one of {', '.join(AlertSeverity.values)}."]
    if params is not None and not isinstance(params, Mapping):
        errors["params"] = ["An object of parameter values."]
    elif params is not None and spec is not None:
        bad = params_validate(spec, params)
        if bad:
            errors["params"] = [
                f"{key}: {msg}" for key, msgs in sorted(bad.items()) for msg in msgs
            ]
    if errors:
        raise ValidationFailed(errors=errors)
    SurveillanceSetting.objects.bulk_create(
        [SurveillanceSetting(tenant=tenant, detector=detector)], ignore_conflicts=True
    )
    setting = (
        SurveillanceSetting.objects.for_tenant(tenant).select_for_update().get(detector=detector)
    )
    if enabled is not None:
        setting.enabled = enabled
    if severity is not None:
        setting.severity = severity
    if params is not None:
        setting.params = dict(params)
    setting.save()
    return setting


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@transaction.atomic
def pre_clearance_grant(
    *,
    tenant: Tenant,
    actor: Actor,
    account: Account,
    instrument: Instrument,
    side: str,
    quantity: Decimal,
    valid_from: datetime,
    valid_to: datetime,
    note: str = "",
) -> PreClearance:
    """Pre-clear an employee's personal trade (four eyes: by a reviewer, on an employee
    account of this tenant)."""
    _require_reviewer(tenant, actor)
    errors: dict[str, list[str]] = {}
    if account.tenant_id != tenant.pk:
        errors["account"] = ["Unknown account."]
    elif account.kind != AccountKind.EMPLOYEE:
        errors["account"] = ["Pre-clearance is for employee accounts."]
    if instrument.tenant_id != tenant.pk:
        errors["instrument"] = ["Unknown instrument."]
    if side not in PreClearanceSide.values:
        errors["side"] = [f"Choose one of {', '.join(PreClearanceSide.values)}."]
    amount = _decimal(quantity)
    if amount is None or amount <= 0:
        errors["quantity"] = ["A quantity greater than zero."]
    for name, value in (("valid_from", valid_from), ("valid_to", valid_to)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            errors[name] = ["A timezone-aware date and time."]
    if not errors and valid_to <= valid_from:
        errors["valid_to"] = ["Must be after valid_from."]
    if errors:
        raise ValidationFailed(errors=errors)
    return PreClearance.objects.create(
        tenant=tenant,
        account=account,
        instrument=instrument,
        side=side,
        quantity=amount,
        valid_from=valid_from,
        valid_to=valid_to,
        approved_by=actor,
        note=note[:500],
    )


def scan_cursors(*, tenant: Tenant) -> list[ScanCursor]:
    return list(ScanCursor.objects.for_tenant(tenant).order_by("detector"))
