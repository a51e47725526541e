"""Marketplace sync: import runs (watermark, paging, resumable) and shipment confirmation.

A run (:class:`SyncRun`) imports what changed at the marketplace in one window:

- Window: from the channel's watermark minus ``sync_overlap_seconds`` (so a change committed at
  the marketplace just before the previous window closed is not missed; re-reading it is free,
  see the upsert) to "now" minus the connector's settle time (Amazon refuses the last two
  minutes). A channel never synced starts ``COMMERCE_SYNC_INITIAL_DAYS`` (default 30) back.
  The window is fixed when the run starts and stored on the run.
- Paging: page by page to the end; each page is stored (``orders_upsert``) and the run's
  counters, progress and next page token are saved in the same transaction. The next page is
  fetched while the current one is stored (``commerce.marketplaces.ahead``). A worker killed
  mid-page loses only that page's uncommitted transaction; the redelivered task (late ack)
  resumes from the saved token. The watermark moves to the window's end only once the last
  page is stored.
- Throttling and server errors: HTTP 429 waits what the marketplace asked (``Retry-After`` or
  the rate-limit headers, at most ``MAX_WAIT`` s), 5xx and network errors back off
  exponentially (1, 2, 4, ... s); the same page token is fetched again. After
  ``MAX_ATTEMPTS`` failed attempts of one page the run fails (``error_detail`` says why); the
  watermark has not moved, so the next run reads the window again.
- Malformed answers (a body that is not the documented JSON, or whose envelope - the objects
  holding the order list and the paging - has the wrong shape) fail the run with the error
  recorded; nothing of that page is stored. An individual order with a bad shape (valid JSON,
  wrongly nested), an unknown SKU or a bad amount is counted in ``errors`` with its external
  id and reason; the rest of the page is stored (``commerce.marketplaces.util``).
- Unexpected errors (a bug, a value the database refuses): an error that would recur on every
  attempt must not leave the run ``running`` for the beat to re-run on the same page every
  ``STALE_AFTER``. So any exception other than a transient database error fails the run, with
  its type and message recorded in ``error_detail`` (and logged with its traceback); the
  watermark has not moved, so the next due run reads the window again. Transient database
  errors (``OperationalError``/``InterfaceError``: a lost connection, a deadlock, a
  serialization failure, a lock timeout) are raised instead: the ``channel_sync`` task retries
  them with backoff (the run resumes from its saved page), and fails the run with the reason
  once its retries are spent (:func:`sync_run_fail`). Only a run whose failure could not even
  be recorded (the database still down) is left to the beat's stale-run sweep.
- One active run per channel: starting a sync while one is queued or running returns that run.
  The beat task starts due runs and re-enqueues a running run whose heartbeat (``updated_at``)
  is older than ``STALE_AFTER`` (its worker died and the message was lost).

Shipment confirmation (:func:`fulfilment_confirm_to_marketplace`) is idempotent: the
fulfilment row is locked, a fulfilment already confirmed (``marketplace_confirmed_at`` set) or
of a channel that is not a marketplace is left alone; otherwise the connector confirms carrier,
tracking number and shipped lines, and the time is stored with a ``SHIPMENT_CONFIRMED`` journal
row in the same transaction. Each fulfilment is one package: its id is the package reference
within the order, and it "completes" the order when its shipped units and those of the order's
fulfilments already confirmed cover every line (so of several packages confirmed in any order,
exactly the last one confirmed completes it; AliExpress's ``send_type`` depends on it).
A transient marketplace failure (5xx, 429, network) is raised so
the Celery task retries with backoff; a permanent refusal (4xx) is journaled as a note on the
order and not retried (staff see why and can fix the channel, then re-run the task).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from commerce.marketplaces.ahead import ReadAhead
from commerce.marketplaces.base import (
    Connector,
    Page,
    ShipmentConfirmation,
    ShipmentLine,
    Window,
    connector_for,
)
from commerce.marketplaces.http import MarketplaceError, Throttled, Transient
from commerce.models import (
    Channel,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    SalesOrderLine,
    SyncRun,
    SyncStatus,
)
from commerce.services.fulfilment_common import fulfilment_lock
from commerce.services.marketplace_import import UpsertResult, orders_upsert
from oms_site.celery import enqueue_after_commit
from oms_site.errors import NotFound, ValidationFailed
from orders.models import EventKind
from orders.services import Actor, event_record
from tenancy.models import Tenant

CONFIRMABLE_STATES = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
#: Database errors worth retrying (the task retries them; any other error fails the run).
DB_TRANSIENT: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

logger = logging.getLogger("oms.commerce.sync")


def _completes_order(fulfilment: Fulfilment) -> bool:
    """True when this fulfilment ships the last units of its order not yet confirmed: its
    shipped units plus those of the order's fulfilments already confirmed cover every line."""
    tenant_id = fulfilment.tenant_id
    shipped = dict(
        FulfilmentLine.objects.for_tenant(tenant_id)
        .filter(fulfilment__sales_order_id=fulfilment.sales_order_id)
        .filter(Q(fulfilment=fulfilment) | Q(fulfilment__marketplace_confirmed_at__isnull=False))
        .order_by()
        .values("line_id")
        .annotate(units=Sum("shipped_quantity"))
        .values_list("line_id", "units")
    )
    lines = SalesOrderLine.objects.for_tenant(tenant_id).filter(
        sales_order_id=fulfilment.sales_order_id
    )
    return all(
        (shipped.get(pk) or Decimal("0")) >= quantity
        for pk, quantity in lines.values_list("pk", "quantity")
    )


