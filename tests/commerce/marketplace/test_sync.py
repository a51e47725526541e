"""Sync runs of every connector against its local marketplace server (tests/.../servers.py)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.marketplaces.amazon import AmazonConnector
from commerce.models import (
    Payment,
    PaymentOperation,
    PaymentStatus,
    SalesOrder,
    SalesOrderLine,
    SyncRun,
    SyncStatus,
)
from commerce.services.sync import channel_sync_start, sync_run_execute
from orders.models import EventKind, Order, OrderEvent, OrderStatus
from tests.commerce.marketplace.conftest import ORDER_TOTAL, ago, fill, page_key


class WorkerKilled(BaseException):
    """Stands for a worker process dying mid-run (nothing after it runs)."""


def run_sync(tenant: Any, channel: Any, sleeps: Any) -> SyncRun:
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    result = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=sleeps)
    assert result is not None
    return result


def stored(tenant: Any, channel: Any) -> dict[str, SalesOrder]:
    return {
        s.external_id: s
        for s in SalesOrder.objects.for_tenant(tenant)
        .filter(channel=channel)
        .select_related("order")
    }


def counts(tenant: Any) -> tuple[int, ...]:
    return (
        Order.objects.for_tenant(tenant).count(),
        SalesOrder.objects.for_tenant(tenant).count(),
        SalesOrderLine.objects.for_tenant(tenant).count(),
        Payment.objects.for_tenant(tenant).count(),
        OrderEvent.objects.for_tenant(tenant).count(),
    )


def test_full_sync_imports_every_order_as_an_accepted_paid_sales_order(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given five open orders at the marketplace (three pages of two)
    ids = fill(market, 5)
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then every order is stored once, open, paid at the marketplace, with its lines
    assert (run.status, run.created, run.updated, run.errors, run.pages) == ("done", 5, 0, 0, 3)
    assert run.progress == 100
    assert run.finished_at is not None
    orders = stored(tenant, channel)
    assert sorted(orders) == ids
    sales = orders["1003"]
    assert sales.order.status == OrderStatus.OPEN
    assert sales.order.reference.startswith("S-")
    assert sales.grand_total == ORDER_TOTAL
    assert sales.currency == "USD"
    assert sales.payment_status == PaymentStatus.PAID
    assert sales.ship_city == "Berlin"
    assert sales.ship_latitude is not None
    lines = list(sales.lines.order_by("line_no").values_list("sku", "quantity", "unit_price"))
    assert lines == [
        ("SKU-A", Decimal("1"), Decimal("10")),
        ("SKU-B", Decimal("2"), Decimal("2.5")),
    ]
    payment = Payment.objects.for_tenant(tenant).get(sales_order=sales)
    assert (payment.method, payment.captured, payment.state) == (
        "marketplace",
        ORDER_TOTAL,
        "captured",
    )
    assert (
        PaymentOperation.objects.for_tenant(tenant).filter(payment=payment, kind="capture").count()
        == 1
    )
    # one journal row for the import: imported, submitted and screened into its final status
    events = list(sales.order.events.values_list("kind", "from_status", "to_status", "data"))
    assert [e[:3] for e in events] == [(EventKind.IMPORTED, "", "open")]
    data = events[0][3]
    assert (data["external_id"], data["reference"], data["run_id"]) == (
        "1003",
        sales.order.reference,
        run.pk,
    )
    assert data["submitted"] is True
    assert data["screening"]["outcome"] == "accept"
    assert data["payment"] == {"method": "marketplace", "captured": "15.0000", "currency": "USD"}
    # references are gapless
    refs = sorted(s.order.reference for s in orders.values())
    assert refs == [f"S-{n:06d}" for n in range(1, 6)]
    # and the watermark moved to the window's end
    channel.refresh_from_db()
    assert channel.watermark == run.window_end


def test_resync_of_unchanged_orders_creates_and_writes_nothing(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given a channel synced once
    fill(market, 4)
    run_sync(tenant, channel, sleeps)
    before = counts(tenant)
    # when it syncs again over the whole history (the overlap re-reads everything)
    channel.refresh_from_db()
    channel.sync_overlap_seconds = 5 * 3600
    channel.save()
    again = run_sync(tenant, channel, sleeps)
    # then nothing new is created or updated
    assert (again.status, again.created, again.updated, again.skipped) == ("done", 0, 0, 4)
    assert counts(tenant) == before


def test_throttled_mid_run_waits_retry_after_and_resumes_from_the_saved_page(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given the marketplace answers 429 to the second page request
    ids = fill(market, 5)
    market.fail(market.list_path, 429, headers={"Retry-After": "7"})
    market.faults[0].path_part = "__none__"  # armed below, after the first page
    market.before_list(2, lambda: setattr(market.faults[0], "path_part", market.list_path))
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then it waited as asked, fetched the same page again, and imported everything once
    assert sleeps == [7.0]
    assert (run.status, run.created, run.retries, run.errors) == ("done", 5, 1, 0)
    assert sorted(stored(tenant, channel)) == ids
    lists = market.list_requests()
    assert page_key(lists[1]) == page_key(lists[2])


def test_server_error_is_retried_with_backoff(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given the first list request fails with 500 twice
    ids = fill(market, 3)
    market.fail(market.list_path, 500, times=2)
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then it backed off 1 s then 2 s and completed
    assert sleeps == [1.0, 2.0]
    assert (run.status, run.created, run.retries) == ("done", 3, 2)
    assert sorted(stored(tenant, channel)) == ids


def test_malformed_json_fails_the_run_with_the_error_and_stores_nothing_of_that_page(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given the second page comes back as broken JSON
    fill(market, 5)
    market.fail("__armed_later__", 200, body=b'{"orders": [ {"id": ', headers={})
    market.before_list(2, lambda: setattr(market.faults[0], "path_part", market.list_path))
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then the run failed, says why, kept the first page, and the watermark did not move
    assert run.status == SyncStatus.FAILED
    assert "not JSON" in run.error_detail
    assert (run.created, run.pages) == (2, 1)
    assert len(stored(tenant, channel)) == 2
    channel.refresh_from_db()
    assert channel.watermark is None
    # and the next run reads the window again and completes the import
    market.faults.clear()
    again = run_sync(tenant, channel, sleeps)
    assert (again.status, again.created, again.skipped) == ("done", 3, 2)


def test_worker_killed_mid_run_resumes_from_the_saved_page_token(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given a run whose worker dies while waiting out a 429 on the second page
    ids = fill(market, 5)
    market.fail("__armed_later__", 429, headers={"Retry-After": "1"})
    market.before_list(2, lambda: setattr(market.faults[0], "path_part", market.list_path))

    def die(seconds: float) -> None:
        raise WorkerKilled

    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    with pytest.raises(WorkerKilled):
        sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=die)
    run.refresh_from_db()
    assert (run.status, run.pages, run.created) == ("running", 1, 2)
    assert run.page_token != ""
    calls_before = len(market.list_requests())
    # when the task is delivered again
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    # then it resumed at the saved page (not the first one) and nothing is duplicated or missing
    assert done is not None
    assert (done.status, done.created) == ("done", 5)
    resumed = market.list_requests()[calls_before]
    assert page_key(resumed) == page_key(market.list_requests()[1])
    assert sorted(stored(tenant, channel)) == ids
    # and running the finished task once more changes nothing
    again = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    assert again is not None
    assert again.created == 5
    assert len(stored(tenant, channel)) == 5


def start_with_window_ended(tenant: Any, channel: Any, *, seconds_ago: float) -> SyncRun:
    """A run whose window ended ``seconds_ago`` (a change stamped "now" by the marketplace is
    after it, whatever the marketplace's clock resolution)."""
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    end = timezone.now() - timedelta(seconds=seconds_ago)
    SyncRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        window_start=end - timedelta(days=1), window_end=end, started_at=end
    )
    return run


