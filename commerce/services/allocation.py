"""Routing of accepted sales orders to warehouses, allocation moves and releases.

Decision, per order (issue section 3):

1. Active reservations held for the order are consumed first, in their warehouse.
2. One warehouse that can ship everything still needed: the nearest to the shipping address
   by great-circle distance (km, rounded to metres), ties broken by warehouse priority (lower
   first), then remaining daily capacity (more first), then code.
3. Otherwise, when the channel allows split shipments: the fewest warehouses that together
   cover the order (every set of 2, 3, then 4 warehouses holding some of the goods is tried,
   the set with the smallest total distance wins, then priority); each line takes from the
   set's warehouses nearest first. Beyond 4 warehouses (or when stock is short everywhere),
   goods are taken nearest first from every warehouse, and whatever no warehouse holds is
   backordered (``allocation_state = partial``).
4. Otherwise the whole order waits as a backorder (nothing allocated, ``backordered``).
   ``promised_date = today + the longest lead time of the products still short``.

An order that holds goods already (allocated, or shipped before a short shipment) and is still
short is ``partial``; one that holds none is ``backordered``.

Candidates: active warehouses that are not stores. A point-of-sale order (channel kind
``pos``) is allocated from its channel's store only (goods handed over at the counter). An
order whose shipping address has no coordinates (an import the gazetteer could not place) is
routed by priority and capacity only; its journal shows no distances.

Remaining daily capacity = ``daily_capacity`` minus the orders allocated to the warehouse
since midnight UTC (it breaks ties; it never blocks an allocation).

Every decision is journaled: ``ALLOCATED`` (what went where) and/or ``BACKORDERED`` (what is
short, the promise), each with every warehouse compared (those holding any of the goods), its
distance, priority, whether it could ship everything, and its remaining capacity when a tie
made that count.

Concurrency and speed: routing takes a batch of orders in one transaction. It locks in the
global order of ``commerce.services.locks`` (the same for every writer, so no deadlock): the
order rows, then their sales order rows (``sales_orders_lock``, each set by pk), then their
active reservations (by pk), then every candidate stock row of their products in one ``SELECT
... FOR UPDATE ORDER BY pk``; it decides in memory against the locked quantities, and writes
with one bulk statement per table. Stock can never go below zero: decisions are made on locked
rows, and the check constraints stand behind them.

Idempotent: only orders still to route are touched (open or partial, ``allocation_state``
pending, backordered or partial); each line's need is its quantity minus what is already
allocated or shipped, so a second run allocates nothing more. A re-run that changes nothing
journals nothing.

Backorders are retried whenever goods become available: every writer that adds available
stock (``stock_receive``, an upward ``stock_adjust``, a restock from a return or a refund, the
release of allocations or reservations by a cancellation, a short shipment, a fulfilment
cancellation, an allocation move, a reservation's release or expiry, the excess of a reserved
quantity consumed here) calls :func:`backorders_retry`, which enqueues
:func:`backorders_route` for the products after commit; it re-routes the waiting orders holding
them oldest first (by order id), so earlier customers are served first.

Re-routing: an order whose fulfilment was cancelled or shipped short goes back to routing
(:func:`sales_order_reroute`: ``allocation_state = pending``, ``route_sales_order`` after
commit); its lines need what is neither shipped nor actively allocated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from commerce.models import (
    Allocation,
    AllocationState,
    AllocationStatus,
    Product,
    Reservation,
    ReservationStatus,
    SalesOrder,
    SalesOrderLine,
    Stock,
)
from commerce.services.allocation_plan import Ledger, Need, Outcome, Router, Site, sites_load
from commerce.services.locks import sales_orders_lock
from oms_site.celery import enqueue_after_commit
from oms_site.rows import instances_insert, rows_set
from orders.models import EventKind, OrderEvent, OrderStatus
from orders.services import journal_row

Actor = Any
ZERO = Decimal("0")
ROUTABLE_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIAL)
ROUTABLE_STATES = (AllocationState.PENDING, AllocationState.BACKORDERED, AllocationState.PARTIAL)
HELD_STATUSES = (AllocationStatus.ACTIVE, AllocationStatus.SHIPPED)
BATCH = 500


def _needs(tenant_id: int, sales_ids: list[int]) -> tuple[dict[int, list[Need]], set[int]]:
    """Per order, what each line still needs (quantity minus active or shipped allocations),
    and the orders that hold some goods already (active or shipped)."""
    held: dict[int, Decimal] = {}
    holding: set[int] = set()
    for sales_id, line_id, quantity in (
        Allocation.objects.for_tenant(tenant_id)
        .filter(sales_order_id__in=sales_ids, status__in=HELD_STATUSES)
        .values("sales_order_id", "line_id")
        .annotate(q=Sum("quantity"))
        .values_list("sales_order_id", "line_id", "q")
    ):
        held[line_id] = quantity
        holding.add(sales_id)
    needs: dict[int, list[Need]] = defaultdict(list)
    rows = (
        SalesOrderLine.objects.for_tenant(tenant_id)
        .filter(sales_order_id__in=sales_ids)
        .order_by("sales_order_id", "line_no")
        .values_list("id", "sales_order_id", "line_no", "sku", "product_id", "quantity")
    )
    for line_id, sales_id, line_no, sku, product_id, quantity in rows:
        remaining = quantity - held.get(line_id, ZERO)
        if remaining > 0:
            needs[sales_id].append(Need(line_id, line_no, sku, product_id, remaining))
    return needs, holding


def _lead_times(tenant_id: int, product_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        Product.objects.for_tenant(tenant_id)
        .filter(pk__in=list(product_ids))
        .values_list("id", "lead_time_days")
    )


@transaction.atomic
def sales_orders_route(
    *, tenant_id: int, order_ids: Sequence[int], actor: Actor = None
) -> list[Outcome]:
    """Route a batch of sales orders (module docstring). Orders not to route are skipped."""
    locked = sales_orders_lock(tenant=tenant_id, order_ids=order_ids, statuses=ROUTABLE_STATUSES)
    orders = [sales for sales in locked if sales.allocation_state in ROUTABLE_STATES]
    if not orders:
        return []
    ids = [s.pk for s in orders]
    needs, holding = _needs(tenant_id, ids)
    reservations = list(
        Reservation.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .filter(sales_order_id__in=ids, status=ReservationStatus.ACTIVE)
        .select_related("stock")
        .order_by("pk")
    )
    sites = sites_load(tenant_id)
    products = {n.product_id for order_needs in needs.values() for n in order_needs}
    ledger = Ledger(
        Stock.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(
            Q(product_id__in=products, warehouse_id__in=list(sites))
            | Q(pk__in=[r.stock_id for r in reservations])
        )
        .order_by("pk")
    )
    router = Router(
        tenant_id=tenant_id,
        actor=actor,
        sites=sites,
        ledger=ledger,
        lead=_lead_times(tenant_id, products),
    )
    by_order: dict[int, list[Reservation]] = defaultdict(list)
    for reservation in reservations:
        by_order[reservation.sales_order_id or 0].append(reservation)
    outcomes = []
    freed: set[int] = set()
    for sales in orders:
        outcome = Outcome(order_id=sales.pk, state=sales.allocation_state)
        order_needs = needs.get(sales.pk, [])
        freed |= _consume_reservations(
            router, sales, order_needs, by_order.get(sales.pk, []), outcome
        )
        if any(n.quantity > 0 for n in order_needs):
            events_before = len(router.events)
            router.route(sales, [n for n in order_needs if n.quantity > 0], outcome)
            if (
                not outcome.allocated
                and sales.allocation_state != AllocationState.PENDING
                and sales.promised_date == outcome.promised_date
            ):
                del router.events[events_before:]  # a retry that changed nothing
        has_any = bool(outcome.allocated) or sales.pk in holding
        short_after = any(n.quantity > 0 for n in order_needs)
        if not short_after:
            outcome.state = AllocationState.ALLOCATED
            outcome.promised_date = None
        elif has_any:
            outcome.state = AllocationState.PARTIAL
        else:
            outcome.state = AllocationState.BACKORDERED
        outcome.changed = (
            outcome.state != sales.allocation_state
            or outcome.promised_date != sales.promised_date
            or bool(outcome.allocated)
        )
        sales.allocation_state = outcome.state
        sales.promised_date = outcome.promised_date
        outcomes.append(outcome)
    changed = [sales for sales, outcome in zip(orders, outcomes, strict=True) if outcome.changed]
    _write(router, ledger, changed, reservations)
    backorders_retry(tenant_id=tenant_id, product_ids=freed)
    return outcomes


def _consume_reservations(
    router: Router,
    sales: SalesOrder,
    needs: list[Need],
    reservations: list[Reservation],
    outcome: Outcome,
) -> set[int]:
    """Reserved goods become allocations in the reservation's warehouse; any excess reserved
    goes back to available stock (the products concerned are returned, for the backorder
    retry). Every reservation of the order ends consumed."""
    freed: set[int] = set()
    for reservation in reservations:
        stock = reservation.stock
        router.ledger.unreserve(stock.pk, reservation.quantity)
        left = reservation.quantity
        site = router.sites.get(stock.warehouse_id) or Site(
            stock.warehouse_id, str(stock.warehouse_id), 0, 0, None, None, False
        )
        for need in needs:
            if left <= 0:
                break
            if need.product_id != stock.product_id or need.quantity <= 0:
                continue
            take = min(left, need.quantity)
            router._take(
                sales=sales, need=need, site=site, distance=None, quantity=take, outcome=outcome
            )
            left -= take
        if left > 0:
            freed.add(stock.product_id)
        reservation.status = ReservationStatus.CONSUMED
    if reservations and outcome.allocated:
        router.events.append(
            journal_row(
                order_id=sales.pk,
                tenant_id=router.tenant_id,
                kind=EventKind.ALLOCATED,
                actor=router.actor,
                reason="Reserved goods allocated.",
                data={
                    "decision": "reservation",
                    "reservations": [r.pk for r in reservations],
                    "allocations": [
                        {"line_id": line, "warehouse_id": wh, "quantity": qty}
                        for line, wh, qty in outcome.allocated
                    ],
                },
            )
        )
    return freed


def _write(
    router: Router, ledger: Ledger, orders: list[SalesOrder], reservations: list[Reservation]
) -> None:
    tenant_id = router.tenant_id
    ledger.flush(tenant_id)
    instances_insert(Allocation, router.allocations)
    if reservations:
        now = timezone.now()
        for reservation in reservations:
            reservation.updated_at = now
        rows_set(Reservation, tenant_id, reservations, ["status", "updated_at"])
    now = timezone.now()
    for sales in orders:
        sales.updated_at = now
    rows_set(SalesOrder, tenant_id, orders, ["allocation_state", "promised_date", "updated_at"])
    instances_insert(OrderEvent, router.events)


def sales_order_route(*, tenant_id: int, order_id: int, actor: Actor = None) -> Outcome | None:
    """Route one order (the ``route_sales_order`` task); ``None`` when there is nothing to do."""
    outcomes = sales_orders_route(tenant_id=tenant_id, order_ids=[order_id], actor=actor)
    return outcomes[0] if outcomes else None


def backorders_route(*, tenant_id: int, product_ids: Sequence[int]) -> list[Outcome]:
    """Re-route the orders waiting for any of these products, oldest first, in batches."""
    waiting = list(
        SalesOrder.objects.for_tenant(tenant_id)
        .filter(
            allocation_state__in=(AllocationState.BACKORDERED, AllocationState.PARTIAL),
            order__status__in=ROUTABLE_STATUSES,
            lines__product_id__in=list(product_ids),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    outcomes: list[Outcome] = []
    for start in range(0, len(waiting), BATCH):
        outcomes += sales_orders_route(
            tenant_id=tenant_id, order_ids=waiting[start : start + BATCH]
        )
    return outcomes


def backorders_retry(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Goods became available (received, counted up, restocked from a return, or released by
    a cancellation, a short shipment, a move or a reservation): retry the backorders of these
    products once the transaction commits (``route_backorders`` -> :func:`backorders_route`).
    Every writer that adds available stock calls this one function."""
    products = sorted(set(product_ids))
    if not products:
        return
    from commerce.tasks import route_backorders

    enqueue_after_commit(route_backorders, tenant_id=tenant_id, product_ids=products)


def sales_order_reroute(*, sales: SalesOrder) -> bool:
    """Send an order's unshipped remainder back to routing (after a fulfilment was cancelled
    or shipped short): ``allocation_state`` becomes ``pending`` and ``route_sales_order`` is
    enqueued once the transaction commits. The caller holds ``sales_order_lock`` and journals
    the re-route in its own row. An order that is no longer open or partial is left alone
    (``False``)."""
    if sales.order.status not in ROUTABLE_STATUSES:
        return False
    if sales.allocation_state != AllocationState.PENDING:
        sales.allocation_state = AllocationState.PENDING
        sales.save(update_fields=["allocation_state", "updated_at"])
    from commerce.tasks import route_sales_order

    enqueue_after_commit(route_sales_order, tenant_id=sales.tenant_id, order_id=sales.pk)
    return True


def __getattr__(name: str) -> Any:
    """``allocation_move`` and ``allocations_release`` live in ``allocation_moves``; they are
    reachable from here too, for callers that import them with routing."""
    if name in ("allocation_move", "allocations_release"):
        from commerce.services import allocation_moves

        return getattr(allocation_moves, name)
    raise AttributeError(name)
