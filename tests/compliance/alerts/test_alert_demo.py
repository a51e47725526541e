"""compliance.demo through ``seed_demo``: second officers, review-queue alerts, idempotence."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from compliance.models.alerts import Alert, AlertAction, AlertNote
from tenancy.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _demo_alerts(slug: str) -> list[tuple[str, str, str, str]]:
    tenant = Tenant.objects.get(slug=slug)
    return list(
        Alert.objects.for_tenant(tenant)
        .filter(dedupe_key__startswith="demo-alert-")
        .order_by("dedupe_key")
        .values_list("dedupe_key", "status", "assigned_to__username", "approved_by__username")
    )


def test_seed_adds_second_officers_and_alerts_in_every_state_once() -> None:
    # when the demo is seeded twice
    first = _seed()
    counts = (
        Alert.objects.all_tenants(reason="test").count(),
        AlertAction.objects.all_tenants(reason="test").count(),
        AlertNote.objects.all_tenants(reason="test").count(),
    )
    second = _seed()
    # then each tenant has a second compliance officer
    roles = set(
        Membership.objects.all_tenants(reason="test")
        .filter(user__username__in=["acme.compliance2", "globex.compliance2"])
        .values_list("tenant__slug", "user__username", "role")
    )
    assert roles == {
        ("acme-capital", "acme.compliance2", "compliance_officer"),
        ("globex-goods", "globex.compliance2", "compliance_officer"),
    }
    # and review-queue alerts in different states, worked by the first, approved by the second
    assert _demo_alerts("acme-capital") == [
        ("demo-alert-1", "new", None, None),
        ("demo-alert-2", "assigned", "acme.compliance", None),
        ("demo-alert-3", "in_review", "acme.compliance", None),
        ("demo-alert-4", "escalated", "acme.compliance", None),
        ("demo-alert-5", "pending_approval", "acme.compliance", None),
        ("demo-alert-6", "closed", "acme.compliance", "acme.compliance2"),
    ]
    assert _demo_alerts("globex-goods") == [
        ("demo-alert-1", "new", None, None),
        ("demo-alert-2", "in_review", "globex.compliance", None),
        ("demo-alert-3", "pending_approval", "globex.compliance", None),
    ]
    # and the second run changed nothing
    assert (
        Alert.objects.all_tenants(reason="test").count(),
        AlertAction.objects.all_tenants(reason="test").count(),
        AlertNote.objects.all_tenants(reason="test").count(),
    ) == counts
    assert (
        "Compliance demo for acme-capital: officers acme.compliance and acme.compliance2, "
        "6 new review-queue alerts." in first
    )
    assert (
        "Compliance demo for acme-capital: officers acme.compliance and acme.compliance2, "
        "0 new review-queue alerts." in second
    )
