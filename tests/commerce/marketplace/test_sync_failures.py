"""Errors that are not the marketplace's: a deterministic error fails the run with its reason
(never left running for the beat to re-run on the same page); a transient database error is
raised, the run stays resumable, and the task retries it, then fails the run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from commerce.marketplaces.ebay import EbayConnector
from commerce.models import SyncRun, SyncStatus
from commerce.services import sync
from commerce.services.sync import (
    STALE_AFTER,
    channel_sync_start,
    channels_sync_due,
    sync_run_execute,
)
from commerce.tasks import SYNC_MAX_RETRIES, channel_sync
from tests.commerce.marketplace.conftest import fill
from tests.commerce.marketplace.test_sync import counts, stored

pytestmark = pytest.mark.parametrize("market", ["ebay"], indirect=True)


@pytest.fixture(autouse=True)
def _eager_retries(monkeypatch: Any) -> None:
    """Retries run inline, as a worker would run them (failures are results, not raised)."""
    monkeypatch.setitem(channel_sync.app.conf, "task_eager_propagates", False)


def fail_on_page(monkeypatch: Any, number: int, error: Exception) -> None:
    """The connector's page ``number`` raises ``error`` (the others are read as usual)."""
    real = EbayConnector.fetch_page
    calls: list[int] = []

    def fetch_page(self: EbayConnector, window: Any, token: Any) -> Any:
        calls.append(1)
        if len(calls) == number:
            raise error
        return real(self, window, token)

    monkeypatch.setattr(EbayConnector, "fetch_page", fetch_page)


def test_an_unexpected_error_fails_the_run_with_its_reason_and_the_beat_leaves_it_alone(
    tenant: Any, products: Any, market: Any, channel: Any, monkeypatch: Any
) -> None:
    # given a bug that raises on the second page
    fill(market, 5)
    fail_on_page(monkeypatch, 2, AttributeError("'str' object has no attribute 'get'"))
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    # when the run executes
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    # then it failed with the error recorded, kept the first page, and the watermark stayed
    assert done is not None
    assert (done.status, done.pages, done.created) == (SyncStatus.FAILED, 1, 2)
    assert done.error_detail == (
        "page 2: internal error: AttributeError: 'str' object has no attribute 'get'\n"
    )
    assert done.finished_at is not None
    channel.refresh_from_db()
    assert channel.watermark is None
    # and the beat, once the run would be stale, starts a new run instead of re-running it
    later = timezone.now() + STALE_AFTER + timedelta(seconds=1)
    enqueued = channels_sync_due(tenant_id=tenant.pk, now=later)
    assert run.pk not in enqueued
    assert len(enqueued) == 1
    assert SyncRun.objects.for_tenant(tenant).get(pk=run.pk).status == SyncStatus.FAILED


def test_an_unexpected_error_starting_the_run_fails_it(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given a connector that cannot be built for a reason that is not the marketplace's
    def broken(channel: Any) -> Any:
        raise ValueError("unsupported time zone")

    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    # when the run executes
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, connector_factory=broken)
    # then it failed with the reason and nothing was read or stored
    assert done is not None
    assert (done.status, done.pages, done.error_detail) == (
        SyncStatus.FAILED,
        0,
        "internal error: ValueError: unsupported time zone\n",
    )
    assert market.list_requests() == []
    assert counts(tenant) == (0, 0, 0, 0, 0)


def test_a_transient_database_error_is_raised_and_the_run_resumes_from_its_page(
    tenant: Any, products: Any, market: Any, channel: Any, monkeypatch: Any
) -> None:
    # given the database refuses the second page's write once (a lock timeout)
    ids = fill(market, 5)
    real = sync.orders_upsert
    calls: list[int] = []

    def upsert(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("canceling statement due to lock timeout")
        return real(**kwargs)

    monkeypatch.setattr(sync, "orders_upsert", upsert)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    # when the run executes, the error is raised (for the task to retry) ...
    with pytest.raises(OperationalError):
        sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    # ... and the run is still running at its second page
    run.refresh_from_db()
    assert (run.status, run.pages, run.created, run.error_detail) == ("running", 1, 2, "")
    assert run.page_token == "2:5"
    # and the retry resumes there and completes the import
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    assert done is not None
    assert (done.status, done.created, done.errors) == (SyncStatus.DONE, 5, 0)
    assert sorted(stored(tenant, channel)) == ids


def test_the_sync_task_retries_a_transient_database_error_then_fails_the_run(
    tenant: Any, products: Any, market: Any, channel: Any, monkeypatch: Any
) -> None:
    # given the database keeps failing
    attempts: list[int] = []

    def execute(**kwargs: Any) -> Any:
        attempts.append(1)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(sync, "sync_run_execute", execute)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    # when the task runs (retries run inline here)
    result = channel_sync.apply(kwargs={"tenant_id": tenant.pk, "run_id": run.pk})
    # then it tried once plus its retries, then failed the run with the reason
    assert len(attempts) == SYNC_MAX_RETRIES + 1
    assert result.state == "FAILURE"
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert run.error_detail == (
        f"database error, {SYNC_MAX_RETRIES} retries spent: could not connect to server\n"
    )


def test_the_sync_task_completes_the_run_after_a_transient_database_error(
    tenant: Any, products: Any, market: Any, channel: Any, monkeypatch: Any
) -> None:
    # given the database fails the first attempt only
    ids = fill(market, 3)
    real = sync.sync_run_execute
    attempts: list[int] = []

    def execute(**kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs, sleep=lambda s: None)

    monkeypatch.setattr(sync, "sync_run_execute", execute)
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    # when the task runs
    result = channel_sync.apply(kwargs={"tenant_id": tenant.pk, "run_id": run.pk})
    # then the retry completed the run
    assert (len(attempts), result.state, result.result) == (2, "SUCCESS", "done")
    assert sorted(stored(tenant, channel)) == ids