@transaction.atomic
def fulfilment_confirm_to_marketplace(
    *, tenant: Tenant | int, fulfilment_id: int, actor: Actor = None
) -> bool:
    """Confirm one shipped fulfilment to its marketplace; True if a confirmation was sent.

    Locks its order as every commerce writer does (``commerce.services.locks``: the order and
    sales order rows, then the fulfilment), so the confirmation's journal row never waits on a
    writer of the same order that waits on this fulfilment."""
    try:
        fulfilment, _, sales = fulfilment_lock(tenant=tenant, fulfilment_id=fulfilment_id)
    except NotFound:
        return False
    if fulfilment.marketplace_confirmed_at is not None:
        return False
    channel = sales.channel
    if not channel.is_marketplace or fulfilment.state not in CONFIRMABLE_STATES:
        return False
    lines = tuple(
        ShipmentLine(external_line_id=fl.line.external_line_id, sku=fl.line.sku, quantity=qty)
        for fl in FulfilmentLine.objects.for_tenant(fulfilment.tenant_id)
        .filter(fulfilment=fulfilment)
        .select_related("line")
        .order_by("line__line_no")
        if (qty := fl.shipped_quantity) > 0
    )
    confirmation = ShipmentConfirmation(
        external_id=sales.external_id,
        carrier=fulfilment.carrier,
        tracking_number=fulfilment.tracking_number,
        shipped_at=fulfilment.shipped_at or timezone.now(),
        lines=lines,
        package_id=str(fulfilment.pk),
        completes_order=_completes_order(fulfilment),
        marketplace_id=channel.marketplace_id,
    )
    connector = connector_for(channel)
    try:
        connector.confirm_shipment(confirmation)
    except Transient:
        raise
    except MarketplaceError as exc:
        event_record(
            order=sales.order,
            kind=EventKind.NOTE,
            actor=actor,
            reason=f"Shipment confirmation refused by {channel.kind}: {exc}"[:500],
            data={"fulfilment_id": fulfilment.pk, "channel": channel.code},
        )
        return False
    finally:
        connector.close()
    fulfilment.marketplace_confirmed_at = timezone.now()
    fulfilment.save(update_fields=["marketplace_confirmed_at", "updated_at"])
    event_record(
        order=sales.order,
        kind=EventKind.SHIPMENT_CONFIRMED,
        actor=actor,
        data={
            "fulfilment_id": fulfilment.pk,
            "channel": channel.code,
            "carrier": fulfilment.carrier,
            "tracking_number": fulfilment.tracking_number,
            "lines": [
                {"sku": line.sku, "line_id": line.external_line_id, "quantity": str(line.quantity)}
                for line in lines
            ],
        },
    )
    return True


