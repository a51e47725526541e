"""Rule, list, locate and close configuration: validation per kind, writes, cache version.

Who configures: compliance officers and tenant administrators (``tenancy.roles.REVIEWERS``).
Every write bumps the tenant's compliance configuration version (a token in the Django cache,
set at once and again after commit), which the screening state compares once per screening to
reload its in-memory copy of rules, lists, locates and kill switches.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction

from compliance.models import (
    InstrumentClose,
    Locate,
    RestrictedListEntry,
    Rule,
    RuleKind,
    RuleScope,
    RuleSeverity,
    WatchListEntry,
)
from oms_site.errors import NotFound, PermissionDenied, ValidationFailed
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS
from tenancy.selectors import user_has_role

Actor = Any

DEC, INT, REF = "decimal", "int", "reference"
# kind -> {param: (type, default or None when required)}
PARAMS: dict[str, dict[str, tuple[str, Any]]] = {
    RuleKind.CREDIT_ACCOUNT: {"limit": (DEC, None)},
    RuleKind.CREDIT_TENANT: {"limit": (DEC, None)},
    RuleKind.PRICE_COLLAR: {"percent": (DEC, None), "reference": (REF, "last")},
    RuleKind.MAX_QUANTITY: {"max": (DEC, None)},
    RuleKind.MAX_NOTIONAL: {"max": (DEC, None)},
    RuleKind.ADV_PERCENT: {"percent": (DEC, None)},
    RuleKind.THROTTLE: {"max_orders": (INT, None), "per_seconds": (INT, 1)},
    RuleKind.DUPLICATE: {"window_seconds": (INT, None)},
    RuleKind.RESTRICTED_LIST: {},
    RuleKind.WATCH_LIST: {},
    RuleKind.SHORT_LOCATE: {},
    RuleKind.SHORT_PRICE_TEST: {"fall_percent": (DEC, "10")},
    RuleKind.SELF_MATCH: {},
    RuleKind.ISSUER_CONCENTRATION: {"warn": (DEC, ""), "soft": (DEC, ""), "hard": (DEC, "")},
    RuleKind.DIVERSIFICATION: {
        "single_max": (DEC, "10"),
        "large_threshold": (DEC, "5"),
        "large_total_max": (DEC, "40"),
    },
    RuleKind.SECTOR_LIMIT: {"percent": (DEC, None)},
    RuleKind.AVAILABLE_CASH: {},
    RuleKind.FRAUD_VELOCITY: {
        "max_orders": (INT, None),
        "window_seconds": (INT, None),
        "points": (INT, None),
    },
    RuleKind.FRAUD_COUNTRY_MISMATCH: {"points": (INT, None)},
    RuleKind.FRAUD_HIGH_VALUE_FIRST: {"amount": (DEC, None), "points": (INT, None)},
    RuleKind.FRAUD_SCORE: {"threshold": (INT, None)},
}
# Kinds whose severity is fixed by the issue: restricted -> hard, watch -> warn.
FIXED_SEVERITY = {
    RuleKind.RESTRICTED_LIST: RuleSeverity.HARD,
    RuleKind.WATCH_LIST: RuleSeverity.WARN,
}


def _version_key(tenant_id: int) -> str:
    return f"compliance:config:{tenant_id}"


def config_version(tenant_id: int) -> str:
    """The tenant's configuration token (a fresh one is stored when the cache lost it)."""
    key = _version_key(tenant_id)
    token: str | None = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        token = cache.get(key) or ""
    return token


def config_version_bump(tenant_id: int) -> None:
    """New token now (this process and transaction see the change) and after commit (others
    reload once the change is visible to them)."""
    key = _version_key(tenant_id)
    cache.set(key, uuid.uuid4().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(key, uuid.uuid4().hex, timeout=None))


def _check_role(*, tenant: Tenant, actor: Actor) -> None:
    if actor is None or not user_has_role(user=actor, tenant_id=tenant.pk, roles=REVIEWERS):
        raise PermissionDenied("Only compliance officers and administrators configure this.")


def _param(kind_type: str, value: Any) -> tuple[Any, str | None]:
    if kind_type == REF:
        if value not in ("last", "mid"):
            return None, "Choose last or mid."
        return value, None
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None, "A positive number is required."
    if kind_type == INT:
        if isinstance(value, int) and value > 0:
            return value, None
        if isinstance(value, str) and value.isdigit() and int(value) > 0 and len(value) < 10:
            return int(value), None
        return None, "A positive whole number is required."
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None, "A positive number is required."
    if not number.is_finite() or number <= 0 or number > Decimal("1e15"):
        return None, "A positive number is required."
    return str(number), None


