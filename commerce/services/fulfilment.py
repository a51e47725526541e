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

Tracking (:func:`tracking_event_record`): carrier scans of a shipped fulfilment, normalised to
the codes of ``TRACKING_CODES``; an event delivered twice (same code and time) is recorded once,
and a ``delivered`` scan delivers the fulfilment.

Every change journals an ``OrderEvent`` on the order (``fulfilment_updated``, ``shipped``,
``delivered``) and refreshes the derived statuses in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django_fsm import can_proceed

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    SalesOrder,
    SalesOrderLine,
    Stock,
    TrackingEvent,
)
from commerce.services.allocation import backorders_retry, sales_order_reroute
from commerce.services.locks import sales_order_lock
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import Conflict, NotFound, TransitionNotAllowed, ValidationFailed
from orders.models import EventKind, Order, OrderStatus
from orders.services import event_record, order_apply_transition
from tenancy.models import Tenant

Actor = Any  # a User, or None for the system

ZERO = Decimal("0")
QTY_PLACES = 3
OPEN_STATES = (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED)
SHIPPED_STATES = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
WORKABLE_ORDER_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIAL)
CARRIER_MAX, TRACKING_MAX = 64, 128
DESCRIPTION_MAX, LOCATION_MAX = 300, 200
CLOCK_SKEW = timedelta(minutes=5)

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


def _qty(value: Decimal) -> str:
    """A quantity as journaled: 3 places on every database."""
    return str(value.quantize(Decimal(1).scaleb(-QTY_PLACES)))


@dataclass(frozen=True)
class ShipLine:
    """Ship ``quantity`` of order line ``line_id`` (an id of a line of the fulfilment)."""

    line_id: int
    quantity: Decimal


@dataclass(frozen=True)
class TrackingRecorded:
    event: TrackingEvent
    created: bool


# --- locking ----------------------------------------------------------------------------------


def _lock_order(*, tenant: Tenant, sales_order_id: int) -> tuple[Order, SalesOrder]:
    """The order and sales order rows locked (``sales_order_lock``); a trade order's id is not
    found."""
    sales = sales_order_lock(
        tenant=tenant, sales_order_id=sales_order_id, not_found="Order not found."
    )
    return sales.order, sales


