"""Routing decisions in memory: the warehouses as routing sees them, the locked stock of a
batch (:class:`Ledger`), and the per-order decision (:class:`Router`). The rules are in
:mod:`commerce.services.allocation`'s docstring; this module writes nothing itself except the
ledger's flush, and locks nothing: the caller locked the orders and the stock rows, in the
global order of ``commerce.services.locks``."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone

from commerce.geo import distance_km_float
from commerce.models import (
    Allocation,
    AllocationStatus,
    ChannelKind,
    SalesOrder,
    Stock,
    Warehouse,
)
from oms_site.rows import rows_set
from orders.models import EventKind, OrderEvent
from orders.services import journal_row

Actor = Any
ZERO = Decimal("0")
MAX_EXACT_SPLIT = 4
MAX_COMBINATIONS = 20_000


@dataclass
class Site:
    """A warehouse as routing sees it."""

    id: int
    code: str
    priority: int
    capacity: int
    latitude: float | None
    longitude: float | None
    is_store: bool
    used_before: int = 0  # orders allocated here since midnight, before this batch
    used_now: int = 0  # orders this batch allocated here

    @property
    def capacity_left(self) -> int:
        return max(0, self.capacity - self.used_before - self.used_now)


@dataclass
class Need:
    line_id: int
    line_no: int
    sku: str
    product_id: int
    quantity: Decimal


@dataclass
class Outcome:
    order_id: int
    state: str
    allocated: list[tuple[int, int, Decimal]] = field(default_factory=list)  # line, wh, qty
    backordered: dict[str, Decimal] = field(default_factory=dict)
    promised_date: date | None = None
    changed: bool = False


class Ledger:
    """The locked stock rows of a batch and the changes decided on them."""

    def __init__(self, rows: Iterable[Stock]) -> None:
        self.rows: dict[tuple[int, int], Stock] = {(s.warehouse_id, s.product_id): s for s in rows}
        self.by_id: dict[int, Stock] = {s.pk: s for s in self.rows.values()}
        self.free: dict[tuple[int, int], Decimal] = {
            key: s.on_hand - s.allocated - s.reserved for key, s in self.rows.items()
        }
        self.touched: set[int] = set()

    def available(self, warehouse_id: int, product_id: int) -> Decimal:
        return self.free.get((warehouse_id, product_id), ZERO)

    def allocate(self, warehouse_id: int, product_id: int, quantity: Decimal) -> None:
        key = (warehouse_id, product_id)
        row = self.rows[key]
        row.allocated += quantity
        self.free[key] -= quantity
        if self.free[key] < 0:
            raise AssertionError("oversell: routing decided beyond the locked stock")
        self.touched.add(row.pk)

    def unreserve(self, stock_id: int, quantity: Decimal) -> None:
        row = self.by_id[stock_id]
        row.reserved -= quantity
        self.free[(row.warehouse_id, row.product_id)] += quantity
        self.touched.add(row.pk)

    def flush(self, tenant_id: int) -> None:
        if not self.touched:
            return
        now = timezone.now()
        rows = [self.by_id[pk] for pk in sorted(self.touched)]
        for row in rows:
            row.updated_at = now
        rows_set(Stock, tenant_id, rows, ["allocated", "reserved", "updated_at"])


def sites_load(tenant_id: int) -> dict[int, Site]:
    rows = (
        Warehouse.objects.for_tenant(tenant_id)
        .filter(active=True)
        .values_list(
            "id", "code", "priority", "daily_capacity", "latitude", "longitude", "is_store"
        )
    )
    return {
        r[0]: Site(
            id=r[0],
            code=r[1],
            priority=r[2],
            capacity=r[3],
            latitude=float(r[4]) if r[4] is not None else None,
            longitude=float(r[5]) if r[5] is not None else None,
            is_store=r[6],
        )
        for r in rows
    }


def _capacity_load(tenant_id: int, sites: dict[int, Site]) -> None:
    """Orders allocated per warehouse since midnight UTC (read only when a tie needs it)."""
    midnight = datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)
    used = (
        Allocation.objects.for_tenant(tenant_id)
        .filter(created_at__gte=midnight, warehouse_id__in=list(sites))
        .exclude(status=AllocationStatus.RELEASED)
        .values("warehouse_id")
        .annotate(n=Count("sales_order_id", distinct=True))
        .values_list("warehouse_id", "n")
    )
    for warehouse_id, count in used:
        sites[warehouse_id].used_before = count


def _distance(site: Site, lat: float | None, lon: float | None) -> float | None:
    if lat is None or lon is None or site.latitude is None or site.longitude is None:
        return None
    return round(distance_km_float(lat, lon, site.latitude, site.longitude), 3)


def _rank(site: Site, distance: float | None) -> tuple[float, int, int, str]:
    return (
        distance if distance is not None else 0.0,
        site.priority,
        -site.capacity_left,
        site.code,
    )


def _per_product(needs: Sequence[Need]) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for need in needs:
        totals[need.product_id] += need.quantity
    return totals


class Router:
    """Routes the orders of one batch against one ledger of locked stock."""

    def __init__(
        self,
        *,
        tenant_id: int,
        actor: Actor,
        sites: dict[int, Site],
        ledger: Ledger,
        lead: dict[int, int],
    ) -> None:
        self.tenant_id = tenant_id
        self.lead = lead
        self.actor = actor
        self.sites = sites
        self.ledger = ledger
        self.allocations: list[Allocation] = []
        self.events: list[OrderEvent] = []
        self.today = timezone.now().astimezone(UTC).date()
        self.capacity_known = False

    def candidates(self, sales: SalesOrder) -> list[tuple[Site, float | None]]:
        if sales.channel.kind == ChannelKind.POS:
            store = self.sites.get(sales.channel.store_id or 0)
            pool = [store] if store is not None else []
        else:
            pool = [s for s in self.sites.values() if not s.is_store]
        lat = float(sales.ship_latitude) if sales.ship_latitude is not None else None
        lon = float(sales.ship_longitude) if sales.ship_longitude is not None else None
        ranked = [(site, _distance(site, lat, lon)) for site in pool]
        ranked.sort(key=lambda pair: (pair[1] or 0.0, pair[0].priority, pair[0].code))
        tie = any(
            (a[1], a[0].priority) == (b[1], b[0].priority) for a, b in itertools.pairwise(ranked)
        )
        if tie:  # equally near, equal priority: the remaining daily capacity decides
            if not self.capacity_known:
                _capacity_load(self.tenant_id, self.sites)
                self.capacity_known = True
            ranked.sort(key=lambda pair: _rank(*pair))
        return ranked

    def _take(
        self,
        *,
        sales: SalesOrder,
        need: Need,
        site: Site,
        distance: float | None,
        quantity: Decimal,
        outcome: Outcome,
    ) -> None:
        self.ledger.allocate(site.id, need.product_id, quantity)
        self.allocations.append(
            Allocation(
                tenant_id=self.tenant_id,
                sales_order_id=sales.pk,
                line_id=need.line_id,
                warehouse_id=site.id,
                quantity=quantity,
                distance_km=Decimal(str(distance)) if distance is not None else None,
            )
        )
        need.quantity -= quantity
        outcome.allocated.append((need.line_id, site.id, quantity))

    def _fill(
        self,
        *,
        sales: SalesOrder,
        needs: Sequence[Need],
        chosen: Sequence[tuple[Site, float | None]],
        outcome: Outcome,
    ) -> None:
        """Each line takes from ``chosen`` in order (nearest first) while it needs goods."""
        for need in needs:
            for site, distance in chosen:
                if need.quantity <= 0:
                    break
                take = min(need.quantity, self.ledger.available(site.id, need.product_id))
                if take > 0:
                    self._take(
                        sales=sales,
                        need=need,
                        site=site,
                        distance=distance,
                        quantity=take,
                        outcome=outcome,
                    )
        for site, _distance in chosen:
            if any(a[1] == site.id for a in outcome.allocated):
                site.used_now += 1

    def _fewest(
        self, ranked: list[tuple[Site, float | None]], totals: dict[int, Decimal]
    ) -> list[tuple[Site, float | None]] | None:
        """The smallest set (2 to ``MAX_EXACT_SPLIT`` warehouses) holding everything, least
        total distance first; ``None`` beyond that (the caller then takes nearest first)."""
        products = list(totals)
        need = [totals[p] for p in products]
        holding = []
        for site, distance in ranked:
            free = [self.ledger.available(site.id, p) for p in products]
            if any(q > 0 for q in free):
                holding.append((site, distance, free))
        tried = 0
        for size in range(2, min(MAX_EXACT_SPLIT, len(holding)) + 1):
            best: tuple[float, int] | None = None
            best_group: list[tuple[Site, float | None]] | None = None
            for group in itertools.combinations(holding, size):
                tried += 1
                if tried > MAX_COMBINATIONS:
                    return best_group
                if any(sum(g[2][i] for g in group) < q for i, q in enumerate(need)):
                    continue
                score = (sum(g[1] or 0.0 for g in group), sum(g[0].priority for g in group))
                if best is None or score < best:
                    best, best_group = score, [(g[0], g[1]) for g in group]
            if best_group is not None:
                return best_group
        return None

    def route(self, sales: SalesOrder, needs: list[Need], outcome: Outcome) -> None:
        ranked = self.candidates(sales)
        totals = _per_product(needs)
        compared = []
        for site, distance in ranked:
            free = [self.ledger.available(site.id, p) for p in totals]
            if not any(q > 0 for q in free):
                continue  # holds none of the goods: not a candidate for this order
            compared.append(
                {
                    "warehouse": site.code,
                    "distance_km": distance,
                    "priority": site.priority,
                    **({"capacity_left": site.capacity_left} if self.capacity_known else {}),
                    "ships_all": all(
                        q >= need for q, need in zip(free, totals.values(), strict=True)
                    ),
                }
            )
        decision = "backorder"
        if totals:
            full = next((c["warehouse"] for c in compared if c["ships_all"]), None)
            single = next((pair for pair in ranked if pair[0].code == full), None)
            split_ok = sales.channel.allow_split_shipments
            if single is not None:
                decision = "single"
                self._fill(sales=sales, needs=needs, chosen=[single], outcome=outcome)
            elif split_ok:
                group = self._fewest(ranked, totals)
                decision = "split" if group is not None else "split_partial"
                self._fill(sales=sales, needs=needs, chosen=group or ranked, outcome=outcome)
        self._journal(
            sales=sales, needs=needs, outcome=outcome, decision=decision, compared=compared
        )

    def _journal(
        self,
        *,
        sales: SalesOrder,
        needs: Sequence[Need],
        outcome: Outcome,
        decision: str,
        compared: list[dict[str, Any]],
    ) -> None:
        codes = {site.id: site.code for site in self.sites.values()}
        lines = {need.line_id: need for need in needs}
        ship_to = (
            {"latitude": sales.ship_latitude, "longitude": sales.ship_longitude}
            if sales.ship_latitude is not None
            else None
        )
        if outcome.allocated:
            self.events.append(
                journal_row(
                    order_id=sales.pk,
                    tenant_id=self.tenant_id,
                    kind=EventKind.ALLOCATED,
                    actor=self.actor,
                    reason=f"Allocated ({decision}).",
                    data={
                        "decision": decision,
                        "ship_to": ship_to,
                        "compared": compared,
                        "allocations": [
                            {
                                "line": lines[line_id].line_no if line_id in lines else None,
                                "sku": lines[line_id].sku if line_id in lines else None,
                                "warehouse": codes.get(wh, wh),
                                "quantity": qty,
                            }
                            for line_id, wh, qty in outcome.allocated
                        ],
                    },
                )
            )
        short = [need for need in needs if need.quantity > 0]
        if short:
            outcome.backordered = {need.sku: need.quantity for need in short}
            days = max(self.lead.get(need.product_id, 0) for need in short)
            outcome.promised_date = self.today + timedelta(days=days)
            self.events.append(
                journal_row(
                    order_id=sales.pk,
                    tenant_id=self.tenant_id,
                    kind=EventKind.BACKORDERED,
                    actor=self.actor,
                    reason="Not enough stock: backordered.",
                    data={
                        "decision": decision,
                        "ship_to": ship_to,
                        "compared": compared,
                        "split_allowed": sales.channel.allow_split_shipments,
                        "backordered": [
                            {"line": n.line_no, "sku": n.sku, "quantity": n.quantity} for n in short
                        ],
                        "promised_date": outcome.promised_date,
                    },
                )
            )
