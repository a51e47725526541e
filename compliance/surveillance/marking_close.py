"""Marking the close: an account's share of the volume in the last minutes before the close.

The close window of a venue's trading day is the ``window_minutes`` before
``Venue.session_close``, in the venue's timezone (so daylight-saving changes move it in UTC).
An account's executions in an instrument on that venue in the window are compared with the
window's volume: the larger of all the tenant's executions there and, when the instrument has
an average daily volume, the share of it a uniform day would trade in the window
(ADV x window / session length) -- the OMS does not see the market's tape, so this is its
best estimate of the market. A share above ``max_share_pct`` percent with at least
``min_quantity`` executed raises one alert per account, instrument, venue and day.
Executions without a venue (booked away) have no close and are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from compliance.models.surveillance import Detector
from compliance.surveillance import sql as q
from compliance.surveillance.base import DetectorSpec, Finding, Params, ScanWindow, dec
from trading.models import Venue

DEFAULTS = {"window_minutes": 10, "max_share_pct": 25, "min_quantity": 500}
DAY = 86400


@dataclass(frozen=True)
class CloseWindow:
    venue: Venue
    local_date: date
    start: float  # epoch seconds, inclusive
    end: float  # epoch seconds, exclusive (the close)

    @property
    def session_minutes(self) -> Decimal:
        opens = datetime.combine(self.local_date, self.venue.session_open)
        closes = datetime.combine(self.local_date, self.venue.session_close)
        return Decimal(max(int((closes - opens).total_seconds() // 60), 1))


def _windows(window: ScanWindow, minutes: int) -> list[CloseWindow]:
    """The close windows that the new executions' time span touches, per venue."""
    span = q.sql(
        """
        SELECT e.venue_id, min({ts}), max({ts}) FROM {execution} e
        WHERE e.tenant_id = %(tenant)s AND e.id > %(exec_after)s AND e.id <= %(exec_upto)s
          AND e.venue_id IS NOT NULL
        GROUP BY e.venue_id
        """,
        ts=q.epoch("e.transacted_at"),
    )
    spans = {int(v): (float(lo), float(hi)) for v, lo, hi in q.fetch(span, window.params())}
    if not spans:
        return []
    venues = Venue.objects.for_tenant(window.tenant_id).in_bulk(list(spans))
    out = []
    for venue_id, (lo, hi) in sorted(spans.items()):
        venue = venues[venue_id]
        zone = ZoneInfo(venue.timezone)
        day = datetime.fromtimestamp(lo, tz=UTC).astimezone(zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(hi, tz=UTC).astimezone(zone).date() + timedelta(days=1)
        while day <= last:
            close = datetime.combine(day, venue.session_close, tzinfo=zone)
            end = close.timestamp()
            start = (close - timedelta(minutes=minutes)).timestamp()
            if end > lo and start <= hi:
                out.append(CloseWindow(venue=venue, local_date=day, start=start, end=end))
            day += timedelta(days=1)
    return out


def detect(window: ScanWindow, params: Params) -> list[Finding]:
    minutes = int(params["window_minutes"])
    windows = _windows(window, minutes)
    if not windows:
        return []
    values: dict[str, Any] = window.params(min_qty=float(params["min_quantity"]))
    rows_sql: list[str] = []
    for wid, item in enumerate(windows):
        for day in sorted({int(item.start // DAY), int((item.end - 1e-6) // DAY)}):
            base = f"w{len(rows_sql)}"
            values.update(
                {
                    f"{base}_id": wid,
                    f"{base}_v": item.venue.pk,
                    f"{base}_d": day,
                    f"{base}_lo": item.start,
                    f"{base}_hi": item.end,
                }
            )
            rows_sql.append(
                f"(CAST(%({base}_id)s AS BIGINT), CAST(%({base}_v)s AS BIGINT), "
                f"CAST(%({base}_d)s AS BIGINT), CAST(%({base}_lo)s AS DOUBLE PRECISION), "
                f"CAST(%({base}_hi)s AS DOUBLE PRECISION))"
            )
    query = q.sql(
        """
        WITH w(wid, venue_id, d, lo, hi) AS (VALUES {rows}),
        g AS (
            SELECT w.wid, t.instrument_id, t.account_id, sum(e.last_qty) AS qty,
                   max(e.id) AS last_id, {ids} AS ids
            FROM {execution} e
            JOIN w ON e.venue_id = w.venue_id AND {e_day} = w.d
            JOIN {trade} t ON t.order_id = e.order_id
            WHERE e.tenant_id = %(tenant)s AND e.id <= %(exec_upto)s
              AND {e_ts} >= w.lo AND {e_ts} < w.hi
            GROUP BY w.wid, t.instrument_id, t.account_id
        ),
        s AS (
            SELECT g.wid, g.instrument_id, g.account_id, g.qty, g.last_id, g.ids,
                   sum(g.qty) OVER (PARTITION BY g.wid, g.instrument_id) AS total
            FROM g
        )
        SELECT s.wid, a.code, i.symbol, i.average_daily_volume, s.qty, s.total, s.ids
        FROM s
        JOIN {account} a ON a.id = s.account_id
        JOIN {instrument} i ON i.id = s.instrument_id
        WHERE s.last_id > %(exec_after)s AND s.qty >= %(min_qty)s
        """,
        rows=", ".join(rows_sql),
        ids=q.id_list("e.id"),
        e_day=q.day("e.transacted_at"),
        e_ts=q.epoch("e.transacted_at"),
    )
    limit = Decimal(str(params["max_share_pct"]))
    findings = []
    for wid, code, symbol, adv, qty, total, ids in q.fetch(query, values):
        item = windows[int(wid)]
        qty, total = dec(qty), dec(total)
        market = total
        if adv:
            market = max(total, dec(adv) * minutes / item.session_minutes)
        share = (qty / market * 100).quantize(Decimal("0.01"))
        if share <= limit:
            continue
        execution_ids = q.split_ids(ids)
        when = item.local_date.isoformat()
        findings.append(
            Finding(
                dedupe_key=f"{Detector.MARKING_CLOSE}:{code}:{symbol}:{item.venue.code}:{when}",
                title=f"Marking the close in {symbol} on {item.venue.code} {when}: {code} "
                f"did {share}% of the last {minutes} minutes' volume",
                account_codes=[code],
                order_ids=_orders_of(window.tenant_id, execution_ids),
                execution_ids=execution_ids,
                figures={
                    "instrument": symbol,
                    "venue": item.venue.code,
                    "date": when,
                    "window_start": q.at(item.start),
                    "close": q.at(item.end),
                    "account_quantity": qty,
                    "window_quantity": total,
                    "market_estimate": market.quantize(Decimal("0.0001")),
                    "share_pct": share,
                },
            )
        )
    return findings


def _orders_of(tenant_id: int, execution_ids: list[int]) -> list[int]:
    from trading.models import Execution

    orders = Execution.objects.for_tenant(tenant_id).filter(pk__in=execution_ids)
    return sorted(set(orders.values_list("order_id", flat=True)))


SPEC = DetectorSpec(
    name=Detector.MARKING_CLOSE,
    title="Marking the close",
    severity="medium",
    defaults=DEFAULTS,
    detect=detect,
)