def change_first_read_order_now(market: Any, changed: list[str]) -> None:
    """The first order already read is canceled by its buyer: the marketplace stamps the change
    with the current time, after the run's window."""
    target = next(ids for ids in market.served if ids)[0]
    market.change(target, state="canceled", updated=timezone.now())
    changed.append(target)


def test_order_changing_between_two_pages_is_stored_once_with_its_latest_state(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any, monkeypatch: Any
) -> None:
    # given an order on the first page is canceled at the marketplace while page 2 is read
    # (stamped "now", after the window's end: it leaves the window mid-run)
    ids = fill(market, 5)
    changed: list[str] = []
    market.before_list(2, lambda: change_first_read_order_now(market, changed))
    # when a sync runs, then the next one
    run = start_with_window_ended(tenant, channel, seconds_ago=30)
    first = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=sleeps)
    assert first is not None
    # then the first run missed no order (none shifted out of its reach)
    assert (first.status, first.created, first.updated, first.errors) == ("done", 5, 0, 0)
    assert sorted(stored(tenant, channel)) == ids
    # (the next run comes later: after the second the change was stamped with, marketplaces
    # stamping to the second, and once Amazon's two settle minutes have passed)
    time.sleep(1.1)
    monkeypatch.setattr(AmazonConnector, "settle_seconds", 0)
    following = run_sync(tenant, channel, sleeps)
    # and the next run applies the change once: the order is canceled, nothing duplicated
    orders = stored(tenant, channel)
    assert sorted(orders) == ids
    target = orders[changed[0]]
    assert target.order.status == OrderStatus.CANCELED
    assert (following.status, following.created, following.updated) == ("done", 0, 1)
    events = list(target.order.events.values_list("kind", flat=True))
    assert events[-2:] == [EventKind.MARKETPLACE_UPDATED, EventKind.CANCELED]


def test_unknown_sku_is_an_error_with_detail_and_the_rest_is_imported(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given one order with a SKU this seller does not have
    fill(market, 2)
    market.add("2001", updated=ago(60), lines=[("NOPE-1", 1, "5.00")])
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then the two good orders are imported and the bad one is reported
    assert (run.status, run.created, run.errors) == ("done", 2, 1)
    assert "2001: unknown SKU 'NOPE-1'" in run.error_detail
    assert "2001" not in stored(tenant, channel)


def test_pending_and_canceled_orders_never_seen_are_skipped(
    tenant: Any, products: Any, market: Any, channel: Any, sleeps: Any
) -> None:
    # given a not-yet-paid order and an order canceled before we saw it
    market.add("3001", updated=ago(30), lines=[("SKU-A", 1, "1.00")], state="pending")
    market.add("3002", updated=ago(20), lines=[("SKU-A", 1, "1.00")], state="canceled")
    # when a sync runs
    run = run_sync(tenant, channel, sleeps)
    # then nothing is stored
    assert (run.status, run.created, run.skipped) == ("done", 0, 2)
    assert counts(tenant) == (0, 0, 0, 0, 0)


def test_a_second_start_while_a_run_is_active_returns_that_run(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    first = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    second = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    assert first.pk == second.pk
    assert SyncRun.objects.for_tenant(tenant).count() == 1
