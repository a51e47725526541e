"""The demo's planted suspicious activity raises exactly its alerts, once."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from compliance.models import Alert
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _alerts(tenant: Any) -> list[tuple[str, list[str]]]:
    surveillance = Alert.objects.for_tenant(tenant).filter(
        dedupe_key__regex=r"^(wash_trade|spoofing|order_to_trade|marking_close|front_running|"
        r"restricted_trading|personal_dealing|holding_period):"
    )
    return sorted((a.rule, a.account_codes) for a in surveillance)


def test_seed_demo_plants_one_case_of_each_pattern() -> None:
    call_command("seed_demo", stdout=StringIO())
    acme = Tenant.objects.get(slug="acme-capital")

    assert _alerts(acme) == [
        ("front_running", ["PROP-1", "C-1001"]),
        ("holding_period", ["E-1001"]),
        ("marking_close", ["C-1002"]),
        ("personal_dealing", ["E-1001"]),
        ("personal_dealing", ["E-1001"]),
        ("spoofing", ["C-1001"]),
        ("wash_trade", ["C-1001", "C-1002"]),
    ]

    call_command("seed_demo", stdout=StringIO())
    assert len(_alerts(acme)) == 7
