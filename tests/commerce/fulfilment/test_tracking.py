"""Tracking events: recorded on shipped fulfilments, duplicates recorded once, a delivered
scan delivers the fulfilment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.models import TrackingEvent
from commerce.services.fulfilment import (
    fulfilment_ship,
    fulfilments_create_for_order,
    tracking_event_record,
)
from oms_site.errors import TransitionNotAllowed, ValidationFailed
from tests.commerce.fulfilment.helpers import (
    allocate,
    fresh,
    journal,
    order_status,
    shop_make,
    snapshot,
)

pytestmark = pytest.mark.django_db


def _shipped(tenant, seller, ship=True):
    shop = shop_make(tenant)
    sales = shop.order([(shop.p1, "1")])
    allocate(sales, 1, shop.wh_a, "1")
    (fulfilment,) = fulfilments_create_for_order(
        tenant=tenant, actor=seller, sales_order_id=sales.pk
    )
    if ship:
        fulfilment_ship(tenant=tenant, actor=seller, fulfilment_id=fulfilment.pk, carrier="UPS")
    return sales, fulfilment


def _events(fulfilment):
    return list(
        TrackingEvent.objects.for_tenant(fulfilment.tenant_id)
        .filter(fulfilment=fulfilment)
        .order_by("occurred_at")
        .values_list("code", "location")
    )


def test_scans_are_recorded_in_time_order(tenant, seller):
    sales, fulfilment = _shipped(tenant, seller)
    now = timezone.now().replace(microsecond=0)
    second = tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="in_transit",
        occurred_at=now - timedelta(hours=1),
        location="Leipzig hub",
    )
    first = tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="picked_up",
        occurred_at=now - timedelta(hours=5),
        location="Berlin",
    )
    assert (first.created, second.created) == (True, True)
    assert _events(fulfilment) == [("picked_up", "Berlin"), ("in_transit", "Leipzig hub")]
    assert fresh(fulfilment).state == "shipped"
    assert journal(sales)[-2:] == [("fulfilment_updated", "", "")] * 2


def test_a_duplicate_delivered_scan_is_recorded_once_and_delivers_once(tenant, seller):
    sales, fulfilment = _shipped(tenant, seller)
    moment = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    first = tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="delivered",
        occurred_at=moment,
    )
    before = snapshot(sales)
    again = tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="delivered",
        occurred_at=moment,
    )
    assert (first.created, again.created, again.event.pk) == (True, False, first.event.pk)
    assert snapshot(sales) == before
    delivered = fresh(fulfilment)
    assert (delivered.state, delivered.delivered_at) == ("delivered", moment)
    assert order_status(sales) == ("completed", "delivered")
    assert [k for k, _, _ in journal(sales)].count("delivered") == 1


def test_a_later_delivered_scan_of_a_delivered_fulfilment_is_recorded_only(tenant, seller):
    _sales, fulfilment = _shipped(tenant, seller)
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="delivered",
        occurred_at=moment,
    )
    tracking_event_record(
        tenant=tenant,
        actor=None,
        fulfilment_id=fulfilment.pk,
        code="delivered",
        occurred_at=moment + timedelta(hours=1),
    )
    assert fresh(fulfilment).delivered_at == moment
    assert _events(fulfilment) == [("delivered", ""), ("delivered", "")]


def test_a_scan_before_shipping_is_refused(tenant, seller):
    sales, fulfilment = _shipped(tenant, seller, ship=False)
    before = snapshot(sales)
    with pytest.raises(TransitionNotAllowed):
        tracking_event_record(
            tenant=tenant,
            actor=None,
            fulfilment_id=fulfilment.pk,
            code="in_transit",
            occurred_at=timezone.now(),
        )
    assert snapshot(sales) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "teleported"}, "code"),
        ({"occurred_at": None}, "occurred_at"),
        ({"occurred_at": timezone.now() + timedelta(days=1)}, "occurred_at"),
        ({"description": "d" * 301}, "description"),
        ({"location": "l" * 201}, "location"),
    ],
)
def test_bad_scans_are_refused(tenant, seller, change, field):
    sales, fulfilment = _shipped(tenant, seller)
    before = snapshot(sales)
    kwargs = {"code": "in_transit", "occurred_at": timezone.now(), **change}
    with pytest.raises(ValidationFailed) as caught:
        tracking_event_record(tenant=tenant, actor=None, fulfilment_id=fulfilment.pk, **kwargs)
    assert list(caught.value.errors) == [field]
    assert snapshot(sales) == before
