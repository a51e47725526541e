"""Input rules shared by the money services: roles, numbers, idempotency keys, currencies,
the operation day; and how amounts and quantities read in messages."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from oms_site.errors import PermissionDenied, ValidationFailed
from tenancy.models import Tenant
from tenancy.selectors import user_has_role

Actor = Any
MONEY_MAX_DIGITS, MONEY_PLACES = 20, 4
KEY_MAX = 128


def role_require(*, tenant: Tenant, actor: Actor, roles: Iterable[str], what: str) -> None:
    """``actor`` None is the system (tasks, imports); a person needs one of ``roles``."""
    if actor is None:
        return
    if not user_has_role(user=actor, tenant_id=tenant.pk, roles=roles):
        raise PermissionDenied(f"Your role may not {what}.")


def decimal_clean(
    value: Any,
    *,
    field: str,
    max_digits: int = MONEY_MAX_DIGITS,
    places: int = MONEY_PLACES,
    positive: bool = True,
) -> Decimal:
    """A finite Decimal that fits the column; ``positive`` -> > 0, else >= 0 (400 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValidationFailed(errors={field: ["A valid number is required."]})
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValidationFailed(errors={field: ["A valid number is required."]}) from None
    if not number.is_finite():
        raise ValidationFailed(errors={field: ["A valid number is required."]})
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        raise ValidationFailed(errors={field: [f"At most {places} decimal places."]})
    if abs(number) >= Decimal(10) ** (max_digits - places):
        raise ValidationFailed(errors={field: ["The number is too large."]})
    if positive and number <= 0:
        raise ValidationFailed(errors={field: ["Must be greater than zero."]})
    if not positive and number < 0:
        raise ValidationFailed(errors={field: ["Must not be negative."]})
    return number


def money_text(value: Decimal) -> str:
    """An amount for a message: cents when exact (``15.00``), else every significant place."""
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else format(value.normalize(), "f")


def qty_text(value: Decimal) -> str:
    """A quantity for a message: ``2`` rather than ``2.000``."""
    return format(value.normalize(), "f") if value else "0"


def key_clean(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(errors={"idempotency_key": ["Required: a non-empty string."]})
    if len(value) > KEY_MAX:
        raise ValidationFailed(errors={"idempotency_key": [f"At most {KEY_MAX} characters."]})
    if not value.isprintable():
        raise ValidationFailed(errors={"idempotency_key": ["Use printable characters only."]})
    return value


def currency_check(*, currency: str | None, order_currency: str) -> str:
    if currency is None:
        return order_currency
    if currency != order_currency:
        raise ValidationFailed(
            errors={"currency": [f"Must be the order currency {order_currency}."]}
        )
    return currency


def operation_day(tenant: Tenant, *, at: datetime | None = None) -> date:
    """The tenant's business day (the date in its time zone) at ``at``, by default now: the FX
    date of an operation or an order. May raise ``OverflowError`` for a time within a day of
    ``datetime.min`` or ``datetime.max``."""
    return timezone.localtime(at or timezone.now(), zoneinfo.ZoneInfo(tenant.timezone)).date()
