"""Stock on hand and reservations.

``available = on_hand - allocated - reserved`` never goes below zero: every writer locks the
stock row (``select_for_update``) before changing it, and the check constraints refuse the
rest. Receiving goods, counting more on hand, and releasing a reservation (by hand or at its
expiry) make goods available: each re-routes the backorders waiting for the product once the
transaction commits (``commerce.services.allocation.backorders_retry``, the one function every
such writer calls: ``route_backorders`` task, oldest orders first).

Reservations hold goods for a cart or an order awaiting payment until ``expires_at``; the beat
task ``route_reservations_expire`` releases the expired ones (safe to run twice: only active
reservations are released). Routing consumes an order's active reservations into allocations.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from commerce.models import Product, Reservation, ReservationStatus, Stock, Warehouse
from commerce.services.allocation import backorders_retry
from commerce.services.catalog import QTY_MAX, Errors, decimal_of, text_of
from commerce.services.locks import sales_order_lock
from oms_site.errors import Conflict, NotFound, ValidationFailed
from orders.models import LIVE_STATUSES, EventKind
from orders.services import event_record
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
MAX_RESERVATION = timedelta(days=30)


def _quantity(value: Any, *, field: str, errors: Errors, positive: bool) -> Decimal:
    number = decimal_of(value, field=field, errors=errors, places=3, maximum=QTY_MAX)
    if number is None:
        return ZERO
    if positive and number <= 0:
        errors.add(field, "Must be greater than zero.")
    elif number < 0:
        errors.add(field, "Must not be negative.")
    return number


def _refs(tenant: Tenant, warehouse_id: Any, product_id: Any) -> tuple[Warehouse, Product]:
    errors = Errors()
    warehouse = (
        Warehouse.objects.for_tenant(tenant).filter(pk=warehouse_id).first()
        if isinstance(warehouse_id, int) and not isinstance(warehouse_id, bool)
        else None
    )
    product = (
        Product.objects.for_tenant(tenant).filter(pk=product_id).first()
        if isinstance(product_id, int) and not isinstance(product_id, bool)
        else None
    )
    if warehouse is None:
        errors.add("warehouse", "No warehouse with this id.")
    if product is None:
        errors.add("product", "No product with this id.")
    errors.raise_if_any()
    assert warehouse is not None
    assert product is not None
    return warehouse, product


def stock_lock(*, tenant: Tenant, warehouse: Warehouse, product: Product) -> Stock:
    """The (warehouse, product) stock row, created empty if missing, locked."""
    Stock.objects.bulk_create(
        [Stock(tenant=tenant, warehouse=warehouse, product=product)], ignore_conflicts=True
    )
    return (
        Stock.objects.for_tenant(tenant)
        .select_for_update()
        .get(warehouse=warehouse, product=product)
    )


@transaction.atomic
def stock_receive(
    *, tenant: Tenant, actor: Actor, warehouse_id: Any, product_id: Any, quantity: Any
) -> Stock:
    """Goods arrived: ``on_hand += quantity`` (> 0); backorders of the product are retried."""
    errors = Errors()
    amount = _quantity(quantity, field="quantity", errors=errors, positive=True)
    errors.raise_if_any()
    warehouse, product = _refs(tenant, warehouse_id, product_id)
    stock = stock_lock(tenant=tenant, warehouse=warehouse, product=product)
    if stock.on_hand + amount >= QTY_MAX:
        raise ValidationFailed(errors={"quantity": ["On hand would exceed the column's range."]})
    stock.on_hand += amount
    stock.save(update_fields=["on_hand", "updated_at"])
    backorders_retry(tenant_id=tenant.pk, product_ids=[product.pk])
    return stock


@transaction.atomic
def stock_adjust(
    *, tenant: Tenant, actor: Actor, warehouse_id: Any, product_id: Any, on_hand: Any
) -> Stock:
    """Set the counted ``on_hand`` (a stock take). It may not fall below what is allocated and
    reserved (400 naming ``on_hand``: release or move those first). More goods than before
    retry the product's backorders."""
    errors = Errors()
    counted = _quantity(on_hand, field="on_hand", errors=errors, positive=False)
    errors.raise_if_any()
    warehouse, product = _refs(tenant, warehouse_id, product_id)
    stock = stock_lock(tenant=tenant, warehouse=warehouse, product=product)
    committed = stock.allocated + stock.reserved
    if counted < committed:
        raise ValidationFailed(
            errors={
                "on_hand": [
                    f"Below the {committed} allocated and reserved: release or move those first."
                ]
            }
        )
    grew = counted > stock.on_hand
    stock.on_hand = counted
    stock.save(update_fields=["on_hand", "updated_at"])
    if grew:
        backorders_retry(tenant_id=tenant.pk, product_ids=[product.pk])
    return stock


