from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from commerce.models import AllocationState, SalesOrder, Stock, Warehouse
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _state() -> list[Any]:
    tenant = Tenant.objects.get(slug="globex-goods")
    return [
        list(
            SalesOrder.objects.for_tenant(tenant)
            .order_by("external_id")
            .values_list("external_id", "allocation_state", "grand_total")
        ),
        list(
            Stock.objects.for_tenant(tenant)
            .order_by("pk")
            .values_list("on_hand", "allocated", "reserved")
        ),
    ]


def test_seed_is_idempotent_and_routes_the_demo_orders() -> None:
    call_command("seed_demo", stdout=StringIO())
    first = _state()

    call_command("seed_demo", stdout=StringIO())

    assert _state() == first
    states = {e: s for e, s, _ in first[0] if e.startswith(("WEB-", "POS-"))}
    assert states == {
        "POS-0001": AllocationState.ALLOCATED,
        "WEB-1001": AllocationState.ALLOCATED,
        "WEB-1002": AllocationState.ALLOCATED,
        "WEB-1003": AllocationState.ALLOCATED,
        "WEB-1004": AllocationState.PARTIAL,
    }
    tenant = Tenant.objects.get(slug="globex-goods")
    assert Warehouse.objects.for_tenant(tenant).filter(latitude__isnull=True).count() == 0
