"""compliance.demo through ``seed_demo``, with the compliance screens running: the order held by
pre-trade screening, its pending override request, the day's locate; idempotence."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance.models import Locate, Override
from compliance.services.overrides import override_approve
from orders.models import Order, OrderEvent
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _state(tenant: Tenant) -> tuple[list[Any], ...]:
    return (
        list(Order.objects.for_tenant(tenant).order_by("pk").values_list("pk", "status")),
        list(Override.objects.for_tenant(tenant).order_by("pk").values()),
        list(Locate.objects.for_tenant(tenant).order_by("pk").values()),
        list(OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", "kind")),
    )


def test_seed_holds_an_order_with_a_pending_override_request_and_records_a_locate() -> None:
    # when the demo is seeded
    first = _seed()
    # then the trader's order outside the price collar is held
    acme = Tenant.objects.get(slug="acme-capital")
    order = Order.objects.for_tenant(acme).get(client_order_id="demo-acme-held-1")
    assert order.created_by is not None
    assert (order.status, order.created_by.username) == ("held", "acme.trader")
    # and the trader's override request waits for a compliance officer
    override = Override.objects.for_tenant(acme).get()
    assert (
        override.order_id,
        override.status,
        override.requested_by.username,
        override.approved_by,
    ) == (order.pk, "requested", "acme.trader", None)
    assert override.justification.startswith("Client instruction: buy up to 200.00")
    notes = OrderEvent.objects.for_tenant(acme).filter(order=order, kind="note")
    assert [e.data for e in notes] == [{"override": override.pk, "action": "requested"}]
    # and the proprietary book may sell 5,000 MSFT short today
    today = timezone.now().astimezone(ZoneInfo(acme.timezone)).date()
    locate = Locate.objects.for_tenant(acme).get()
    assert (
        locate.account.code,
        locate.instrument.symbol,
        locate.quantity,
        locate.date,
        locate.source,
    ) == ("PROP-1", "MSFT", Decimal("5000"), today, "Demo prime broker")
    assert "Compliance demo: 1 new override request, 1 new locate." in first


def test_seed_twice_changes_nothing_and_the_override_can_be_decided() -> None:
    # given a seeded demo
    _seed()
    acme = Tenant.objects.get(slug="acme-capital")
    before = _state(acme)
    # when it is seeded again
    second = _seed()
    # then nothing changed
    assert _state(acme) == before
    assert "Compliance demo: 0 new override request, 0 new locate." in second
    # and a second compliance officer can approve the request (four eyes)
    from django.contrib.auth import get_user_model

    officer = get_user_model().objects.get(username="acme.compliance2")
    override = Override.objects.for_tenant(acme).get()
    decided = override_approve(tenant=acme, actor=officer, override_id=override.pk)
    assert decided.status == "approved"
    assert Order.objects.for_tenant(acme).get(pk=override.order_id).status == "open"
