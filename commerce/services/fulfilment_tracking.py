"""Carrier tracking of shipped fulfilments (:func:`tracking_event_record`): scans normalised to
the codes of ``TRACKING_CODES``; an event delivered twice (same code and time) is recorded
once, and a ``delivered`` scan delivers the fulfilment. Locks as every fulfilment service (the
order rows, then the fulfilment: ``commerce.services.fulfilment_common.fulfilment_lock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from commerce.models import FulfilmentState, TrackingEvent
from commerce.services.fulfilment_common import (
    SHIPPED_STATES,
    Actor,
    fulfilment_deliver_locked,
    fulfilment_journal,
    fulfilment_lock,
    moment_clean,
)
from oms_site.errors import TransitionNotAllowed, ValidationFailed
from orders.models import EventKind
from tenancy.models import Tenant

DESCRIPTION_MAX, LOCATION_MAX = 300, 200

# Normalised carrier scan codes (carriers' own codes map onto these).
TRACKING_CODES: tuple[str, ...] = (
    "info_received",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "available_for_pickup",
    "exception",
    "returned_to_sender",
    "delivered",
)
DELIVERED = "delivered"


@dataclass(frozen=True)
class TrackingRecorded:
    event: TrackingEvent
    created: bool


def _validate_tracking(
    *, code: str, occurred_at: datetime | None, description: str, location: str
) -> datetime:
    errors: dict[str, list[str]] = {}
    if code not in TRACKING_CODES:
        errors["code"] = [f"Unknown code {code!r}; use one of: {', '.join(TRACKING_CODES)}."]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"At most {DESCRIPTION_MAX} characters."]
    if len(location) > LOCATION_MAX:
        errors["location"] = [f"At most {LOCATION_MAX} characters."]
    if occurred_at is None:
        errors["occurred_at"] = ["Required."]
    if errors:
        raise ValidationFailed(errors=errors)
    return moment_clean(occurred_at, "occurred_at")


@transaction.atomic
def tracking_event_record(
    *,
    tenant: Tenant,
    actor: Actor,
    fulfilment_id: int,
    code: str,
    occurred_at: datetime | None,
    description: str = "",
    location: str = "",
) -> TrackingRecorded:
    """Record a carrier scan of a shipped (or delivered) fulfilment.

    ``(fulfilment, code, occurred_at)`` is unique: a repeated delivery of the same scan is
    answered with the stored event (``created=False``) and changes nothing. A new
    ``delivered`` scan of a shipped fulfilment delivers it at the scan's time.
    """
    fulfilment, order, sales = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    moment = _validate_tracking(
        code=code, occurred_at=occurred_at, description=description, location=location
    )
    if fulfilment.state not in SHIPPED_STATES:
        raise TransitionNotAllowed(
            f"Tracking events apply to shipped fulfilments; this one is {fulfilment.state}.",
            extra={"state": fulfilment.state},
        )
    event = TrackingEvent(
        tenant=tenant,
        fulfilment=fulfilment,
        code=code,
        occurred_at=moment,
        description=description,
        location=location,
    )
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        existing = (
            TrackingEvent.objects.for_tenant(tenant)
            .filter(fulfilment=fulfilment, code=code, occurred_at=moment)
            .first()
        )
        if existing is None:
            raise
        return TrackingRecorded(existing, created=False)
    fulfilment_journal(
        order=order,
        kind=EventKind.FULFILMENT_UPDATED,
        actor=actor,
        fulfilment=fulfilment,
        action="tracking",
        code=code,
        occurred_at=moment.isoformat(),
        location=location,
    )
    if code == DELIVERED and fulfilment.state == FulfilmentState.SHIPPED:
        fulfilment_deliver_locked(
            order=order,
            sales=sales,
            fulfilment=fulfilment,
            actor=actor,
            delivered_at=moment,
            source="tracking",
        )
    return TrackingRecorded(event, created=True)
