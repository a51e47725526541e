from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from commerce.models import FxRate
from commerce.services.fx import fx_rate, to_base
from oms_site.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def _rate(tenant: Any, day: date, src: str, dst: str, rate: str) -> None:
    FxRate.objects.create(
        tenant=tenant, date=day, from_currency=src, to_currency=dst, rate=Decimal(rate)
    )


def test_same_currency_is_one(tenant: Any) -> None:
    assert fx_rate(tenant=tenant, from_currency="EUR", to_currency="EUR", on=date(2024, 1, 1)) == 1


def test_latest_rate_on_or_before_the_day(tenant: Any) -> None:
    _rate(tenant, date(2024, 1, 1), "EUR", "USD", "1.10")
    _rate(tenant, date(2024, 1, 5), "EUR", "USD", "1.20")
    _rate(tenant, date(2024, 1, 9), "EUR", "USD", "1.30")

    got = fx_rate(tenant=tenant, from_currency="EUR", to_currency="USD", on=date(2024, 1, 7))

    assert got == Decimal("1.20")


def test_inverse_rate_when_only_the_opposite_pair_is_stored(tenant: Any) -> None:
    _rate(tenant, date(2024, 1, 1), "USD", "EUR", "0.8")

    got = fx_rate(tenant=tenant, from_currency="EUR", to_currency="USD", on=date(2024, 1, 2))

    assert got == Decimal("1.25")


def test_newer_inverse_beats_older_direct(tenant: Any) -> None:
    _rate(tenant, date(2024, 1, 1), "EUR", "USD", "1.10")
    _rate(tenant, date(2024, 1, 3), "USD", "EUR", "0.8")

    got = fx_rate(tenant=tenant, from_currency="EUR", to_currency="USD", on=date(2024, 1, 4))

    assert got == Decimal("1.25")


def test_no_rate_names_currency(tenant: Any) -> None:
    _rate(tenant, date(2024, 2, 1), "EUR", "USD", "1.10")

    with pytest.raises(ValidationFailed) as exc:
        fx_rate(tenant=tenant, from_currency="EUR", to_currency="USD", on=date(2024, 1, 31))

    assert list(exc.value.errors) == ["currency"]


def test_other_tenants_rates_are_not_used(tenant: Any, other_tenant: Any) -> None:
    _rate(other_tenant, date(2024, 1, 1), "EUR", "USD", "1.10")

    with pytest.raises(ValidationFailed):
        fx_rate(tenant=tenant, from_currency="EUR", to_currency="USD", on=date(2024, 1, 2))


def test_to_base_converts_and_rounds(tenant: Any) -> None:
    tenant.base_currency = "USD"
    _rate(tenant, date(2024, 1, 1), "EUR", "USD", "1.123456")

    got = to_base(tenant=tenant, amount=Decimal("10.00"), currency="EUR", on=date(2024, 1, 1))

    assert (got.rate, got.amount_base, got.base_currency) == (
        Decimal("1.123456"),
        Decimal("11.2346"),
        "USD",
    )
