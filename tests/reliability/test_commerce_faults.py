"""Fault suite, commerce side (PostgreSQL + Redis; run by .ci/run). Each test states the fault
and what must hold.

- 50 concurrent deliveries of one Shopify ``orders/create`` webhook (each with its own webhook
  id, as Shopify sends retries), 50 concurrent API submissions of one channel + external id,
  and 25 of each racing each other: exactly one order (one ``Order``, one ``SalesOrder``, one
  set of lines, one reference); every answer a success or a duplicate acknowledgement (the
  API's 409 naming the stored order when the marketplace's version came first), never a 5xx.
- A Celery worker killed (SIGKILL) in the middle of a 2,000-order marketplace sync: after a
  restart the run completes; every external id is imported exactly once, references are
  gapless, the watermark moves to the window's end, and a re-sync creates nothing.
- 200 concurrent commerce orders (API entry, each routed as soon as it commits) competing for
  scarce stock: no stock row below zero, the stock books equal the active allocations, every
  order allocated, partly allocated or backordered consistently with its allocations, and no
  stock left unallocated while an order that may split waits for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from commerce.geo import coordinates_for
from commerce.models import (
    Allocation,
    AllocationState,
    AllocationStatus,
    Payment,
    SalesOrder,
    SalesOrderLine,
    Stock,
    SyncRun,
    SyncStatus,
    WebhookEvent,
)
from commerce.services.sync import STALE_AFTER, channel_sync_start, channels_sync_due
from orders.models import EventKind, Order, OrderEvent, OrderSequence, OrderStatus
from tests.commerce.core.helpers import BERLIN, HAMBURG, MUNICH, stock_of, warehouse_in
from tests.commerce.factories import ChannelFactory, ProductFactory
from tests.commerce.marketplace.servers import FakeEbay, FakeShopify, Recorded, channel_fields
from tests.conftest import client_for, member
from tests.orders.helpers import run_in_threads
from tests.reliability.workers import (
    VISIBILITY_TIMEOUT,
    real_broker,
    wait_for,
    worker_kill,
    worker_start,
    worker_stop,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

D = Decimal
User = get_user_model()
ORDERS = "/api/v1/commerce/orders/"
PURGED = ("marketplace", "routing", "default", "surveillance")


def _fresh(user: Any) -> Any:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def seller(tenant: Any) -> Any:
    return member(tenant, "seller", username="alpha.seller")


@pytest.fixture
def products(tenant: Any) -> dict[str, Any]:
    return {sku: ProductFactory(tenant=tenant, sku=sku) for sku in ("SKU-A", "SKU-B")}


@pytest.fixture(autouse=True)
def _gazetteer_loaded() -> None:
    """Load the offline gazetteer before the threads start: its first build takes seconds of
    CPU (once per process, under a lock), which a thread holding the channel lock would
    otherwise wait for while the others queue behind it."""
    assert coordinates_for("Berlin", "DE") is not None


def _one_order_stored(tenant: Any, *, lines: int) -> SalesOrder:
    """Exactly one order of the tenant, with its detail, ``lines`` lines and one reference."""
    assert Order.objects.for_tenant(tenant).count() == 1
    sales = SalesOrder.objects.for_tenant(tenant).select_related("order").get()
    assert SalesOrderLine.objects.for_tenant(tenant).count() == lines
    assert sales.order.reference == "S-000001"
    assert list(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")) == [
        ("sales", 1)
    ]
    return sales


# --- 1. one marketplace order id submitted 50 times at once --------------------------------------


@pytest.fixture
def shopify() -> Iterator[FakeShopify]:
    fake = FakeShopify()
    fake.start()
    yield fake
    fake.stop()


def _signed(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_fifty_concurrent_deliveries_of_one_shopify_order_make_one_order(
    tenant: Any, products: Any, shopify: FakeShopify
) -> None:
    # fault: Shopify delivers the same orders/create 50 times at once (retries after timeouts:
    # each delivery has its own webhook id, so the webhook-id dedup cannot catch them)
    channel = ChannelFactory(
        tenant=tenant, code="SHOP", kind="shopify", currency="USD", **channel_fields(shopify)
    )
    order = shopify.order_json(
        "450789469",
        updated=timezone.now() - timedelta(minutes=5),
        lines=[("SKU-A", 1, "10.00"), ("SKU-B", 2, "2.50")],
    )
    body = json.dumps(order).encode()
    signature = _signed(body, FakeShopify.WEBHOOK_SECRET)
    url = f"/api/v1/commerce/webhooks/shopify/{channel.pk}/"

    def deliver(i: int) -> Any:
        return APIClient().post(
            url,
            data=body,
            content_type="application/json",
            HTTP_X_SHOPIFY_TOPIC="orders/create",
            HTTP_X_SHOPIFY_HMAC_SHA256=signature,
            HTTP_X_SHOPIFY_WEBHOOK_ID=f"b54557e4-bdd9-4b37-8a5f-bf7d70bcd0{i:02d}",
        )

    responses = run_in_threads(50, deliver)
    # holds: every delivery acknowledged (200), one of them created the order, the others
    # found it stored (skipped); exactly one order with its two lines, one payment, one journal
    # row of the import, and every delivery recorded once
    assert [r for r in responses if not hasattr(r, "status_code")] == []
    assert [r.status_code for r in responses] == [200] * 50
    outcomes = sorted((r.json()["created"], r.json()["skipped"]) for r in responses)
    assert outcomes == [(0, 1)] * 49 + [(1, 0)]
    assert {r.json()["errors"] == [] and not r.json()["duplicate"] for r in responses} == {True}
    sales = _one_order_stored(tenant, lines=2)
    assert (sales.channel_id, sales.external_id) == (channel.pk, "450789469")
    assert Payment.objects.for_tenant(tenant).count() == 1
    imported = OrderEvent.objects.for_tenant(tenant).filter(kind=EventKind.IMPORTED)
    assert imported.count() == 1
    assert WebhookEvent.objects.for_tenant(tenant).count() == 50


def test_fifty_concurrent_api_submissions_of_one_external_id_make_one_order(
    tenant: Any, products: Any, seller: Any
) -> None:
    # fault: 50 clients submit the same channel + external id at the same moment
    ChannelFactory(tenant=tenant, code="WEB", currency="USD")
    body = {
        "channel": "WEB",
        "external_id": "web-1001",
        "currency": "USD",
        "lines": [
            {"sku": "SKU-A", "quantity": "1", "unit_price": "10.00"},
            {"sku": "SKU-B", "quantity": "2", "unit_price": "2.50"},
        ],
        "shipping_address": BERLIN,
    }
    responses = run_in_threads(
        50, lambda i: client_for(_fresh(seller)).post(ORDERS, body, format="json")
    )
    # holds: one answer 201, the 49 others 200 with that same order; one order, one set of
    # lines, one reference
    assert [r for r in responses if not hasattr(r, "status_code")] == []
    assert sorted(r.status_code for r in responses) == [200] * 49 + [201]
    sales = _one_order_stored(tenant, lines=2)
    assert {r.json()["id"] for r in responses} == {sales.pk}
    assert sales.external_id == "web-1001"
    created = OrderEvent.objects.for_tenant(tenant).filter(kind=EventKind.CREATED)
    assert created.count() == 1


def test_webhooks_and_api_submissions_of_one_order_racing_make_one_order(
    tenant: Any, products: Any, seller: Any, shopify: FakeShopify
) -> None:
    # fault: the marketplace's webhook deliveries and a client's API submissions of the same
    # Shopify order (same channel, same external id) arrive at the same moment, 25 of each
    channel = ChannelFactory(
        tenant=tenant, code="SHOP", kind="shopify", currency="USD", **channel_fields(shopify)
    )
    order = shopify.order_json(
        "450789470",
        updated=timezone.now() - timedelta(minutes=5),
        lines=[("SKU-A", 1, "10.00"), ("SKU-B", 2, "2.50")],
    )
    body = json.dumps(order).encode()
    signature = _signed(body, FakeShopify.WEBHOOK_SECRET)
    url = f"/api/v1/commerce/webhooks/shopify/{channel.pk}/"
    entry = {
        "channel": "SHOP",
        "external_id": "450789470",
        "currency": "USD",
        "lines": [
            {"sku": "SKU-A", "quantity": "1", "unit_price": "10.00"},
            {"sku": "SKU-B", "quantity": "2", "unit_price": "2.50"},
        ],
        "shipping_address": BERLIN,
    }

    def submit(i: int) -> tuple[str, Any]:
        if i % 2:
            return "hook", APIClient().post(
                url,
                data=body,
                content_type="application/json",
                HTTP_X_SHOPIFY_TOPIC="orders/create",
                HTTP_X_SHOPIFY_HMAC_SHA256=signature,
                HTTP_X_SHOPIFY_WEBHOOK_ID=f"mixed-{i}",
            )
        return "api", client_for(_fresh(seller)).post(ORDERS, entry, format="json")

    results = run_in_threads(50, submit)
    # holds: one order; every webhook acknowledged (200); the API answers 201 once and 200
    # (same order) if its entry came first, else 409 naming the imported order; no 5xx
    assert [r for r in results if not isinstance(r, tuple)] == []
    sales = _one_order_stored(tenant, lines=2)
    hooks = [r.status_code for kind, r in results if kind == "hook"]
    api = sorted(r.status_code for kind, r in results if kind == "api")
    assert hooks == [200] * 25
    assert api in ([200] * 24 + [201], [409] * 25), api
    for kind, r in results:
        if kind == "api":
            assert r.json().get("id", r.json().get("order_id")) == sales.pk
    assert sales.marketplace_updated_at is not None  # the marketplace's version is stored


# --- 2. a worker killed in the middle of a marketplace sync --------------------------------------

TOTAL = 2000
PAGE = 20
PAGES = TOTAL // PAGE


class SlowEbay(FakeEbay):
    """eBay whose order list answers after ``delay`` seconds (a marketplace under load), so
    that a run takes long enough to be killed in its middle."""

    delay = 0.0

    def dispatch(self, request: Recorded) -> Any:
        if request.path == self.list_path and self.delay:
            time.sleep(self.delay)
        return super().dispatch(request)


@pytest.fixture
def ebay() -> Iterator[SlowEbay]:
    fake = SlowEbay()
    fake.page_size = PAGE
    fake.start()
    yield fake
    fake.stop()


def _run(tenant: Any, run_id: int) -> SyncRun:
    return SyncRun.objects.for_tenant(tenant).get(pk=run_id)


def _imports(tenant: Any) -> tuple[int, ...]:
    return (
        Order.objects.for_tenant(tenant).count(),
        SalesOrder.objects.for_tenant(tenant).count(),
        SalesOrderLine.objects.for_tenant(tenant).count(),
        Payment.objects.for_tenant(tenant).count(),
        OrderEvent.objects.for_tenant(tenant).filter(kind=EventKind.IMPORTED).count(),
    )


def test_a_worker_killed_mid_sync_completes_the_run_with_no_duplicate_and_no_gap(
    tenant: Any, products: Any, ebay: SlowEbay
) -> None:
    # fault: the marketplace worker is SIGKILLed while it pages through 2,000 eBay orders
    start = timezone.now() - timedelta(hours=3)
    ids = [f"27-{n:05d}-{n * 7 % 100000:05d}" for n in range(TOTAL)]
    for n, external_id in enumerate(ids):
        ebay.add(
            external_id,
            updated=start + timedelta(seconds=n),
            lines=[("SKU-A", 1, "10.00"), ("SKU-B", 2, "2.50")],
        )
    ebay.delay = 0.15
    channel = ChannelFactory(
        tenant=tenant, code="EBAY", kind="ebay", currency="USD", **channel_fields(ebay)
    )
    with real_broker(*PURGED):
        run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
        first = worker_start("sync-a", "marketplace,routing")
        try:
            wait_for(
                lambda: _run(tenant, run.pk).pages >= 10,
                timeout=120,
                what="the first worker to store some pages",
            )
        finally:
            worker_kill(first)
        at_kill = _run(tenant, run.pk)
        assert at_kill.status == SyncStatus.RUNNING
        assert 0 < at_kill.pages < PAGES, "the worker finished before it was killed"
        # a new worker takes over: the unacknowledged task comes back once the visibility
        # timeout has passed (late ack; a starting worker restores such messages at once);
        # should that message be lost, the beat's stalled-run check re-queues the run (called
        # here as the beat would, once the run is stale)
        time.sleep(VISIBILITY_TIMEOUT + 1)
        second = worker_start("sync-b", "marketplace,routing")
        try:
            resumed = _resumed(tenant, run.pk, at_kill.pages, within=20)
            if not resumed:
                later = timezone.now() + STALE_AFTER + timedelta(seconds=1)
                assert channels_sync_due(tenant_id=tenant.pk, now=later) == [run.pk]
            wait_for(
                lambda: _run(tenant, run.pk).status == SyncStatus.DONE,
                timeout=120,
                what="the sync run to finish",
            )
            time.sleep(2)  # a late duplicate delivery runs now and must change nothing
        finally:
            worker_stop(second)
    done = _run(tenant, run.pk)
    # holds: the run finished with exact counters (the killed page's work was rolled back
    # with its counters), every external id imported exactly once, references gapless
    assert (done.status, done.pages, done.created, done.errors) == ("done", PAGES, TOTAL, 0)
    stored = list(
        SalesOrder.objects.for_tenant(tenant)
        .filter(channel=channel)
        .values_list("external_id", "order__reference")
    )
    assert len(stored) == TOTAL
    assert sorted(external_id for external_id, _ in stored) == sorted(ids)
    assert sorted(reference for _, reference in stored) == [
        f"S-{n:06d}" for n in range(1, TOTAL + 1)
    ]
    assert _imports(tenant) == (TOTAL, TOTAL, 2 * TOTAL, TOTAL, TOTAL)
    channel.refresh_from_db()
    assert channel.watermark == done.window_end
    # and a re-sync over the whole history (tasks inline again) creates and changes nothing
    ebay.delay = 0.0
    channel.sync_overlap_seconds = 5 * 3600
    channel.save(update_fields=["sync_overlap_seconds"])
    before = _imports(tenant)
    again = _run(tenant, channel_sync_start(tenant=tenant, channel_id=channel.pk).pk)
    assert (again.status, again.created, again.updated, again.skipped) == ("done", 0, 0, TOTAL)
    assert _imports(tenant) == before


def _resumed(tenant: Any, run_id: int, pages_at_kill: int, *, within: float) -> bool:
    try:
        wait_for(
            lambda: _run(tenant, run_id).pages > pages_at_kill,
            timeout=within,
            what="the redelivered sync task to resume the run",
        )
    except AssertionError:
        return False
    return True


# --- 3. 200 orders competing for scarce stock ----------------------------------------------------

THREADS = 40
PER_THREAD = 5
SHIP_TO = (BERLIN, MUNICH, HAMBURG)


def _order_body(n: int) -> dict[str, Any]:
    """Four shapes, by ``n % 4``: A+B and 2xA on a channel that splits shipments, 3xB and
    A+2xB on one that does not."""
    shape = n % 4
    lines = {
        0: [("A", 1), ("B", 1)],
        1: [("A", 2)],
        2: [("B", 3)],
        3: [("A", 1), ("B", 2)],
    }[shape]
    return {
        "channel": "SPLIT" if shape < 2 else "WHOLE",
        "external_id": f"race-{n:03d}",
        "currency": "USD",
        "lines": [{"sku": sku, "quantity": str(qty), "unit_price": "10.00"} for sku, qty in lines],
        "shipping_address": SHIP_TO[n % 3],
    }


def test_two_hundred_orders_competing_for_scarce_stock_never_oversell(
    tenant: Any, seller: Any
) -> None:
    # fault: 200 orders arrive at once (40 clients, 5 each) for far less stock than they want;
    # each is routed in its own transaction right after its entry commits (the routing task,
    # inline), so entries and routings of different orders race on the same stock rows
    a, b = ProductFactory(tenant=tenant, sku="A"), ProductFactory(tenant=tenant, sku="B")
    berlin, munich = warehouse_in(tenant, "Berlin"), warehouse_in(tenant, "Munich")
    hamburg = warehouse_in(tenant, "Hamburg")
    for warehouse, on_a, on_b in ((berlin, 20, 10), (munich, 15, 10), (hamburg, 10, 0)):
        stock_of(tenant, warehouse, a, on_a)
        if on_b:
            stock_of(tenant, warehouse, b, on_b)
    ChannelFactory(tenant=tenant, code="SPLIT", currency="USD", allow_split_shipments=True)
    ChannelFactory(tenant=tenant, code="WHOLE", currency="USD", allow_split_shipments=False)

    def client(i: int) -> list[int]:
        api = client_for(_fresh(seller))
        return [
            api.post(ORDERS, _order_body(i * PER_THREAD + k), format="json").status_code
            for k in range(PER_THREAD)
        ]

    answers = run_in_threads(THREADS, client)
    # holds: every order accepted, open and routed
    assert [a for a in answers if not isinstance(a, list)] == []
    assert [code for codes in answers for code in codes] == [201] * (THREADS * PER_THREAD)
    sales = list(SalesOrder.objects.for_tenant(tenant).select_related("order", "channel"))
    assert len(sales) == THREADS * PER_THREAD
    assert {s.order.status for s in sales} == {OrderStatus.OPEN}
    _assert_stock_books(tenant)
    _assert_orders_consistent(tenant, sales)


def _assert_stock_books(tenant: Any) -> None:
    """No stock row below zero; each row's ``allocated`` equals its active allocations."""
    active: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for warehouse, product, quantity in (
        Allocation.objects.for_tenant(tenant)
        .filter(status=AllocationStatus.ACTIVE)
        .values_list("warehouse_id", "line__product_id", "quantity")
    ):
        active[warehouse, product] += quantity
    rows = list(Stock.objects.for_tenant(tenant))
    for stock in rows:
        assert stock.on_hand - stock.allocated - stock.reserved >= 0, stock
        assert stock.allocated == active.pop((stock.warehouse_id, stock.product_id), D(0))
    assert active == {}, "an allocation with no stock row behind it"
    total = Allocation.objects.for_tenant(tenant).filter(status=AllocationStatus.ACTIVE)
    assert sum(s.allocated for s in rows) == total.aggregate(q=Sum("quantity"))["q"]


