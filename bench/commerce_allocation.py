"""Allocation benchmark: route 10,000 sales orders across 20 warehouses.

``python -m bench.commerce_allocation`` on a scratch database (``BENCH_DATABASE_URL``, e.g.
postgres://postgres@127.0.0.1:5432/bench_alloc, dropped and re-created; SQLite file by
default). ``QUICK=1`` runs a small version. Rounds alternate baseline and candidate; the
figures are medians over the rounds (orders per second).

- candidate: ``commerce.services.allocation.sales_orders_route`` in batches of 500 (what the
  ``route_sales_orders`` task runs): one lock statement for the batch's orders, one for all
  their candidate stock rows, decisions in memory, one bulk write per table, journal in bulk.
- per-order: the same service one order per transaction (the ``route_sales_order`` task).
- baseline: a naive per-order ORM loop: lock the order, then per line walk the warehouses
  nearest first, lock each stock row, guarded ``F()`` increment, insert the allocation and a
  journal row one by one.

Orders have 1-3 lines of 200 products and ship to 40 European cities; stock is spread so that
most orders ship from one warehouse, some split and a few backorder. Between rounds the
allocations are removed and stock reset (the append-only journal keeps growing).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from bench.orders_core import _fresh_database
from bench.report import quick, record

QUICK = quick()
ORDERS = 1_000 if QUICK else 10_000
BASELINE_ORDERS = 300 if QUICK else 1_500
PER_ORDER = 300 if QUICK else 1_500
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if QUICK else "3"))
WAREHOUSES = 20
PRODUCTS = 200
WAREHOUSE_CITIES = [
    ("Berlin", "DE"), ("Hamburg", "DE"), ("Munich", "DE"), ("Cologne", "DE"),
    ("Frankfurt am Main", "DE"), ("Paris", "FR"), ("Lyon", "FR"), ("Marseille", "FR"),
    ("Milan", "IT"), ("Rome", "IT"), ("Madrid", "ES"), ("Barcelona", "ES"),
    ("Amsterdam", "NL"), ("Brussels", "BE"), ("Vienna", "AT"), ("Zurich", "CH"),
    ("Warsaw", "PL"), ("Prague", "CZ"), ("Copenhagen", "DK"), ("Stockholm", "SE"),
]  # fmt: skip
SHIP_CITIES = [
    *WAREHOUSE_CITIES,
    ("Leipzig", "DE"), ("Dresden", "DE"), ("Stuttgart", "DE"), ("Nuremberg", "DE"),
    ("Toulouse", "FR"), ("Nice", "FR"), ("Bordeaux", "FR"), ("Turin", "IT"),
    ("Naples", "IT"), ("Valencia", "ES"), ("Seville", "ES"), ("Rotterdam", "NL"),
    ("Antwerp", "BE"), ("Graz", "AT"), ("Geneva", "CH"), ("Krakow", "PL"),
    ("Brno", "CZ"), ("Aarhus", "DK"), ("Gothenburg", "SE"), ("Oslo", "NO"),
]  # fmt: skip


def _setup() -> tuple[Any, list[int]]:
    from commerce import geo
    from commerce.models import (
        AllocationState,
        Channel,
        ChannelKind,
        Product,
        SalesOrder,
        SalesOrderLine,
        Stock,
        Warehouse,
    )
    from orders.models import Order, OrderKind, OrderStatus
    from orders.services import references_reserve
    from tenancy.models import Tenant

    rng = random.Random(7)
    tenant = Tenant.objects.create(
        slug="bench-commerce", name="Bench commerce", base_currency="EUR"
    )
    channel = Channel.objects.create(
        tenant=tenant, code="WEB", name="Web", kind=ChannelKind.WEB, currency="EUR"
    )
    warehouses = []
    for index, (city, country) in enumerate(WAREHOUSE_CITIES):
        lat, lon = geo.coordinates_for(city, country) or (None, None)
        warehouses.append(
            Warehouse(
                tenant=tenant,
                code=f"W{index:02d}",
                name=city,
                city=city,
                country=country,
                latitude=lat,
                longitude=lon,
                priority=rng.randint(1, 5) * 10,
                daily_capacity=100_000,
            )
        )
    Warehouse.objects.bulk_create(warehouses)
    products = Product.objects.bulk_create(
        [
            Product(
                tenant=tenant,
                sku=f"P{i:04d}",
                name=f"Product {i}",
                lead_time_days=rng.randint(2, 20),
            )
            for i in range(PRODUCTS)
        ]
    )
    # Each product sits in ~6 of the 20 warehouses with enough for most of its demand.
    demand_per_product = ORDERS * 2 / PRODUCTS
    stock = []
    for product in products:
        for warehouse in rng.sample(warehouses, 6):
            on_hand = Decimal(int(demand_per_product * rng.uniform(0.3, 0.7)))
            stock.append(
                Stock(tenant=tenant, warehouse=warehouse, product=product, on_hand=on_hand)
            )
    Stock.objects.bulk_create(stock)
    places = [geo.coordinates_for(c, k) for c, k in SHIP_CITIES]
    references = references_reserve(tenant=tenant, kind=OrderKind.SALES, count=ORDERS)
    orders = Order.objects.bulk_create(
        [
            Order(
                tenant=tenant,
                kind=OrderKind.SALES,
                client_order_id=f"WEB:{n}",
                reference=references[n],
                status=OrderStatus.OPEN,
            )
            for n in range(ORDERS)
        ],
        batch_size=2000,
    )
    sales, lines = [], []
    for n, order in enumerate(orders):
        lat, lon = places[n % len(places)]  # type: ignore[misc]
        sales.append(
            SalesOrder(
                tenant=tenant,
                order=order,
                channel=channel,
                external_id=str(n),
                currency="EUR",
                base_currency="EUR",
                ship_city="x",
                ship_country="DE",
                ship_latitude=lat,
                ship_longitude=lon,
                allocation_state=AllocationState.PENDING,
            )
        )
        for line_no, product in enumerate(rng.sample(products, rng.randint(1, 3)), start=1):
            qty = Decimal(rng.randint(1, 2))
            lines.append(
                SalesOrderLine(
                    tenant=tenant,
                    sales_order_id=order.pk,
                    line_no=line_no,
                    product=product,
                    sku=product.sku,
                    quantity=qty,
                    unit_price=Decimal("10"),
                    total=qty * 10,
                )
            )
    SalesOrder.objects.bulk_create(sales, batch_size=2000)
    SalesOrderLine.objects.bulk_create(lines, batch_size=5000)
    return tenant, [o.pk for o in orders]


def _reset(tenant: Any) -> None:
    from commerce.models import Allocation, AllocationState, SalesOrder, Stock

    Allocation.objects.for_tenant(tenant).delete()
    Stock.objects.for_tenant(tenant).update(allocated=0, reserved=0)
    SalesOrder.objects.for_tenant(tenant).update(
        allocation_state=AllocationState.PENDING, promised_date=None
    )


def candidate(tenant: Any, ids: list[int]) -> None:
    from commerce.services.allocation import BATCH, sales_orders_route

    for start in range(0, len(ids), BATCH):
        sales_orders_route(tenant_id=tenant.pk, order_ids=ids[start : start + BATCH])


def per_order(tenant: Any, ids: list[int]) -> None:
    from commerce.services.allocation import sales_order_route

    for order_id in ids:
        sales_order_route(tenant_id=tenant.pk, order_id=order_id)


def baseline(tenant: Any, ids: list[int]) -> None:
    """The naive loop: one order per transaction, row by row."""
    from django.db import transaction
    from django.db.models import F

    from commerce.geo import distance_km_float
    from commerce.models import Allocation, AllocationState, SalesOrder, Stock, Warehouse
    from orders.models import EventKind, Order
    from orders.services import event_record

    warehouses = list(Warehouse.objects.for_tenant(tenant))
    for order_id in ids:
        with transaction.atomic():
            order = Order.objects.for_tenant(tenant).select_for_update().get(pk=order_id)
            sales = SalesOrder.objects.for_tenant(tenant).get(pk=order_id)
            nearest = sorted(
                warehouses,
                key=lambda w: distance_km_float(
                    sales.ship_latitude,
                    sales.ship_longitude,
                    w.latitude,
                    w.longitude,
                ),
            )
            short = False
            for line in sales.lines.all():
                for warehouse in nearest:
                    stock = (
                        Stock.objects.for_tenant(tenant)
                        .select_for_update()
                        .filter(warehouse=warehouse, product_id=line.product_id)
                        .first()
                    )
                    if stock is None or stock.available < line.quantity:
                        continue
                    Stock.objects.for_tenant(tenant).filter(pk=stock.pk).update(
                        allocated=F("allocated") + line.quantity
                    )
                    Allocation.objects.create(
                        tenant=tenant,
                        sales_order=sales,
                        line=line,
                        warehouse=warehouse,
                        quantity=line.quantity,
                    )
                    event_record(
                        order=order,
                        kind=EventKind.ALLOCATED,
                        actor=None,
                        data={"line": line.line_no, "warehouse": warehouse.code},
                    )
                    break
                else:
                    short = True
            sales.allocation_state = (
                AllocationState.BACKORDERED if short else AllocationState.ALLOCATED
            )
            sales.save(update_fields=["allocation_state", "updated_at"])


def _books_ok(tenant: Any) -> tuple[bool, dict[str, int]]:
    from django.db.models import Count, Sum

    from commerce.models import Allocation, AllocationStatus, SalesOrder, Stock

    active = {
        (w, p): q
        for w, p, q in Allocation.objects.for_tenant(tenant)
        .filter(status=AllocationStatus.ACTIVE)
        .values("warehouse_id", "line__product_id")
        .annotate(q=Sum("quantity"))
        .values_list("warehouse_id", "line__product_id", "q")
    }
    ok = all(
        s.allocated == active.get((s.warehouse_id, s.product_id), 0) and s.allocated <= s.on_hand
        for s in Stock.objects.for_tenant(tenant)
    )
    states = dict(
        SalesOrder.objects.for_tenant(tenant)
        .values("allocation_state")
        .annotate(n=Count("pk"))
        .values_list("allocation_state", "n")
    )
    return ok, states


def _timed(fn: Any, tenant: Any, ids: list[int]) -> float:
    _reset(tenant)
    start = time.perf_counter()
    fn(tenant, ids)
    return len(ids) / (time.perf_counter() - start)


def main() -> int:
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    tenant, ids = _setup()
    url = os.environ["DATABASE_URL"].split("@")[-1]
    print(
        f"database: {url}  orders={ORDERS} warehouses={WAREHOUSES} products={PRODUCTS} "
        f"rounds={ROUNDS} (setup {time.perf_counter() - started:.1f}s)"
    )
    base, cand, single = [], [], []
    for _ in range(ROUNDS):
        base.append(_timed(baseline, tenant, ids[:BASELINE_ORDERS]))
        cand.append(_timed(candidate, tenant, ids))
        ok, states = _books_ok(tenant)
        if not ok:
            print("stock books do not match the allocations", file=sys.stderr)
            return 1
        single.append(_timed(per_order, tenant, ids[:PER_ORDER]))
    b, c, s = statistics.median(base), statistics.median(cand), statistics.median(single)
    print(f"outcome of a candidate round: {states}")
    print(f"{'path':<52}{'orders/s':>10}{'ratio':>8}")
    print(f"{'baseline: naive per-order ORM loop':<52}{b:>10.0f}{1:>8.2f}")
    print(f"{'per-order service (route_sales_order task)':<52}{s:>10.0f}{s / b:>8.2f}")
    print(f"{'candidate: batched sales_orders_route (500/batch)':<52}{c:>10.0f}{c / b:>8.2f}")
    record(
        scenario="allocation of orders across 20 warehouses (batched)",
        value=c,
        unit="orders/s",
        baseline=b,
        baseline_label="naive per-order ORM loop",
        goal=">= 1,000 orders/s",
        met=c >= 1000,
        detail={
            "orders": ORDERS,
            "warehouses": WAREHOUSES,
            "rounds": ROUNDS,
            "per_order_service": round(s, 1),
            "outcome": states,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
