"""Marketplace import speed: ``python -m bench.commerce_import``.

Imports N orders (default 100,000, ``QUICK=1``: 5,000; ``BENCH_ORDERS`` overrides), two lines
each, from a local eBay Sell Fulfillment server (a separate process serving pre-built
``getOrders`` pages of 200) through the real connector (HTTP, JSON parsing, status mapping) and
the real sync run + set-based upsert (references, Order, SalesOrder, lines, marketplace payment
+ capture operation, the capture's invoice and its lines, one IMPORTED journal row per order,
screening, routing hook; one COPY per table and page on PostgreSQL), on a scratch PostgreSQL
database given by ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/bench_import``), which is dropped and created.

Prints:
- the import rate held to the goal: orders created / wall time of the whole sync run, from its
  start to the commit of its last page (HTTP, parsing, upsert, run bookkeeping, every commit);
- as detail, the upsert alone: median over pages of orders / (time from the start of
  ``orders_upsert`` to the commit of the page's transaction, deferred constraint checks
  included);
- a baseline measured in the same run, end to end like the import: the same pages fetched
  through the same connector, then a plain ``bulk_create`` of the same Order, SalesOrder and
  line rows per page (no references, journal, payment, invoice, screening or validation);
- the CPU seconds of this process and of the PostgreSQL backend serving it during the import
  (read from ``/proc`` when the server is local), each as a bound on the rate on one core;
- the ratio import / baseline;
- a re-sync of the same, unchanged pages: created / updated counts and the row counts and
  ``xmin`` sums of every table the import writes, before and after (equal = nothing written).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.db import database_recreate
from bench.report import record

PAGE = 200
SKUS = [f"BENCH-{n:03d}" for n in range(50)]


def _orders_page(offset: int, count: int, total: int, base: datetime) -> bytes:
    orders = []
    for n in range(offset, min(offset + count, total)):
        when = (base + timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        orders.append(
            {
                "orderId": f"27-{n:08d}-00000",
                "creationDate": when,
                "lastModifiedDate": when,
                "orderFulfillmentStatus": "NOT_STARTED",
                "orderPaymentStatus": "PAID",
                "cancelStatus": {"cancelState": "NONE_REQUESTED"},
                "pricingSummary": {"total": {"value": "25.00", "currency": "USD"}},
                "fulfillmentStartInstructions": [
                    {
                        "shippingStep": {
                            "shipTo": {
                                "fullName": "Bench Buyer",
                                "contactAddress": {
                                    "addressLine1": "1 Bench St",
                                    "city": "Berlin",
                                    "postalCode": "10115",
                                    "countryCode": "DE",
                                },
                            }
                        }
                    }
                ],
                "lineItems": [
                    {
                        "lineItemId": f"{n}-1",
                        "sku": SKUS[n % len(SKUS)],
                        "quantity": 1,
                        "lineItemCost": {"value": "15.00", "currency": "USD"},
                    },
                    {
                        "lineItemId": f"{n}-2",
                        "sku": SKUS[(n * 7 + 3) % len(SKUS)],
                        "quantity": 2,
                        "lineItemCost": {"value": "10.00", "currency": "USD"},
                    },
                ],
            }
        )
    body: dict[str, Any] = {"total": total, "limit": count, "offset": offset, "orders": orders}
    if offset + count < total:
        body["next"] = f"/sell/fulfillment/v1/order?offset={offset + count}"
    return json.dumps(body).encode()


def _serve(port_queue: Any, total: int, base_iso: str) -> None:
    base = datetime.fromisoformat(base_iso)
    pages = {offset: _orders_page(offset, PAGE, total, base) for offset in range(0, total, PAGE)}
    empty = _orders_page(total, PAGE, total, base)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            offset = int(query.get("offset", ["0"])[0])
            body = pages.get(offset, empty)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _xmin(tables: list[str]) -> list[tuple[str, int, int]]:
    from django.db import connection

    result = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*), coalesce(sum(xmin::text::bigint), 0) FROM {table}")
            count, xsum = cursor.fetchone()
            result.append((table, int(count), int(xsum)))
    return result


class _Statements:
    """An ``execute_wrapper`` counting statements and their time by kind and table."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds: dict[str, float] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = sql.split()
            key = " ".join(words[:3])[:60]
            self.count += 1
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

    def report(self) -> None:
        for key, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {seconds:7.3f} s  {key}")


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by the PostgreSQL backend ``pid``, when the
    server runs on this machine and its process can be read; else None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_import")
    quick = os.environ.get("QUICK") == "1"
    total = int(os.environ.get("BENCH_ORDERS") or (5_000 if quick else 100_000))
    database_recreate(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("OMS_TESTING", "1")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)

    from commerce.models import (
        Channel,
        DocumentSequence,
        Invoice,
        InvoiceLine,
        Payment,
        PaymentOperation,
        Product,
        SalesOrder,
        SalesOrderLine,
        SyncRun,
    )
    from commerce.services import sync as sync_service
    from commerce.services.sync import sync_run_execute
    from orders.models import Order, OrderEvent, OrderSequence
    from tenancy.models import Tenant

    base = datetime.now(UTC) - timedelta(days=2)
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=_serve, args=(queue, total, base.isoformat()), daemon=True
    )
    server.start()
    port = queue.get(timeout=120)
    try:
        tenant = Tenant.objects.create(slug="bench", name="Bench", base_currency="USD")
        Product.objects.bulk_create([Product(tenant=tenant, sku=sku, name=sku) for sku in SKUS])
        channel = Channel.objects.create(
            tenant=tenant,
            code="EBAY",
            name="eBay bench",
            kind="ebay",
            currency="USD",
            endpoint=f"http://127.0.0.1:{port}",
            credentials={"access_token": "bench-token"},
        )
        timings: list[tuple[int, float]] = []
        real_upsert = sync_service.orders_upsert

        def timed_upsert(**kwargs: Any) -> Any:
            # From the upsert's start to the commit of the page's transaction (its deferred
            # constraint checks included), as the baseline's pages are timed: this callback is
            # registered before any other of the page, so it runs first once the commit is done.
            started = time.perf_counter()
            count = len(kwargs["orders"])
            transaction.on_commit(
                lambda: timings.append((count, time.perf_counter() - started)),
                robust=True,
            )
            return real_upsert(**kwargs)

        sync_service.orders_upsert = timed_upsert

        # --- import ------------------------------------------------------------------------
        run = SyncRun.objects.create(tenant=tenant, channel=channel, trigger="bench")
        statements = _Statements()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        backend_before = _backend_cpu(backend)
        process_before = time.process_time()
        started = time.perf_counter()
        with connection.execute_wrapper(statements):
            done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=time.sleep)
        elapsed = time.perf_counter() - started
        process_cpu = time.process_time() - process_before
        backend_after = _backend_cpu(backend)
        assert done is not None
        print(
            f"import: {done.status}, created {done.created}, "
            f"errors {done.errors}, pages {done.pages}"
        )
        rates = [n / t for n, t in timings if n]
        upsert_median = statistics.median(rates)
        import_rate = done.created / elapsed
        print(
            f"import, end to end (HTTP + parse + upsert + commits): {import_rate:,.0f} orders/s "
            f"({done.created} in {elapsed:.1f} s)"
        )
        print(f"upsert alone (median per page, up to its commit): {upsert_median:,.0f} orders/s")
        # Where the time goes: this process (connector, mapping, upsert's Python, the read-ahead
        # thread) and the database backend serving it are both CPU-bound and share the
        # machine's cores; either one's CPU per order bounds the rate on its own.
        per_order = 1e6 / max(1, done.created)
        print(
            f"CPU of this process: {process_cpu:.1f} s ({process_cpu * per_order:,.0f} µs/order,"
            f" at most {done.created / process_cpu:,.0f} orders/s on one core)"
        )
        if backend_before is not None and backend_after is not None:
            backend_cpu = backend_after - backend_before
            print(
                f"CPU of its PostgreSQL backend: {backend_cpu:.1f} s "
                f"({backend_cpu * per_order:,.0f} µs/order, at most "
                f"{done.created / max(backend_cpu, 1e-9):,.0f} orders/s on one core); "
                f"cores on this machine: {os.cpu_count()}"
            )
        print(
            f"statements per page (besides one COPY per table): "
            f"{statements.count / max(1, done.pages):.1f}"
        )
        if os.environ.get("BENCH_STATEMENTS") == "1":
            statements.report()

        # --- baseline: plain bulk_create of the same rows (no OMS logic) ---------------------
        from commerce.marketplaces.base import Window
        from commerce.marketplaces.ebay import EbayConnector

        other = Tenant.objects.create(slug="baseline", name="Baseline", base_currency="USD")
        products = {
            p.sku: p
            for p in Product.objects.bulk_create(
                [Product(tenant=other, sku=sku, name=sku) for sku in SKUS]
            )
        }
        base_channel = Channel.objects.create(
            tenant=other,
            code="EBAY",
            name="baseline",
            kind="ebay",
            currency="USD",
            endpoint=channel.endpoint,
            credentials=channel.credentials,
        )
        connector = EbayConnector(base_channel)
        window = Window(base - timedelta(days=1), datetime.now(UTC))
        baseline_pages = min(total // PAGE, 100)
        counter = 0
        baseline_started = time.perf_counter()
        token = None
        for _ in range(baseline_pages):
            page = connector.fetch_page(window, token)
            token = page.next_token
            with transaction.atomic():
                orders = []
                for market in page.orders:
                    counter += 1
                    orders.append(
                        Order(
                            tenant=other,
                            kind="sales",
                            reference=f"B-{counter:07d}",
                            client_order_id=f"EBAY:{market.external_id}",
                            status="open",
                        )
                    )
                Order.objects.bulk_create(orders)
                sales = [
                    SalesOrder(
                        tenant=other,
                        order=o,
                        channel=base_channel,
                        external_id=m.external_id,
                        currency="USD",
                        base_currency="USD",
                        grand_total=m.lines[0].unit_price,
                        marketplace_status=m.marketplace_status,
                        marketplace_updated_at=m.updated_at,
                        ship_city=m.ship_city,
                        ship_country=m.ship_country,
                    )
                    for o, m in zip(orders, page.orders, strict=True)
                ]
                SalesOrder.objects.bulk_create(sales)
                SalesOrderLine.objects.bulk_create(
                    [
                        SalesOrderLine(
                            tenant=other,
                            sales_order=s,
                            line_no=i,
                            product=products[ln.sku],
                            sku=ln.sku,
                            quantity=ln.quantity,
                            unit_price=ln.unit_price,
                            total=ln.quantity * ln.unit_price,
                        )
                        for s, m in zip(sales, page.orders, strict=True)
                        for i, ln in enumerate(m.lines, start=1)
                    ]
                )
        baseline_rate = counter / (time.perf_counter() - baseline_started)
        connector.close()
        print(
            f"baseline, end to end: the same pages fetched, then plain bulk_create "
            f"({baseline_pages} pages): {baseline_rate:,.0f} orders/s"
        )
        print(f"ratio import / baseline: {import_rate / baseline_rate:.2f}")

        # --- re-sync of unchanged pages ------------------------------------------------------
        written: list[Any] = [Order, OrderEvent, OrderSequence, SalesOrder, SalesOrderLine]
        written += [Payment, PaymentOperation, Invoice, InvoiceLine, DocumentSequence]
        tables = [connection.ops.quote_name(m._meta.db_table) for m in written]
        before = _xmin(tables)
        Channel.objects.for_tenant(tenant).filter(pk=channel.pk).update(
            sync_overlap_seconds=4 * 86400
        )
        timings.clear()
        again = SyncRun.objects.create(tenant=tenant, channel=channel, trigger="bench")
        t0 = time.perf_counter()
        redone = sync_run_execute(tenant_id=tenant.pk, run_id=again.pk, sleep=time.sleep)
        resync_elapsed = time.perf_counter() - t0
        after = _xmin(tables)
        assert redone is not None
        print(
            f"re-sync: created {redone.created}, updated {redone.updated}, "
            f"skipped {redone.skipped} in {resync_elapsed:.1f} s"
        )
        for (table, count_before, x_before), (_, count_after, x_after) in zip(
            before, after, strict=True
        ):
            same = "unchanged" if (count_before, x_before) == (count_after, x_after) else "CHANGED"
            print(
                f"  {table}: rows {count_before} -> {count_after}, "
                f"xmin sum {x_before} -> {x_after}: {same}"
            )
        ok = import_rate >= 5000 and before == after and redone.created == 0
        print(f"goal >= 5,000 orders/s and re-sync writes nothing: {'met' if ok else 'NOT met'}")
        record(
            scenario=f"marketplace import of {total:,} orders, end to end",
            value=import_rate,
            unit="orders/s",
            baseline=baseline_rate,
            baseline_label="the same pages fetched, then plain bulk_create of the same rows",
            goal=">= 5,000 orders/s",
            met=import_rate >= 5000,
            detail={
                "upsert_median_per_page_per_s": upsert_median,
                "seconds": elapsed,
                "process_cpu_seconds": process_cpu,
                "backend_cpu_seconds": (
                    None
                    if backend_before is None or backend_after is None
                    else backend_after - backend_before
                ),
            },
        )
        record(
            scenario="re-sync of unchanged pages",
            value=resync_elapsed,
            unit="s",
            goal="writes nothing",
            met=before == after and redone.created == 0,
            higher_is_better=False,
            detail={"created": redone.created, "updated": redone.updated},
        )
        return 0
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    sys.exit(main())