def _assert_orders_consistent(tenant: Any, sales: list[SalesOrder]) -> None:
    """Every order's state follows from its allocations; a whole-shipment order sits in one
    warehouse or none; no stock is left while a splitting order is short of it."""
    allocated: dict[int, Decimal] = defaultdict(Decimal)
    sites: dict[int, set[int]] = defaultdict(set)
    for order_id, line_id, warehouse_id, quantity in (
        Allocation.objects.for_tenant(tenant)
        .filter(status=AllocationStatus.ACTIVE)
        .values_list("sales_order_id", "line_id", "warehouse_id", "quantity")
    ):
        allocated[line_id] += quantity
        sites[order_id].add(warehouse_id)
    lines: dict[int, list[SalesOrderLine]] = defaultdict(list)
    for line in SalesOrderLine.objects.for_tenant(tenant):
        lines[line.sales_order_id].append(line)
    routed = {
        (order_id, kind)
        for order_id, kind in OrderEvent.objects.for_tenant(tenant).values_list("order_id", "kind")
    }
    short: set[int] = set()  # products a splitting order still waits for
    for order in sales:
        got = [allocated[line.pk] for line in lines[order.pk]]
        wanted = [line.quantity for line in lines[order.pk]]
        assert all(D(0) <= g <= w for g, w in zip(got, wanted, strict=True)), order
        if got == wanted:
            expected = AllocationState.ALLOCATED
        elif any(got):
            expected = AllocationState.PARTIAL
        else:
            expected = AllocationState.BACKORDERED
        assert order.allocation_state == expected, (order.external_id, got, wanted)
        journaled = EventKind.ALLOCATED if expected != "backordered" else EventKind.BACKORDERED
        assert (order.pk, journaled) in routed
        if order.channel.allow_split_shipments:
            short |= {
                line.product_id for line in lines[order.pk] if allocated[line.pk] < line.quantity
            }
        else:
            assert expected != AllocationState.PARTIAL
            assert len(sites[order.pk]) == (1 if expected == AllocationState.ALLOCATED else 0)
    # demand far exceeds supply, so splitting orders are short of both products: every unit
    # of stock went to some order
    assert short == set(Stock.objects.for_tenant(tenant).values_list("product_id", flat=True))
    for stock in Stock.objects.for_tenant(tenant):
        assert stock.allocated == stock.on_hand, stock