# --- sync runs ----------------------------------------------------------------------------------

MAX_ATTEMPTS = 6
MAX_WAIT = 300.0
STALE_AFTER = timedelta(minutes=15)
ERROR_DETAIL_LIMIT = 20000
ACTIVE = (SyncStatus.QUEUED, SyncStatus.RUNNING)

Sleep = Callable[[float], None]


def _sync_task() -> object:
    from commerce.tasks import channel_sync

    return channel_sync


@transaction.atomic
def channel_sync_start(
    *, tenant: Tenant, channel_id: int, actor: Actor = None, trigger: str = "manual"
) -> SyncRun:
    """Queue a sync run of the channel (or return the one already queued or running)."""
    channel = Channel.objects.for_tenant(tenant).select_for_update().filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found.")
    if not channel.is_marketplace:
        raise ValidationFailed(errors={"channel": [f"A {channel.kind} channel does not sync."]})
    if not channel.active or not channel.endpoint:
        raise ValidationFailed(errors={"channel": ["The channel is inactive or has no endpoint."]})
    active = SyncRun.objects.for_tenant(tenant).filter(channel=channel, status__in=ACTIVE).first()
    if active is not None:
        return active
    run = SyncRun.objects.create(tenant=tenant, channel=channel, trigger=trigger)
    enqueue_after_commit(_sync_task(), tenant_id=tenant.pk, run_id=run.pk)
    return run


def _window(channel: Channel, connector: Connector, now: datetime) -> Window:
    end = now - timedelta(seconds=connector.settle_seconds)
    if channel.watermark is not None:
        start = channel.watermark - timedelta(seconds=channel.sync_overlap_seconds)
    else:
        start = now - timedelta(days=getattr(settings, "COMMERCE_SYNC_INITIAL_DAYS", 30))
    return Window(start=min(start, end), end=end)


def _record_errors(run: SyncRun, errors: list[tuple[str, str]]) -> None:
    if not errors:
        return
    run.errors += len(errors)
    lines = "".join(f"{external_id}: {why}\n" for external_id, why in errors)
    run.error_detail = (run.error_detail + lines)[:ERROR_DETAIL_LIMIT]


def _fail(run: SyncRun, message: str) -> SyncRun:
    with transaction.atomic():
        locked = SyncRun.objects.for_tenant(run.tenant_id).select_for_update().get(pk=run.pk)
        locked.status = SyncStatus.FAILED
        locked.finished_at = timezone.now()
        locked.error_detail = (locked.error_detail + message + "\n")[:ERROR_DETAIL_LIMIT]
        locked.save(update_fields=["status", "finished_at", "error_detail", "updated_at"])
    return locked


def sync_run_fail(*, tenant_id: int, run_id: int, reason: str) -> SyncRun | None:
    """Fail an active run with ``reason`` (a finished or missing run is left as is)."""
    run = SyncRun.objects.for_tenant(tenant_id).filter(pk=run_id, status__in=ACTIVE).first()
    return _fail(run, reason) if run is not None else None


def _unexpected(exc: Exception, run_id: int) -> str:
    logger.exception("sync run %s failed", run_id, extra={"run_id": run_id})
    return f"internal error: {type(exc).__name__}: {exc}"


