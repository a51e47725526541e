"""What a fulfilment takes from its allocations and stock when it ships or is cancelled.

Per fulfilment line, the shipped quantity becomes ``shipped`` allocations and the rest of the
line is released (``released`` allocations); ``Stock.on_hand`` falls by what shipped and
``Stock.allocated`` by both. Released goods are available again: the backorders of their
products are retried and the order they came from goes back to routing
(``commerce.services.allocation``). The caller holds the order rows; the allocations and the
stock rows are locked here, each set by pk (``commerce.services.locks``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from commerce.models import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    SalesOrder,
    Stock,
)
from commerce.services.allocation import backorders_retry, sales_order_reroute
from commerce.services.fulfilment_common import ZERO
from oms_site.errors import Conflict
from tenancy.models import Tenant


@dataclass(frozen=True)
class Take:
    """What a fulfilment line takes from its allocations: ``shipped`` + ``released``."""

    line_id: int
    product_id: int
    shipped: Decimal
    released: Decimal


def allocation_split(allocation: Allocation, pieces: list[tuple[str, Decimal]]) -> list[Allocation]:
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


def allocations_settle(
    *,
    tenant: Tenant,
    fulfilment: Fulfilment,
    lines: Sequence[FulfilmentLine],
    shipped: dict[int, Decimal],
) -> list[Take]:
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
            new_rows += allocation_split(
                allocation,
                [
                    (AllocationStatus.SHIPPED, ship),
                    (AllocationStatus.RELEASED, release),
                    (AllocationStatus.ACTIVE, keep),
                ],
            )
        takes.append(
            Take(
                line_id=fl.line_id,
                product_id=fl.line.product_id,
                shipped=shipped.get(fl.line_id, ZERO),
                released=fl.quantity - shipped.get(fl.line_id, ZERO),
            )
        )
    if new_rows:
        Allocation.objects.bulk_create(new_rows)
    return takes


def stock_settle(*, tenant: Tenant, warehouse_id: int, takes: Iterable[Take]) -> None:
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


def goods_lock(*, tenant: Tenant, sales: SalesOrder, fulfilments: Sequence[Fulfilment]) -> None:
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


def remainder_to_routing(
    *, tenant: Tenant, sales: SalesOrder | None, takes: Sequence[Take]
) -> bool:
    """Released goods are available again (backorders of them retried); the order they were
    released from goes back to routing (``sales``; ``None`` for an order being cancelled).
    Returns whether the order was re-routed."""
    released = [t.product_id for t in takes if t.released > 0]
    backorders_retry(tenant_id=tenant.pk, product_ids=released)
    if not released or sales is None:
        return False
    return sales_order_reroute(sales=sales)
