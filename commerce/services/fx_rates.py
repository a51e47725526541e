"""FX rate maintenance (reference data: ``REFERENCE_DATA`` roles, admin and operations).

One rate per (tenant, date, pair): a second one for the same day is a 409 (change it instead);
changing a rate never rewrites operations, which keep the rate they used. Lookups are in
``commerce.services.fx``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from commerce.models import FxRate
from commerce.services.money_rules import decimal_clean, role_require
from oms_site.errors import Conflict, NotFound, ValidationFailed
from tenancy.models import Tenant
from tenancy.roles import REFERENCE_DATA

Actor = Any
ZERO = Decimal("0")
RATE_MAX_DIGITS, RATE_PLACES = 24, 10


def _fx_clean(
    *, date_value: Any, from_currency: Any, to_currency: Any, rate: Any
) -> tuple[date, str, str, Decimal]:
    errors: dict[str, list[str]] = {}
    for field, value in (("from_currency", from_currency), ("to_currency", to_currency)):
        if not (isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)):
            errors[field] = ["Use a three-letter ISO 4217 code, e.g. USD."]
    if not errors and from_currency == to_currency:
        errors["to_currency"] = ["Must differ from from_currency."]
    if not isinstance(date_value, date):
        errors["date"] = ["A date is required."]
    try:
        value = decimal_clean(rate, field="rate", max_digits=RATE_MAX_DIGITS, places=RATE_PLACES)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        value = ZERO
    if errors:
        raise ValidationFailed(errors=errors)
    return date_value, from_currency, to_currency, value


@transaction.atomic
def fx_rate_create(
    *, tenant: Tenant, actor: Actor, date: date, from_currency: str, to_currency: str, rate: Any
) -> FxRate:
    """One rate per (date, pair): a second one for the same day is a 409 (change it instead)."""
    role_require(tenant=tenant, actor=actor, roles=REFERENCE_DATA, what="maintain FX rates")
    day, base, quote, value = _fx_clean(
        date_value=date, from_currency=from_currency, to_currency=to_currency, rate=rate
    )
    row = FxRate(tenant=tenant, date=day, from_currency=base, to_currency=quote, rate=value)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            f"A {base}/{quote} rate for {day} exists already.",
            errors={"date": ["A rate for this pair and day exists already."]},
        ) from None
    return row


@transaction.atomic
def fx_rate_update(*, tenant: Tenant, actor: Actor, fx_rate_id: int, rate: Any) -> FxRate:
    """Only the rate of a stored day changes (operations keep the rate they used)."""
    role_require(tenant=tenant, actor=actor, roles=REFERENCE_DATA, what="maintain FX rates")
    value = decimal_clean(rate, field="rate", max_digits=RATE_MAX_DIGITS, places=RATE_PLACES)
    row = FxRate.objects.for_tenant(tenant).select_for_update().filter(pk=fx_rate_id).first()
    if row is None:
        raise NotFound("FX rate not found.")
    row.rate = value
    row.save(update_fields=["rate", "updated_at"])
    return row


@transaction.atomic
def fx_rate_delete(*, tenant: Tenant, actor: Actor, fx_rate_id: int) -> None:
    role_require(tenant=tenant, actor=actor, roles=REFERENCE_DATA, what="maintain FX rates")
    deleted, _ = FxRate.objects.for_tenant(tenant).filter(pk=fx_rate_id).delete()
    if not deleted:
        raise NotFound("FX rate not found.")