def _begin(
    *, tenant_id: int, run_id: int, connector_factory: Callable[[Channel], Connector]
) -> tuple[SyncRun, Connector] | None:
    with transaction.atomic():
        run = (
            SyncRun.objects.for_tenant(tenant_id)
            .select_for_update(of=("self",))
            .select_related("channel", "tenant")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status not in ACTIVE:
            return None
        connector = connector_factory(run.channel)
        if run.window_end is None:
            window = _window(run.channel, connector, timezone.now())
            run.window_start, run.window_end = window.start, window.end
            run.started_at = timezone.now()
        run.status = SyncStatus.RUNNING
        run.save()
    return run, connector


def _fetch(
    connector: Connector,
    window: Window,
    token: str | None,
    run: SyncRun,
    sleep: Sleep,
    ahead: ReadAhead | None = None,
) -> Page:
    """One page, retried on 429 / 5xx / network errors (the same token again). A page read
    ahead (``commerce.marketplaces.ahead``) counts as the first attempt, whatever its outcome."""
    first = ahead.take(token) if ahead is not None else None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            if attempt == 1 and first is not None:
                if isinstance(first, BaseException):
                    raise first
                return first
            return connector.fetch_page(window, token)
        except Throttled as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            wait = min(MAX_WAIT, exc.retry_after)
        except Transient:
            if attempt == MAX_ATTEMPTS:
                raise
            wait = min(MAX_WAIT, float(2 ** (attempt - 1)))
        SyncRun.objects.for_tenant(run.tenant_id).filter(pk=run.pk).update(
            retries=run.retries + 1, updated_at=timezone.now()
        )
        run.retries += 1
        sleep(wait)
    raise AssertionError("unreachable")


def _progress(run: SyncRun, page: Page) -> int:
    if page.next_token is None:
        return 100
    if page.total:
        run.total_expected = page.total
    if run.total_expected:
        return min(99, run.page_offset * 100 // run.total_expected)
    assert run.window_start is not None
    assert run.window_end is not None
    span = (run.window_end - run.window_start).total_seconds() or 1.0
    latest = max((o.updated_at for o in page.orders), default=run.window_start)
    covered = (min(latest, run.window_end) - run.window_start).total_seconds()
    return max(run.progress, min(95, int(covered * 100 // span)))


def _store_page(*, run: SyncRun, token: str | None, page: Page) -> SyncRun | None:
    """Store one fetched page and advance the run, atomically; None if another worker moved
    the run on meanwhile (its token differs): this worker stops."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                locked = (
                    SyncRun.objects.for_tenant(run.tenant_id)
                    .select_for_update(of=("self",))
                    .select_related("channel", "tenant")
                    .get(pk=run.pk)
                )
                if locked.status != SyncStatus.RUNNING or (locked.page_token or None) != token:
                    return None
                result: UpsertResult = orders_upsert(
                    tenant=locked.tenant,
                    channel=locked.channel,
                    orders=page.orders,
                    run_id=locked.pk,
                )
                locked.pages += 1
                locked.page_offset += len(page.orders) + len(page.rejected)
                locked.created += result.created
                locked.updated += result.updated
                locked.skipped += result.skipped
                _record_errors(locked, [*page.rejected, *result.errors])
                locked.progress = _progress(locked, page)
                locked.page_token = page.next_token or ""
                if page.next_token is None:
                    _finish(locked)
                locked.save()
                return locked
        except IntegrityError:
            # A concurrent writer inserted one of these orders between our read and our
            # insert; the constraint refused ours. Read again: the order is now "stored".
            if attempt == 2:
                raise
    return None


def _finish(run: SyncRun) -> None:
    # NO KEY, like the page's lock (``orders_upsert``): rows referencing the channel do not
    # block it, so a webhook waiting for that lock cannot deadlock with the run's last page
    channels = Channel.objects.for_tenant(run.tenant_id).select_for_update(no_key=True)
    channel = channels.get(pk=run.channel_id)
    if run.window_end is not None and (
        channel.watermark is None or run.window_end > channel.watermark
    ):
        channel.watermark = run.window_end
        channel.save(update_fields=["watermark", "updated_at"])
    run.status = SyncStatus.DONE
    run.finished_at = timezone.now()
    run.progress = 100


def sync_run_execute(
    *,
    tenant_id: int,
    run_id: int,
    sleep: Sleep = time.sleep,
    connector_factory: Callable[[Channel], Connector] = connector_for,
) -> SyncRun | None:
    """Run (or resume) a sync run to its end; safe to call twice (a finished run is left as
    is, a running one continues from its saved page token). Transient database errors are
    raised (the task retries); any other error fails the run (see the module docstring)."""
    try:
        begun = _begin(tenant_id=tenant_id, run_id=run_id, connector_factory=connector_factory)
    except DB_TRANSIENT:
        raise
    except MarketplaceError as exc:
        return sync_run_fail(tenant_id=tenant_id, run_id=run_id, reason=str(exc))
    except Exception as exc:
        return sync_run_fail(tenant_id=tenant_id, run_id=run_id, reason=_unexpected(exc, run_id))
    if begun is None:
        return SyncRun.objects.for_tenant(tenant_id).filter(pk=run_id).first()
    run, connector = begun
    connector.sleep = sleep
    try:
        return _pages(run, connector, sleep)
    finally:
        connector.close()


def _pages(run: SyncRun, connector: Connector, sleep: Sleep) -> SyncRun:
    assert run.window_start is not None
    assert run.window_end is not None
    window = Window(start=run.window_start, end=run.window_end)
    ahead = ReadAhead(connector, window)
    try:
        while run.status == SyncStatus.RUNNING:
            token = run.page_token or None
            try:
                page = _fetch(connector, window, token, run, sleep, ahead)
                if page.next_token is not None:
                    ahead.start(page.next_token)  # fetched while this page is stored
                stored = _store_page(run=run, token=token, page=page)
            except DB_TRANSIENT:
                raise
            except MarketplaceError as exc:
                return _fail(run, f"page {run.pages + 1}: {exc}")
            except Exception as exc:
                return _fail(run, f"page {run.pages + 1}: {_unexpected(exc, run.pk)}")
            if stored is None:
                break
            run = stored
    finally:
        ahead.close()
    return run


# --- beat ---------------------------------------------------------------------------------------


def channels_sync_due(*, tenant_id: int, now: datetime | None = None) -> list[int]:
    """Start a run for each of the tenant's marketplace channels whose last run finished more
    than ``COMMERCE_SYNC_INTERVAL_SECONDS`` (default 300) ago, and re-enqueue running runs
    whose worker stopped beating. Returns the run ids enqueued."""
    from commerce.models import MARKETPLACE_KINDS

    now = now or timezone.now()
    interval = timedelta(seconds=getattr(settings, "COMMERCE_SYNC_INTERVAL_SECONDS", 300))
    enqueued: list[int] = []
    stale = SyncRun.objects.for_tenant(tenant_id).filter(
        status__in=ACTIVE, updated_at__lt=now - STALE_AFTER
    )
    for run_id in stale.values_list("pk", flat=True):
        SyncRun.objects.for_tenant(tenant_id).filter(pk=run_id).update(updated_at=now)
        enqueue_after_commit(_sync_task(), tenant_id=tenant_id, run_id=run_id)
        enqueued.append(run_id)
    channels = (
        Channel.objects.for_tenant(tenant_id)
        .filter(kind__in=MARKETPLACE_KINDS, active=True, sync_enabled=True)
        .exclude(endpoint="")
        .select_related("tenant")
    )
    for channel in channels:
        runs = SyncRun.objects.for_tenant(tenant_id).filter(channel=channel)
        if runs.filter(status__in=ACTIVE).exists():
            continue
        last = runs.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and last > now - interval:
            continue
        run = channel_sync_start(
            tenant=channel.tenant, channel_id=channel.pk, actor=None, trigger="beat"
        )
        enqueued.append(run.pk)
    return enqueued
