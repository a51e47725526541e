"""Staff moves of allocations between warehouses, and the release of an order's stock.

Lock order, the global one of ``commerce.services.locks``: the order and sales order rows
(``sales_order_lock``), then the order's allocations, then its reservations, then stock rows,
each set by pk (the stock rows in one statement).

Both free goods (a release gives back what the order held; a move frees the source
warehouse's goods): the product's backorders are retried after commit
(``commerce.services.allocation.backorders_retry``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from commerce.geo import distance_km_float
from commerce.models import (
    Allocation,
    AllocationStatus,
    FulfilmentLine,
    FulfilmentState,
    Reservation,
    ReservationStatus,
    SalesOrder,
    Stock,
    Warehouse,
)
from commerce.services.allocation import ROUTABLE_STATUSES, backorders_retry
from commerce.services.locks import sales_order_lock
from oms_site.errors import Conflict, NotFound, ValidationFailed
from oms_site.rows import rows_set
from orders.models import EventKind, OrderEvent
from orders.services import journal_row
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
OPEN_FULFILMENT = (FulfilmentState.PENDING, FulfilmentState.PICKING, FulfilmentState.PACKED)


def _lock_stock(tenant_id: int, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the stock rows of (warehouse, product) pairs, by pk; missing rows are absent."""
    query = Q(pk__in=[])
    for warehouse_id, product_id in set(pairs):
        query |= Q(warehouse_id=warehouse_id, product_id=product_id)
    rows = Stock.objects.for_tenant(tenant_id).select_for_update().filter(query).order_by("pk")
    return {(s.warehouse_id, s.product_id): s for s in rows}


def allocations_release(*, tenant_id: int, sales_order: SalesOrder) -> dict[str, Any]:
    """Give back the stock of every active allocation and reservation of an order (the caller
    holds ``sales_order_lock`` and journals the returned summary with its own action)."""
    allocations = list(
        Allocation.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .filter(sales_order=sales_order, status=AllocationStatus.ACTIVE)
        .select_related("line")
        .order_by("pk")
    )
    reservations = list(
        Reservation.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(sales_order=sales_order, status=ReservationStatus.ACTIVE)
        .select_related("stock")
        .order_by("pk")
    )
    pairs = [(a.warehouse_id, a.line.product_id) for a in allocations]
    pairs += [(r.stock.warehouse_id, r.stock.product_id) for r in reservations]
    stock = _lock_stock(tenant_id, pairs)
    now = timezone.now()
    for allocation in allocations:
        row = stock[(allocation.warehouse_id, allocation.line.product_id)]
        row.allocated -= allocation.quantity
        allocation.status = AllocationStatus.RELEASED
        allocation.updated_at = now
    for reservation in reservations:
        row = stock[(reservation.stock.warehouse_id, reservation.stock.product_id)]
        row.reserved -= reservation.quantity
        reservation.status = ReservationStatus.RELEASED
        reservation.updated_at = now
    for row in stock.values():
        row.updated_at = now
    rows_set(Stock, tenant_id, list(stock.values()), ["allocated", "reserved", "updated_at"])
    rows_set(Allocation, tenant_id, allocations, ["status", "updated_at"])
    rows_set(Reservation, tenant_id, reservations, ["status", "updated_at"])
    backorders_retry(tenant_id=tenant_id, product_ids=[product for _, product in pairs])
    return {
        "released": [
            {
                "allocation": a.pk,
                "sku": a.line.sku,
                "warehouse_id": a.warehouse_id,
                "quantity": a.quantity,
            }
            for a in allocations
        ],
        "reservations_released": [r.pk for r in reservations],
    }