@transaction.atomic
def reservation_create(
    *,
    tenant: Tenant,
    actor: Actor,
    warehouse_id: Any,
    product_id: Any,
    quantity: Any,
    expires_at: datetime,
    reference: str = "",
    sales_order_id: int | None = None,
) -> Reservation:
    """Hold ``quantity`` for a cart (``reference``) or an order until ``expires_at`` (in the
    future, at most 30 days away). Not enough available -> 409 with what is available."""
    errors = Errors()
    amount = _quantity(quantity, field="quantity", errors=errors, positive=True)
    reference = text_of(reference, field="reference", errors=errors, max_length=64, required=False)
    now = timezone.now()
    if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
        errors.add("expires_at", "A date and time with a time zone is required.")
    elif not now < expires_at <= now + MAX_RESERVATION:
        errors.add("expires_at", "Must be in the future and at most 30 days away.")
    sales_order = None
    if sales_order_id is not None:
        # The order's rows before the stock row (the lock order of commerce/services/locks.py):
        # the journal row below references the order.
        try:
            sales_order = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
        except NotFound:
            errors.add("sales_order", "No sales order with this id.")
        else:
            if sales_order.order.status not in LIVE_STATUSES:
                raise Conflict(
                    f"Order {sales_order.order.reference} is {sales_order.order.status}: "
                    "nothing to reserve for it."
                )
    errors.raise_if_any()
    warehouse, product = _refs(tenant, warehouse_id, product_id)
    stock = stock_lock(tenant=tenant, warehouse=warehouse, product=product)
    if stock.available < amount:
        raise Conflict(
            f"Only {stock.available} of {product.sku} available in {warehouse.code}.",
            extra={"available": str(stock.available)},
        )
    stock.reserved += amount
    stock.save(update_fields=["reserved", "updated_at"])
    reservation = Reservation.objects.create(
        tenant=tenant,
        stock=stock,
        sales_order=sales_order,
        reference=reference,
        quantity=amount,
        expires_at=expires_at,
    )
    if sales_order is not None:
        event_record(
            order=sales_order.order,
            kind=EventKind.RESERVED,
            actor=actor,
            data={
                "reservation": reservation.pk,
                "sku": product.sku,
                "warehouse": warehouse.code,
                "quantity": amount,
                "expires_at": expires_at,
            },
        )
    return reservation


def _release(reservation: Reservation, stock: Stock, *, actor: Actor, why: str) -> None:
    """Give the held goods back (available again: the product's backorders are retried); a
    reservation held for an order is journaled on it (the caller locked that order first)."""
    stock.reserved -= reservation.quantity
    stock.save(update_fields=["reserved", "updated_at"])
    reservation.status = ReservationStatus.RELEASED
    reservation.save(update_fields=["status", "updated_at"])
    if reservation.sales_order is not None:
        event_record(
            order=reservation.sales_order.order,
            kind=EventKind.RESERVATION_RELEASED,
            actor=actor,
            reason=why,
            data={
                "reservation": reservation.pk,
                "sku": stock.product.sku,
                "warehouse": stock.warehouse.code,
                "quantity": reservation.quantity,
            },
        )
    backorders_retry(tenant_id=stock.tenant_id, product_ids=[stock.product_id])


def _locked(tenant: Tenant | int, reservation_id: int) -> tuple[Reservation, Stock] | None:
    """The reservation and its stock row, locked in the global order (``locks``): the order it
    is held for (if any) first, then the reservation, then the stock row."""
    held_for = (
        Reservation.objects.for_tenant(tenant)
        .filter(pk=reservation_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if held_for is not None:
        sales_order_lock(tenant=tenant, sales_order_id=held_for)
    reservation = (
        Reservation.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("sales_order__order")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        return None
    stock = (
        Stock.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("product", "warehouse")
        .get(pk=reservation.stock_id)
    )
    return reservation, stock


@transaction.atomic
def reservation_release(*, tenant: Tenant, actor: Actor, reservation_id: int) -> Reservation:
    """Give the goods back. Releasing a released reservation changes nothing; a consumed one
    (already an allocation) is a 409."""
    locked = _locked(tenant, reservation_id)
    if locked is None:
        raise NotFound("Reservation not found.")
    reservation, stock = locked
    if reservation.status == ReservationStatus.CONSUMED:
        raise Conflict("The reservation was consumed into an allocation.")
    if reservation.status == ReservationStatus.ACTIVE:
        _release(reservation, stock, actor=actor, why="Released.")
    return reservation


def reservations_expire_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release every active reservation past its expiry (all tenants), each in its own short
    transaction. Returns how many were released; safe to run twice or concurrently."""
    now = now or timezone.now()
    due = list(
        Reservation.objects.all_tenants(reason="beat: expiry sweep over every tenant")
        .filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", "tenant_id")[:limit]
    )
    released = 0
    for pk, tenant_id in due:
        with transaction.atomic():
            locked = _locked(tenant_id, pk)
            if locked is None:
                continue
            reservation, stock = locked
            if reservation.status == ReservationStatus.ACTIVE and reservation.expires_at <= now:
                _release(reservation, stock, actor=None, why="Expired.")
                released += 1
    return released