def rule_params_clean(kind: str, params: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Normalised parameters of ``kind`` (decimals as strings) and the errors, keyed
    ``params.<name>``."""
    if kind not in PARAMS:
        return {}, {"kind": [f"Unknown kind {kind!r}."]}
    if not isinstance(params, Mapping):
        return {}, {"params": ["Must be an object."]}
    spec = PARAMS[kind]
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in params:
        if name not in spec:
            errors[f"params.{name}"] = [f"Unknown parameter for {kind}."]
    for name, (kind_type, default) in spec.items():
        if name not in params or params[name] in ("", None):
            if default is None:
                errors[f"params.{name}"] = ["This parameter is required."]
            elif default != "":
                clean[name] = default
            continue
        value, error = _param(kind_type, params[name])
        if error:
            errors[f"params.{name}"] = [error]
        else:
            clean[name] = value
    if kind == RuleKind.ISSUER_CONCENTRATION and not errors:
        bands = [Decimal(clean[b]) for b in ("warn", "soft", "hard") if b in clean]
        if not bands:
            errors["params"] = ["Give at least one band: warn, soft or hard (percent)."]
        elif bands != sorted(bands) or len(set(bands)) != len(bands):
            errors["params"] = ["Bands must increase: warn < soft < hard."]
    return clean, errors


def rule_errors(
    *,
    kind: str,
    params: Any,
    scope: str,
    account: Any,
    instrument: Any,
    trader: Any,
    severity: str = RuleSeverity.HARD,
) -> dict[str, list[str]]:
    _, errors = rule_params_clean(kind, params)
    if severity not in RuleSeverity.values:
        errors["severity"] = ["Choose warn, soft or hard."]
    if scope not in RuleScope.values:
        errors["scope"] = ["Choose tenant, account, instrument or trader."]
        return errors
    targets = {"account": account, "instrument": instrument, "trader": trader}
    for name, value in targets.items():
        if scope == name and value is None:
            errors[name] = [f"Required for the {name} scope."]
        if scope != name and value is not None:
            errors[name] = [f"Only for the {name} scope."]
    return errors


def _same_tenant(tenant: Tenant, **refs: Any) -> None:
    errors = {
        name: ["Not found."]
        for name, ref in refs.items()
        if ref is not None and getattr(ref, "tenant_id", tenant.pk) != tenant.pk
    }
    trader = refs.get("trader")
    if trader is not None and not user_has_role(
        user=trader, tenant_id=tenant.pk, roles=frozenset({"admin", "trader", "portfolio_manager"})
    ):
        errors["trader"] = ["Not a trader of this tenant."]
    if errors:
        raise ValidationFailed(errors=errors)


_RULE_FIELDS = ("name", "kind", "params", "scope", "account", "instrument", "trader", "severity")


@transaction.atomic
def rule_save(
    *, tenant: Tenant, actor: Actor, data: Mapping[str, Any], rule_id: int | None = None
) -> Rule:
    """Create (``rule_id`` None) or update a rule; all errors at once, nothing stored on error."""
    _check_role(tenant=tenant, actor=actor)
    if rule_id is None:
        rule = Rule(tenant=tenant)
    else:
        found = Rule.objects.for_tenant(tenant).select_for_update().filter(pk=rule_id).first()
        if found is None:
            raise NotFound("Rule not found.")
        rule = found
    for name in (*_RULE_FIELDS, "active"):
        if name in data:
            setattr(rule, name, data[name])
    _same_tenant(tenant, account=rule.account, instrument=rule.instrument, trader=rule.trader)
    errors: dict[str, list[str]] = {}
    if not (rule.name or "").strip():
        errors["name"] = ["This field is required."]
    errors.update(
        rule_errors(
            kind=rule.kind,
            params=rule.params,
            scope=rule.scope,
            account=rule.account_id,
            instrument=rule.instrument_id,
            trader=rule.trader_id,
            severity=rule.severity,
        )
    )
    if errors:
        raise ValidationFailed(errors=errors)
    rule.params, _ = rule_params_clean(rule.kind, rule.params)
    if rule.kind in FIXED_SEVERITY:
        rule.severity = FIXED_SEVERITY[RuleKind(rule.kind)]
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise ValidationFailed(errors={"name": ["A rule with this name exists."]}) from exc
    config_version_bump(tenant.pk)
    return rule


@transaction.atomic
def rule_delete(*, tenant: Tenant, actor: Actor, rule_id: int) -> None:
    """Deactivate (rules are kept: screening results point to them)."""
    _check_role(tenant=tenant, actor=actor)
    updated = Rule.objects.for_tenant(tenant).filter(pk=rule_id).update(active=False)
    if not updated:
        raise NotFound("Rule not found.")
    config_version_bump(tenant.pk)


def _list_entry_save(
    model: type[RestrictedListEntry] | type[WatchListEntry],
    *,
    tenant: Tenant,
    actor: Actor,
    instrument: Any,
    issuer: str,
    reason: str,
) -> Any:
    _check_role(tenant=tenant, actor=actor)
    _same_tenant(tenant, instrument=instrument)
    issuer = (issuer or "").strip()
    errors: dict[str, list[str]] = {}
    if (instrument is None) == (not issuer):
        errors["instrument"] = ["Give an instrument or an issuer (one of them)."]
    if not (reason or "").strip():
        errors["reason"] = ["This field is required."]
    if errors:
        raise ValidationFailed(errors=errors)
    with transaction.atomic():
        entry = model.objects.create(
            tenant=tenant, instrument=instrument, issuer=issuer, reason=reason, added_by=actor
        )
        config_version_bump(tenant.pk)
    return entry


def restricted_entry_add(
    *, tenant: Tenant, actor: Actor, instrument: Any = None, issuer: str = "", reason: str
) -> RestrictedListEntry:
    entry: RestrictedListEntry = _list_entry_save(
        RestrictedListEntry,
        tenant=tenant,
        actor=actor,
        instrument=instrument,
        issuer=issuer,
        reason=reason,
    )
    return entry


def watch_entry_add(
    *, tenant: Tenant, actor: Actor, instrument: Any = None, issuer: str = "", reason: str
) -> WatchListEntry:
    entry: WatchListEntry = _list_entry_save(
        WatchListEntry,
        tenant=tenant,
        actor=actor,
        instrument=instrument,
        issuer=issuer,
        reason=reason,
    )
    return entry


@transaction.atomic
def list_entry_deactivate(
    *,
    tenant: Tenant,
    actor: Actor,
    model: type[RestrictedListEntry] | type[WatchListEntry],
    entry_id: int,
) -> None:
    _check_role(tenant=tenant, actor=actor)
    if not model.objects.for_tenant(tenant).filter(pk=entry_id).update(active=False):
        raise NotFound("Entry not found.")
    config_version_bump(tenant.pk)


@transaction.atomic
def locate_set(
    *,
    tenant: Tenant,
    actor: Actor,
    account: Any,
    instrument: Any,
    quantity: Decimal,
    day: date,
    source: str = "",
) -> Locate:
    """Record (or replace) the located quantity of (account, instrument, day): an upsert on the
    unique constraint."""
    _check_role(tenant=tenant, actor=actor)
    _same_tenant(tenant, account=account, instrument=instrument)
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(errors={"quantity": ["A positive quantity is required."]})
    Locate.objects.bulk_create(
        [
            Locate(
                tenant=tenant,
                account=account,
                instrument=instrument,
                quantity=quantity,
                date=day,
                source=source,
            )
        ],
        update_conflicts=True,
        unique_fields=["tenant", "account", "instrument", "date"],
        update_fields=["quantity", "source", "updated_at"],
    )
    config_version_bump(tenant.pk)
    return Locate.objects.for_tenant(tenant).get(account=account, instrument=instrument, date=day)


@transaction.atomic
def instrument_close_record(
    *, tenant: Tenant, actor: Actor, instrument: Any, trade_date: date, close_price: Decimal
) -> InstrumentClose:
    """The official close of a day (end-of-day reference data, the short-sale test's previous
    close). An upsert on (tenant, instrument, trade_date)."""
    _same_tenant(tenant, instrument=instrument)
    if not isinstance(close_price, Decimal) or not close_price.is_finite() or close_price <= 0:
        raise ValidationFailed(errors={"close_price": ["A positive price is required."]})
    InstrumentClose.objects.bulk_create(
        [
            InstrumentClose(
                tenant=tenant, instrument=instrument, trade_date=trade_date, close_price=close_price
            )
        ],
        update_conflicts=True,
        unique_fields=["tenant", "instrument", "trade_date"],
        update_fields=["close_price", "updated_at"],
    )
    config_version_bump(tenant.pk)
    return InstrumentClose.objects.for_tenant(tenant).get(
        instrument=instrument, trade_date=trade_date
    )