def _lock_fulfilment(*, tenant: Tenant, fulfilment_id: int) -> tuple[Fulfilment, Order, SalesOrder]:
    sales_order_id = (
        Fulfilment.objects.for_tenant(tenant)
        .filter(pk=fulfilment_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if sales_order_id is None:
        raise NotFound("Fulfilment not found.")
    order, sales = _lock_order(tenant=tenant, sales_order_id=sales_order_id)
    fulfilment = (
        Fulfilment.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .get(pk=fulfilment_id)
    )
    return fulfilment, order, sales


def _require_workable(order: Order, action: str) -> None:
    if order.status not in WORKABLE_ORDER_STATUSES:
        raise TransitionNotAllowed(
            f"Cannot {action}: the order is {order.status}.", extra={"order_status": order.status}
        )


def _require_transition(fulfilment: Fulfilment, method_name: str, action: str) -> None:
    if not can_proceed(getattr(fulfilment, method_name)):
        raise TransitionNotAllowed(
            f"Cannot {action} a fulfilment that is {fulfilment.state}.",
            extra={"state": fulfilment.state},
        )


def _journal(
    *, order: Order, kind: str, actor: Actor, fulfilment: Fulfilment, reason: str = "", **data: Any
) -> None:
    event_record(
        order=order,
        kind=kind,
        actor=actor,
        reason=reason,
        data={"fulfilment_id": fulfilment.pk, "warehouse": fulfilment.warehouse.code, **data},
    )


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
    order, sales = _lock_order(tenant=tenant, sales_order_id=sales_order_id)
    _require_workable(order, "create fulfilments")
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
        _journal(
            order=order,
            kind=EventKind.FULFILMENT_UPDATED,
            actor=actor,
            fulfilment=fulfilment,
            action="created",
            to_state=fulfilment.state,
            lines=[{"line": line_id, "quantity": _qty(q)} for line_id, q in lines],
        )
        created.append(fulfilment)
    return created


# --- pick / pack ------------------------------------------------------------------------------


def _simple_step(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, method: str, action: str
) -> Fulfilment:
    fulfilment, order, _ = _lock_fulfilment(tenant=tenant, fulfilment_id=fulfilment_id)
    _require_transition(fulfilment, method, action)
    _require_workable(order, action)
    from_state = fulfilment.state
    getattr(fulfilment, method)()
    fulfilment.save(update_fields=["state", "updated_at"])
    _journal(
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


# --- allocations and stock --------------------------------------------------------------------


@dataclass(frozen=True)
class _Take:
    """What a fulfilment line takes from its allocations: ``shipped`` + ``released``."""

    line_id: int
    product_id: int
    shipped: Decimal
    released: Decimal


def _split(allocation: Allocation, pieces: list[tuple[str, Decimal]]) -> list[Allocation]:
    """Rewrite ``allocation`` as the first non-empty piece; new rows for the others."""
    pieces = [(status, q) for status, q in pieces if q > 0]
    first_status, first_qty = pieces[0]
    allocation.status, allocation.quantity = first_status, first_qty
    allocation.save(update_fields=["status", "quantity", "updated_at"])
    return [
        Allocation(
            tenant_id=allocation.tenant_id,
            sales_order_id=allocation.sales_order_id,
            line_id=allocation.line_id,
            warehouse_id=allocation.warehouse_id,
            distance_km=allocation.distance_km,
            quantity=q,
            status=status,
        )
        for status, q in pieces[1:]
    ]


def _settle_allocations(
    *,
    tenant: Tenant,
    fulfilment: Fulfilment,
    lines: Sequence[FulfilmentLine],
    shipped: dict[int, Decimal],
) -> list[_Take]:
    """Take each fulfilment line's quantity from the line's active allocations in the
    fulfilment's warehouse (oldest first): ``shipped[line]`` becomes shipped, the rest of the
    fulfilment line is released; allocations larger than needed keep the excess active."""
    rows = (
        Allocation.objects.for_tenant(tenant)
        .select_for_update()
        .filter(
            sales_order_id=fulfilment.sales_order_id,
            warehouse_id=fulfilment.warehouse_id,
            line_id__in=[fl.line_id for fl in lines],
            status=AllocationStatus.ACTIVE,
        )
        .order_by("pk")
    )
    by_line: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in rows:
        by_line[allocation.line_id].append(allocation)
    takes, new_rows = [], []
    for fl in lines:
        available = sum((a.quantity for a in by_line[fl.line_id]), ZERO)
        if available < fl.quantity:
            raise Conflict(
                f"Order line {fl.line.line_no} has {available} allocated in "
                f"{fulfilment.warehouse.code}, less than the fulfilment's {fl.quantity}: cancel "
                "the fulfilment and create it again.",
                extra={"line": fl.line_id},
            )
        to_ship = shipped.get(fl.line_id, ZERO)
        to_release = fl.quantity - to_ship
        for allocation in by_line[fl.line_id]:
            if to_ship == 0 and to_release == 0:
                break
            ship = min(allocation.quantity, to_ship)
            release = min(allocation.quantity - ship, to_release)
            keep = allocation.quantity - ship - release
            to_ship, to_release = to_ship - ship, to_release - release
            new_rows += _split(
                allocation,
                [
                    (AllocationStatus.SHIPPED, ship),
                    (AllocationStatus.RELEASED, release),
                    (AllocationStatus.ACTIVE, keep),
                ],
            )
        takes.append(
            _Take(
                line_id=fl.line_id,
                product_id=fl.line.product_id,
                shipped=shipped.get(fl.line_id, ZERO),
                released=fl.quantity - shipped.get(fl.line_id, ZERO),
            )
        )
    if new_rows:
        Allocation.objects.bulk_create(new_rows)
    return takes


def _settle_stock(*, tenant: Tenant, warehouse_id: int, takes: Iterable[_Take]) -> None:
    """``on_hand -= shipped`` and ``allocated -= shipped + released`` per product, on the
    stock rows locked in pk order."""
    shipped: dict[int, Decimal] = defaultdict(lambda: ZERO)
    consumed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for take in takes:
        shipped[take.product_id] += take.shipped
        consumed[take.product_id] += take.shipped + take.released
    stocks = (
        Stock.objects.for_tenant(tenant)
        .select_for_update()
        .filter(warehouse_id=warehouse_id, product_id__in=list(consumed))
        .order_by("pk")
    )
    found = {stock.product_id: stock for stock in stocks}
    for product_id, quantity in sorted(consumed.items()):
        stock = found.get(product_id)
        if stock is None or stock.allocated < quantity or stock.on_hand < shipped[product_id]:
            raise Conflict(
                "The warehouse's stock no longer holds this fulfilment's allocation.",
                extra={"product": product_id},
            )
        stock.allocated -= quantity
        stock.on_hand -= shipped[product_id]
        stock.save(update_fields=["on_hand", "allocated", "updated_at"])


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
    data = {"fulfilment_id": fulfilment.pk, "ordered": _qty(ordered), "shipped": _qty(shipped)}
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
            reason=f"Shipped {_qty(shipped)} of {_qty(ordered)}.",
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
    fulfilment, order, sales = _lock_fulfilment(tenant=tenant, fulfilment_id=fulfilment_id)
    _require_transition(fulfilment, "ship", "ship")
    _require_workable(order, "ship")
    carrier, tracking_number = _validate_carrier(carrier, tracking_number)
    moment = _validate_moment(shipped_at, "shipped_at")
    fulfilment_lines = list(
        FulfilmentLine.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("line")
        .filter(fulfilment=fulfilment)
        .order_by("pk")
    )
    quantities = _ship_quantities(fulfilment_lines, lines)
    takes = _settle_allocations(
        tenant=tenant, fulfilment=fulfilment, lines=fulfilment_lines, shipped=quantities
    )
    _settle_stock(tenant=tenant, warehouse_id=fulfilment.warehouse_id, takes=takes)
    rerouted = _remainder_to_routing(tenant=tenant, sales=sales, takes=takes)
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
    _journal(
        order=order,
        kind=EventKind.SHIPPED,
        actor=actor,
        fulfilment=fulfilment,
        from_state=from_state,
        carrier=carrier,
        tracking_number=tracking_number,
        lines=[
            {"line": t.line_id, "shipped": _qty(t.shipped), "released": _qty(t.released)}
            for t in takes
        ],
        rerouted=rerouted,
    )
    _order_progress(tenant=tenant, order=order, sales=sales, actor=actor, fulfilment=fulfilment)
    sales_order_status_refresh(sales_order=sales)
    _confirm_to_marketplace(sales=sales, fulfilment=fulfilment)
    return fulfilment


# --- deliver / cancel -------------------------------------------------------------------------


def _deliver(
    *,
    order: Order,
    sales: SalesOrder,
    fulfilment: Fulfilment,
    actor: Actor,
    delivered_at: datetime,
    source: str,
) -> None:
    fulfilment.deliver()
    fulfilment.delivered_at = delivered_at
    fulfilment.save(update_fields=["state", "delivered_at", "updated_at"])
    _journal(
        order=order,
        kind=EventKind.DELIVERED,
        actor=actor,
        fulfilment=fulfilment,
        delivered_at=delivered_at.isoformat(),
        source=source,
    )
    sales_order_status_refresh(sales_order=sales)


def _validate_moment(value: datetime | None, field: str) -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationFailed(errors={field: ["Must include a time zone."]})
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(errors={field: ["Must not be in the future."]})
    return value


@transaction.atomic
def fulfilment_deliver(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, delivered_at: datetime | None = None
) -> Fulfilment:
    """shipped -> delivered (at ``delivered_at``, default now; not in the future)."""
    fulfilment, order, sales = _lock_fulfilment(tenant=tenant, fulfilment_id=fulfilment_id)
    _require_transition(fulfilment, "deliver", "deliver")
    moment = _validate_moment(delivered_at, "delivered_at")
    _deliver(
        order=order,
        sales=sales,
        fulfilment=fulfilment,
        actor=actor,
        delivered_at=moment,
        source="manual",
    )
    return fulfilment


def _remainder_to_routing(*, tenant: Tenant, sales: SalesOrder | None, takes: list[_Take]) -> bool:
    """Released goods are available again (backorders of them retried); the order they were
    released from goes back to routing (``sales``; ``None`` for an order being cancelled).
    Returns whether the order was re-routed."""
    released = [t.product_id for t in takes if t.released > 0]
    backorders_retry(tenant_id=tenant.pk, product_ids=released)
    if not released or sales is None:
        return False
    return sales_order_reroute(sales=sales)


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
    _require_transition(fulfilment, "cancel", "cancel")
    fulfilment_lines = list(
        FulfilmentLine.objects.for_tenant(tenant)
        .select_related("line")
        .filter(fulfilment=fulfilment)
        .order_by("pk")
    )
    takes = _settle_allocations(
        tenant=tenant, fulfilment=fulfilment, lines=fulfilment_lines, shipped={}
    )
    _settle_stock(tenant=tenant, warehouse_id=fulfilment.warehouse_id, takes=takes)
    rerouted = _remainder_to_routing(tenant=tenant, sales=sales, takes=takes)
    from_state = fulfilment.state
    fulfilment.cancel()
    fulfilment.save(update_fields=["state", "updated_at"])
    _journal(
        order=order,
        kind=EventKind.FULFILMENT_UPDATED,
        actor=actor,
        fulfilment=fulfilment,
        reason=reason,
        action="cancel",
        from_state=from_state,
        to_state=fulfilment.state,
        released=[{"line": t.line_id, "quantity": _qty(t.released)} for t in takes],
        rerouted=rerouted,
    )


@transaction.atomic
def fulfilment_cancel(
    *, tenant: Tenant, actor: Actor, fulfilment_id: int, reason: str = ""
) -> Fulfilment:
    """Cancel a fulfilment before it ships; its allocations are released (stock available
    again) and the order, which keeps its status, goes back to routing (module docstring)."""
    fulfilment, order, sales = _lock_fulfilment(tenant=tenant, fulfilment_id=fulfilment_id)
    _cancel_locked(
        tenant=tenant,
        actor=actor,
        fulfilment=fulfilment,
        order=order,
        sales=sales,
        reason=reason[:500],
    )
    return fulfilment


def _lock_goods(*, tenant: Tenant, sales: SalesOrder, fulfilments: Sequence[Fulfilment]) -> None:
    """Lock the active allocations, then the stock rows, of several fulfilments up front, each
    set in one statement by pk: settling them one by one would lock the stock rows of each
    warehouse in turn, not in pk order (the later per-fulfilment locks are held already)."""
    if len(fulfilments) < 2:
        return
    allocations = (
        Allocation.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .filter(
            sales_order=sales,
            warehouse_id__in=[f.warehouse_id for f in fulfilments],
            status=AllocationStatus.ACTIVE,
        )
        .order_by("pk")
        .values_list("warehouse_id", "line__product_id")
    )
    query = Q(pk__in=[])
    for warehouse_id, product_id in set(allocations):
        query |= Q(warehouse_id=warehouse_id, product_id=product_id)
    list(
        Stock.objects.for_tenant(tenant)
        .select_for_update()
        .filter(query)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def fulfilments_cancel_open(
    *, tenant: Tenant, actor: Actor, sales_order_id: int, reason: str = ""
) -> list[Fulfilment]:
    """Cancel every open fulfilment of an order (for an order cancellation: call it inside
    that transaction, before releasing the order's remaining allocations)."""
    order, sales = _lock_order(tenant=tenant, sales_order_id=sales_order_id)
    fulfilments = list(
        Fulfilment.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .filter(sales_order=sales, state__in=OPEN_STATES)
        .order_by("pk")
    )
    _lock_goods(tenant=tenant, sales=sales, fulfilments=fulfilments)
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


# --- tracking ---------------------------------------------------------------------------------


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
    return _validate_moment(occurred_at, "occurred_at")


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
    fulfilment, order, sales = _lock_fulfilment(tenant=tenant, fulfilment_id=fulfilment_id)
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
    _journal(
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
        _deliver(
            order=order,
            sales=sales,
            fulfilment=fulfilment,
            actor=actor,
            delivered_at=moment,
            source="tracking",
        )
    return TrackingRecorded(event, created=True)