@transaction.atomic
def allocation_move(
    *,
    tenant: Tenant,
    actor: Actor,
    allocation_id: int,
    warehouse_id: int,
    quantity: Decimal | None = None,
    reason: str = "",
) -> Allocation:
    """Move an active allocation (or ``quantity`` of it) to another warehouse.

    Refused with 409 when the allocation is no longer active, when goods of the line are in an
    open fulfilment of the old warehouse (cancel that fulfilment first; shipped or cancelled
    fulfilments of earlier goods do not count), or when the target
    warehouse does not have the goods available; with 400 when the target is the same,
    inactive or unknown, or the quantity is not within (0, allocated]. Journaled
    ``ALLOCATION_MOVED`` with both warehouses and their distances to the shipping address.
    Returns the allocation now in the target warehouse."""
    head = (
        Allocation.objects.for_tenant(tenant)
        .filter(pk=allocation_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if head is None:
        raise NotFound("Allocation not found.")
    sales = sales_order_lock(tenant=tenant, sales_order_id=head)
    order = sales.order
    allocation = (
        Allocation.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("line", "warehouse")
        .get(pk=allocation_id)
    )
    target = Warehouse.objects.for_tenant(tenant).filter(pk=warehouse_id).first()
    if target is None or not target.active:
        raise ValidationFailed(errors={"warehouse": ["No active warehouse with this id."]})
    if target.pk == allocation.warehouse_id:
        raise ValidationFailed(errors={"warehouse": ["The goods are already allocated there."]})
    if allocation.status != AllocationStatus.ACTIVE:
        raise Conflict(f"The allocation is {allocation.status}: only active ones move.")
    if order.status not in ROUTABLE_STATUSES:
        raise Conflict(f"The order is {order.status}.")
    moving = allocation.quantity if quantity is None else quantity
    if not (ZERO < moving <= allocation.quantity):
        raise ValidationFailed(
            errors={"quantity": [f"Must be greater than 0 and at most {allocation.quantity}."]}
        )
    in_fulfilment = (
        FulfilmentLine.objects.for_tenant(tenant)
        .filter(
            line_id=allocation.line_id,
            fulfilment__warehouse_id=allocation.warehouse_id,
        )
        .filter(fulfilment__state__in=OPEN_FULFILMENT)
    )
    if in_fulfilment.exists():
        raise Conflict("These goods are in a fulfilment of that warehouse: cancel it first.")
    product_id = allocation.line.product_id
    stock = _lock_stock(tenant.pk, [(allocation.warehouse_id, product_id), (target.pk, product_id)])
    source, dest = stock[(allocation.warehouse_id, product_id)], stock.get((target.pk, product_id))
    available = dest.on_hand - dest.allocated - dest.reserved if dest is not None else ZERO
    if dest is None or available < moving:
        raise Conflict(
            f"{target.code} has {available} of {allocation.line.sku} available, {moving} needed.",
            extra={"available": str(available)},
        )
    source.allocated -= moving
    dest.allocated += moving
    source.save(update_fields=["allocated", "updated_at"])
    dest.save(update_fields=["allocated", "updated_at"])
    backorders_retry(tenant_id=tenant.pk, product_ids=[product_id])  # the source's goods
    allocation_from = allocation.warehouse.code
    distances = _move_distances(sales, allocation.warehouse, target)
    if moving == allocation.quantity:
        allocation.warehouse = target
        allocation.distance_km = distances["to_km"]
        allocation.save(update_fields=["warehouse", "distance_km", "updated_at"])
        moved = allocation
    else:
        allocation.quantity -= moving
        allocation.save(update_fields=["quantity", "updated_at"])
        moved = Allocation.objects.create(
            tenant=tenant,
            sales_order=sales,
            line=allocation.line,
            warehouse=target,
            quantity=moving,
            distance_km=distances["to_km"],
        )
    OrderEvent.objects.bulk_create(
        [
            journal_row(
                order_id=order.pk,
                tenant_id=tenant.pk,
                kind=EventKind.ALLOCATION_MOVED,
                actor=actor,
                reason=reason or "Moved by staff.",
                data={
                    "allocation": allocation.pk,
                    "moved_allocation": moved.pk,
                    "line": allocation.line.line_no,
                    "sku": allocation.line.sku,
                    "quantity": moving,
                    "from": allocation_from,
                    "to": target.code,
                    **distances,
                },
            )
        ]
    )
    return moved


def _move_distances(sales: SalesOrder, source: Warehouse, target: Warehouse) -> dict[str, Any]:
    def km(warehouse: Warehouse) -> Decimal | None:
        if None in (
            sales.ship_latitude,
            sales.ship_longitude,
            warehouse.latitude,
            warehouse.longitude,
        ):
            return None
        value = distance_km_float(
            sales.ship_latitude,
            sales.ship_longitude,
            warehouse.latitude,
            warehouse.longitude,
        )
        return Decimal(str(round(value, 3)))

    return {"from_km": km(source), "to_km": km(target)}
