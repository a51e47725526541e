"""Market data in: quotes upserted (the simulated venues' liquidity), resting children matched
against the new quotes, stops and trailing stops checked against the last price; venue
session events (auctions, close)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from oms_site.celery import enqueue_after_commit
from orders.models import OrderStatus
from tenancy.models import Tenant
from trading.models import Instrument, OrderType, Quote, Side, TradeOrder, Venue
from trading.services import lifecycle
from trading.venues.base import adapter_for


@dataclass(frozen=True)
class QuoteInput:
    venue: Venue
    instrument: Instrument
    bid: Decimal | None
    bid_size: Decimal
    ask: Decimal | None
    ask_size: Decimal
    last: Decimal | None


def quotes_ingest(*, tenant: Tenant, quotes: list[QuoteInput]) -> int:
    """Upsert a batch of quotes (one transaction), then let venues and stops react.

    The quote rows are committed before any order is touched, so matching (which locks an
    order, then the quote) never waits on a lock this batch holds. The upsert writes one row
    per (venue, instrument), the batch's latest, in key order: concurrent batches then lock
    their rows in the same order (no deadlock), and PostgreSQL never updates a row twice in
    one statement. Stops see every last price, in batch order.
    """
    latest = {(q.venue.pk, q.instrument.pk): q for q in quotes}
    with transaction.atomic():
        rows = [
            Quote(
                tenant=tenant,
                venue=q.venue,
                instrument=q.instrument,
                bid=q.bid,
                bid_size=q.bid_size,
                ask=q.ask,
                ask_size=q.ask_size,
                last=q.last,
            )
            for _, q in sorted(latest.items())
        ]
        Quote.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["tenant", "venue", "instrument"],
            update_fields=["bid", "bid_size", "ask", "ask_size", "last", "updated_at"],
        )
    stored = {
        (q.venue_id, q.instrument_id): q
        for q in Quote.objects.for_tenant(tenant)
        .filter(
            venue__in={q.venue.pk for q in quotes}, instrument__in={q.instrument.pk for q in quotes}
        )
        .select_related("venue")
    }
    for key in latest:
        quote = stored[key]
        if quote.venue.active:
            adapter = adapter_for(quote.venue)
            on_quote = getattr(adapter, "on_quote", None)  # only venues whose book we feed
            if on_quote is not None:
                on_quote(quote)
    ticks: dict[int, list[Decimal]] = {}
    for q in quotes:
        seen = ticks.setdefault(q.instrument.pk, [])
        if q.last is not None and (not seen or seen[-1] != q.last):
            seen.append(q.last)
    for instrument_id, lasts in ticks.items():
        for last in lasts:
            stops_check(tenant_id=tenant.pk, instrument_id=instrument_id, last=last)
    return len(quotes)


def stop_level(trade: TradeOrder) -> Decimal | None:
    """The price at which the stop triggers (a trailing stop's moves with its watermark)."""
    if trade.order_type != OrderType.TRAILING_STOP:
        return trade.stop_price
    mark = trade.trail_watermark
    if mark is None:
        return None
    buy = trade.side == Side.BUY
    if trade.trail_amount is not None:
        return mark + trade.trail_amount if buy else mark - trade.trail_amount
    assert trade.trail_percent is not None
    factor = trade.trail_percent / Decimal(100)
    return mark * (1 + factor) if buy else mark * (1 - factor)


def stops_check(*, tenant_id: int, instrument_id: int, last: Decimal) -> list[int]:
    """Trail watermarks follow the last price in the favourable direction only; a stop
    triggers when the last trades at or through it (buy: at or above; sell: at or below)."""
    from trading.tasks import route_order

    waiting = list(
        TradeOrder.objects.for_tenant(tenant_id)
        .filter(
            instrument_id=instrument_id,
            triggered=False,
            order_type__in=[OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP],
            order__status__in=[OrderStatus.PENDING, OrderStatus.OPEN],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    triggered: list[int] = []
    for order_id in waiting:
        with transaction.atomic():
            trade = lifecycle.trade_lock(tenant_id=tenant_id, order_id=order_id)
            if trade.triggered or trade.order.status not in (OrderStatus.PENDING, OrderStatus.OPEN):
                continue
            buy = trade.side == Side.BUY
            if trade.order_type == OrderType.TRAILING_STOP:
                mark = trade.trail_watermark
                if mark is None or (last < mark if buy else last > mark):
                    trade.trail_watermark = last
            level = stop_level(trade)
            if level is not None and (last >= level if buy else last <= level):
                trade.triggered = True
                triggered.append(order_id)
                enqueue_after_commit(route_order, tenant_id=tenant_id, order_id=order_id)
            lifecycle.trade_save(trade)
    return triggered


def venue_session_event(
    *,
    venue: Venue,
    event: str,
    price: Decimal | None = None,
    prices: Mapping[int, Decimal] | None = None,
    now: datetime | None = None,
) -> None:
    """Drive a venue's session: ``open`` restates the orders done for the day (GT renewal) and
    runs the opening auction; ``close`` runs the closing auction, expires DAY orders and GTD
    orders due by ``now`` (default: the current time), and reports every other order still
    working there (GTC, GTD) done for the day. An instrument's auction price is its entry in
    ``prices`` (by instrument id), else ``price``, else its last price."""
    if event not in ("open", "close"):
        raise ValueError(event)
    with transaction.atomic():
        Venue.objects.for_tenant(venue.tenant_id).filter(pk=venue.pk).update(
            session_is_open=event == "open"
        )
    venue.session_is_open = event == "open"
    adapter = adapter_for(venue)
    session = getattr(adapter, "session", None)
    if session is not None:
        session(event, price, dict(prices or {}), now=now)


def venue_sessions_tick(*, tenant_id: int, now: datetime | None = None) -> list[str]:
    """Open / close each simulated venue by its own clock (the beat task calls this), after
    expiring the GTD orders due by ``now`` (an order due overnight expires; it is not restated
    at the open).

    Idempotent: a venue already in the right state is left alone.
    """
    now = now or timezone.now()
    changed: list[str] = []
    for venue in Venue.objects.for_tenant(tenant_id).filter(active=True, simulated=True):
        adapter = adapter_for(venue)
        expire_due = getattr(adapter, "expire_due", None)
        if expire_due is not None:
            expire_due(now)
        local = now.astimezone(ZoneInfo(venue.timezone))
        weekday = local.weekday() < 5
        should_be_open = weekday and venue.session_open <= local.time() < venue.session_close
        if should_be_open != venue.session_is_open:
            event = "open" if should_be_open else "close"
            venue_session_event(venue=venue, event=event, now=now)
            changed.append(f"{venue.code}:{event}")
    return changed
