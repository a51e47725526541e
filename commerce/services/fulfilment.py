"""Fulfilment of sales orders: one fulfilment per warehouse of the order's active allocations,
``pending -> picking -> packed -> shipped -> delivered``, cancellable before shipping.

Locking, in the global order of ``commerce.services.locks``: every service locks the order
and sales order rows first (``sales_order_lock``), then the fulfilments, their lines, the
allocations and the stock rows it changes (each set ordered by pk; the stock rows of several
fulfilments in one statement). Two requests on one order therefore queue on the order row:
shipping the same fulfilment twice at once ships it once, the second request sees ``shipped``
and is refused (409); a payment or refund of the order waits for the shipment, or it for them.

Shipping (:func:`fulfilment_ship`): per line, the shipped quantity is at most the fulfilment
line's quantity (default: all of it). ``Stock.on_hand`` and ``Stock.allocated`` fall by the
shipped quantity and the allocations become ``shipped``. A short shipment releases the
unshipped remainder of the fulfilment line: its allocation becomes ``released`` and
``Stock.allocated`` falls by it too, so the goods are available again. The common order moves
to ``partial`` while some ordered quantity is unshipped and to ``completed`` once all of it
has shipped.

Cancelling (:func:`fulfilment_cancel`) releases the fulfilment's allocations
(``Stock.allocated`` falls, ``Allocation -> released``); the order keeps its status.

The remainder goes back to routing: after a short shipment or a cancellation the order's
``allocation_state`` becomes ``pending`` and ``route_sales_order`` runs once the transaction
commits (``commerce.services.allocation.sales_order_reroute``; the journal row of the shipment
or cancellation says ``rerouted``). Routing allocates what each line still needs (ordered minus
shipped or actively allocated) from the best warehouse with stock, the same one or another,
or backorders it with a promised date (``partial`` when some goods are held already); new
fulfilments are then created and shipped as usual, and the order completes once everything
has shipped. Staff may instead close the unshipped remainder by cancelling the order
(``commerce.services.cancel``). The released goods are available to other orders too: their
backorders are retried (``backorders_retry``).

Tracking (:func:`tracking_event_record`, in ``commerce.services.fulfilment_tracking``): carrier
scans of a shipped fulfilment, normalised to the codes of ``TRACKING_CODES``; an event
delivered twice (same code and time) is recorded once, and a ``delivered`` scan delivers the
fulfilment. The settlement of allocations and stock is ``commerce.services.fulfilment_goods``;
the locks, checks and journal rows every fulfilment service shares are
``commerce.services.fulfilment_common``.

Every change journals an ``OrderEvent`` on the order (``fulfilment_updated``, ``shipped``,
``delivered``) and refreshes the derived statuses in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    SalesOrder,
    SalesOrderLine,
)
from commerce.services.fulfilment_common import (
    OPEN_STATES,
    QTY_PLACES,
    SHIPPED_STATES,
    ZERO,
    Actor,
    fulfilment_deliver_locked,
    fulfilment_journal,
    fulfilment_lock,
    fulfilment_order_lock,
    fulfilment_require_transition,
    moment_clean,
    order_require_workable,
    qty_journaled,
)
from commerce.services.fulfilment_goods import (
    allocations_settle,
    goods_lock,
    remainder_to_routing,
    stock_settle,
)
from commerce.services.fulfilment_tracking import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    TRACKING_CODES,
    TrackingRecorded,
    tracking_event_record,
)
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import ValidationFailed
from orders.models import EventKind, Order, OrderStatus
from orders.services import order_apply_transition
from tenancy.models import Tenant

# Tracking lives in ``fulfilment_tracking``; its entry points are reachable from here too.
__all__ = [
    "CARRIER_MAX",
    "DESCRIPTION_MAX",
    "LOCATION_MAX",
    "TRACKING_CODES",
    "TRACKING_MAX",
    "ShipLine",
    "TrackingRecorded",
    "fulfilment_cancel",
    "fulfilment_deliver",
    "fulfilment_pack",
    "fulfilment_pick",
    "fulfilment_ship",
    "fulfilments_cancel_open",
    "fulfilments_create_for_order",
    "tracking_event_record",
]

CARRIER_MAX, TRACKING_MAX = 64, 128


@dataclass(frozen=True)
class ShipLine:
    """Ship ``quantity`` of order line ``line_id`` (an id of a line of the fulfilment)."""

    line_id: int
    quantity: Decimal


# --- creation ---------------------------------------------------------------------------------


@transaction.atomic
def fulfilments_create_for_order(
    *, tenant: Tenant, actor: Actor, sales_order_id: int
) -> list[Fulfilment]:
    """Create the missing fulfilments of an order from its active allocations; idempotent.

    Per warehouse, the quantity of each line allocated there (active allocations) that no open
    fulfilment (pending, picking, packed) of that warehouse covers yet goes into one new
    fulfilment. A second call finds everything covered and creates nothing. Returns the
    fulfilments created (an empty list when none were missing).
    """
    order, sales = fulfilment_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    order_require_workable(order, "create fulfilments")
    allocated = (
        Allocation.objects.for_tenant(tenant)
        .filter(sales_order=sales, status=AllocationStatus.ACTIVE)
        .values_list("warehouse_id", "line_id")
        .annotate(quantity=Sum("quantity"))
        .order_by("warehouse_id", "line_id")
    )
    covered = {
        (warehouse_id, line_id): quantity
        for warehouse_id, line_id, quantity in FulfilmentLine.objects.for_tenant(tenant)
        .filter(fulfilment__sales_order=sales, fulfilment__state__in=OPEN_STATES)
        .values_list("fulfilment__warehouse_id", "line_id")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    }
    missing: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for warehouse_id, line_id, quantity in allocated:
        uncovered = quantity - covered.get((warehouse_id, line_id), ZERO)
        if uncovered > 0:
            missing[warehouse_id].append((line_id, uncovered))
    created = []
    for warehouse_id, lines in sorted(missing.items()):
        fulfilment = Fulfilment.objects.create(
            tenant=tenant, sales_order=sales, warehouse_id=warehouse_id
        )
        FulfilmentLine.objects.bulk_create(
            [
                FulfilmentLine(tenant=tenant, fulfilment=fulfilment, line_id=line_id, quantity=q)
                for line_id, q in lines
            ]
        )
        fulfilment_journal(
            order=order,
            kind=EventKind.FULFILMENT_UPDATED,
            actor=actor,
            fulfilment=fulfilment,
            action="created",
            to_state=fulfilment.state,
            lines=[{"line": line_id, "quantity": qty_journaled(q)} for line_id, q in lines],
        )
        created.append(fulfilment)
    return created


# --- pick / pack ------------------------------------------------------------------------------


def _simple_step(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, method: str, action: str
) -> Fulfilment:
    fulfilment, order, _ = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    fulfilment_require_transition(fulfilment, method, action)
    order_require_workable(order, action)
    from_state = fulfilment.state
    getattr(fulfilment, method)()
    fulfilment.save(update_fields=["state", "updated_at"])
    fulfilment_journal(
        order=order,
        kind=EventKind.FULFILMENT_UPDATED,
        actor=actor,
        fulfilment=fulfilment,
        action=method,
        from_state=from_state,
        to_state=fulfilment.state,
    )
    return fulfilment


@transaction.atomic
def fulfilment_pick(*, tenant: Tenant, actor: Actor, fulfilment_id: int) -> Fulfilment:
    """pending -> picking."""
    return _simple_step(
        tenant=tenant,
        actor=actor,
        fulfilment_id=fulfilment_id,
        method="start_picking",
        action="start picking",
    )


@transaction.atomic
def fulfilment_pack(*, tenant: Tenant, actor: Actor, fulfilment_id: int) -> Fulfilment:
    """picking -> packed."""
    return _simple_step(
        tenant=tenant, actor=actor, fulfilment_id=fulfilment_id, method="pack", action="pack"
    )


# --- ship -------------------------------------------------------------------------------------


def _ship_quantities(
    lines: Sequence[FulfilmentLine], requested: Sequence[ShipLine] | None
) -> dict[int, Decimal]:
    """Validated shipped quantity per order line id (every error named before any write)."""
    if requested is None:
        return {fl.line_id: fl.quantity for fl in lines}
    by_line = {fl.line_id: fl for fl in lines}
    errors: dict[str, list[str]] = {}
    result: dict[int, Decimal] = {}
    for index, item in enumerate(requested):
        fl = by_line.get(item.line_id)
        if fl is None:
            errors[f"lines[{index}].line"] = [f"Line {item.line_id} is not in this fulfilment."]
        elif item.line_id in result:
            errors[f"lines[{index}].line"] = [f"Line {item.line_id} is given twice."]
        elif not item.quantity.is_finite() or item.quantity < 0:
            errors[f"lines[{index}].quantity"] = ["Must be zero or more."]
        elif item.quantity != item.quantity.quantize(Decimal(1).scaleb(-QTY_PLACES)):
            errors[f"lines[{index}].quantity"] = [f"At most {QTY_PLACES} decimal places."]
        elif item.quantity > fl.quantity:
            errors[f"lines[{index}].quantity"] = [
                f"At most {fl.quantity}, the fulfilment's quantity of this line."
            ]
        else:
            result[item.line_id] = item.quantity
    if not errors and sum(result.values(), ZERO) <= 0:
        errors["lines"] = ["Ship at least one unit (cancel the fulfilment to ship nothing)."]
    if errors:
        raise ValidationFailed(errors=errors)
    return result


def _validate_carrier(carrier: str, tracking_number: str) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier:
        errors["carrier"] = ["Required."]
    elif len(carrier) > CARRIER_MAX:
        errors["carrier"] = [f"At most {CARRIER_MAX} characters."]
    if len(tracking_number) > TRACKING_MAX:
        errors["tracking_number"] = [f"At most {TRACKING_MAX} characters."]
    if errors:
        raise ValidationFailed(errors=errors)
    return carrier, tracking_number


def _order_progress(
    *, tenant: Tenant, order: Order, sales: SalesOrder, actor: Actor, fulfilment: Fulfilment
) -> None:
    """``partial`` while ordered quantity is unshipped, ``completed`` once all has shipped."""
    ordered = (
        SalesOrderLine.objects.for_tenant(tenant)
        .filter(sales_order=sales)
        .aggregate(q=Sum("quantity"))["q"]
        or ZERO
    )
    shipped = (
        FulfilmentLine.objects.for_tenant(tenant)
        .filter(fulfilment__sales_order=sales, fulfilment__state__in=SHIPPED_STATES)
        .aggregate(q=Sum("shipped_quantity"))["q"]
        or ZERO
    )
    data = {
        "fulfilment_id": fulfilment.pk,
        "ordered": qty_journaled(ordered),
        "shipped": qty_journaled(shipped),
    }
    if shipped >= ordered:
        order_apply_transition(
            order=order,
            transition="complete",
            actor=actor,
            check_permission=False,
            reason="All ordered quantity shipped.",
            data=data,
        )
    elif order.status != OrderStatus.PARTIAL:
        order_apply_transition(
            order=order,
            transition="fill_partially",
            actor=actor,
            check_permission=False,
            reason=f"Shipped {qty_journaled(shipped)} of {qty_journaled(ordered)}.",
            data=data,
        )


def _confirm_to_marketplace(*, sales: SalesOrder, fulfilment: Fulfilment) -> None:
    """Marketplace orders: the shipment is confirmed back to the marketplace after commit."""
    if not sales.channel.is_marketplace:
        return
    from commerce.tasks import channel_confirm_shipment
    from oms_site.celery import enqueue_after_commit

    enqueue_after_commit(
        channel_confirm_shipment, tenant_id=fulfilment.tenant_id, fulfilment_id=fulfilment.pk
    )


@transaction.atomic
def fulfilment_ship(
    *,
    tenant: Tenant,
    actor: Actor,
    fulfilment_id: int,
    carrier: str,
    tracking_number: str = "",
    lines: Sequence[ShipLine] | None = None,
    shipped_at: datetime | None = None,
) -> Fulfilment:
    """Ship a pending, picking or packed fulfilment (see the module docstring).

    ``lines`` gives the shipped quantity per order line (lines not named ship nothing);
    ``None`` ships every line in full. ``carrier`` is required, ``tracking_number`` optional
    (some services have none). Refusals: another state or an order that is not open/partial ->
    409; bad input -> 400 naming the field; nothing is written either way.
    """
    fulfilment, order, sales = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    fulfilment_require_transition(fulfilment, "ship", "ship")
    order_require_workable(order, "ship")
    carrier, tracking_number = _validate_carrier(carrier, tracking_number)
    moment = moment_clean(shipped_at, "shipped_at")
    fulfilment_lines = list(
        FulfilmentLine.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("line")
        .filter(fulfilment=fulfilment)
        .order_by("pk")
    )
    quantities = _ship_quantities(fulfilment_lines, lines)
    takes = allocations_settle(
        tenant=tenant, fulfilment=fulfilment, lines=fulfilment_lines, shipped=quantities
    )
    stock_settle(tenant=tenant, warehouse_id=fulfilment.warehouse_id, takes=takes)
    rerouted = remainder_to_routing(tenant=tenant, sales=sales, takes=takes)
    now = timezone.now()
    for fl in fulfilment_lines:
        fl.shipped_quantity, fl.updated_at = quantities.get(fl.line_id, ZERO), now
    FulfilmentLine.objects.for_tenant(tenant).bulk_update(
        fulfilment_lines, ["shipped_quantity", "updated_at"]
    )
    from_state = fulfilment.state
    fulfilment.ship()
    fulfilment.carrier, fulfilment.tracking_number = carrier, tracking_number
    fulfilment.shipped_at = moment
    fulfilment.save(
        update_fields=["state", "carrier", "tracking_number", "shipped_at", "updated_at"]
    )
    fulfilment_journal(
        order=order,
        kind=EventKind.SHIPPED,
        actor=actor,
        fulfilment=fulfilment,
        from_state=from_state,
        carrier=carrier,
        tracking_number=tracking_number,
        lines=[
            {
                "line": t.line_id,
                "shipped": qty_journaled(t.shipped),
                "released": qty_journaled(t.released),
            }
            for t in takes
        ],
        rerouted=rerouted,
    )
    _order_progress(tenant=tenant, order=order, sales=sales, actor=actor, fulfilment=fulfilment)
    sales_order_status_refresh(sales_order=sales)
    _confirm_to_marketplace(sales=sales, fulfilment=fulfilment)
    return fulfilment


# --- deliver / cancel -------------------------------------------------------------------------


@transaction.atomic
def fulfilment_deliver(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, delivered_at: datetime | None = None
) -> Fulfilment:
    """shipped -> delivered (at ``delivered_at``, default now; not in the future)."""
    fulfilment, order, sales = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    fulfilment_require_transition(fulfilment, "deliver", "deliver")
    moment = moment_clean(delivered_at, "delivered_at")
    fulfilment_deliver_locked(
        order=order,
        sales=sales,
        fulfilment=fulfilment,
        actor=actor,
        delivered_at=moment,
        source="manual",
    )
    return fulfilment


def _cancel_locked(
    *,
    tenant: Tenant,
    actor: Actor,
    fulfilment: Fulfilment,
    order: Order,
    sales: SalesOrder | None,
    reason: str,
) -> None:
    """Cancel one fulfilment whose order rows are locked; ``sales`` is re-routed (``None``
    when the order itself is being cancelled)."""
    fulfilment_require_transition(fulfilment, "cancel", "cancel")
    fulfilment_lines = list(
        FulfilmentLine.objects.for_tenant(tenant)
        .select_related("line")
        .filter(fulfilment=fulfilment)
        .order_by("pk")
    )
    takes = allocations_settle(
        tenant=tenant, fulfilment=fulfilment, lines=fulfilment_lines, shipped={}
    )
    stock_settle(tenant=tenant, warehouse_id=fulfilment.warehouse_id, takes=takes)
    rerouted = remainder_to_routing(tenant=tenant, sales=sales, takes=takes)
    from_state = fulfilment.state
    fulfilment.cancel()
    fulfilment.save(update_fields=["state", "updated_at"])
    fulfilment_journal(
        order=order,
        kind=EventKind.FULFILMENT_UPDATED,
        actor=actor,
        fulfilment=fulfilment,
        reason=reason,
        action="cancel",
        from_state=from_state,
        to_state=fulfilment.state,
        released=[{"line": t.line_id, "quantity": qty_journaled(t.released)} for t in takes],
        rerouted=rerouted,
    )


@transaction.atomic
def fulfilment_cancel(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, reason: str = ""
) -> Fulfilment:
    """Cancel a fulfilment before it ships; its allocations are released (stock available
    again) and the order, which keeps its status, goes back to routing (module docstring)."""
    fulfilment, order, sales = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    _cancel_locked(
        tenant=tenant,
        actor=actor,
        fulfilment=fulfilment,
        order=order,
        sales=sales,
        reason=reason[:500],
    )
    return fulfilment


@transaction.atomic
def fulfilments_cancel_open(
    *, tenant: Tenant, actor: Actor, sales_order_id: int, reason: str = ""
) -> list[Fulfilment]:
    """Cancel every open fulfilment of an order (for an order cancellation: call it inside
    that transaction, before releasing the order's remaining allocations)."""
    order, sales = fulfilment_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    fulfilments = list(
        Fulfilment.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .filter(sales_order=sales, state__in=OPEN_STATES)
        .order_by("pk")
    )
    goods_lock(tenant=tenant, sales=sales, fulfilments=fulfilments)
    for fulfilment in fulfilments:
        _cancel_locked(
            tenant=tenant,
            actor=actor,
            fulfilment=fulfilment,
            order=order,
            sales=None,
            reason=reason[:500],
        )
    return fulfilments
