"""An exchange simulator behind the venue adapter interface.

Liquidity is the venue's displayed quote (``trading.Quote``): a marketable child fills at the
quote price up to the displayed size, which it consumes. A non-marketable limit child rests and
fills at its limit price, up to the quoted size, when later market data moves the opposite side
to or through its limit. IOC children cancel what does not fill at once. OPG/ATC children wait
for the session's opening/closing auction and fill there at the auction price (if within their
limit; otherwise they are canceled). At the close, DAY children expire, and so do GTD children
whose time has come; every other child still working (GTC, GTD) is reported done for the day
(FIX ExecType DoneForDay) and rests. At the next open, before the opening auction and before
anything trades, the venue restates each of them (ExecType Restated, GT renewal) and they work
again. The parent's reports follow the FIX Appendix D scenario "GTC order partially filled,
restated (renewed) and partially filled the following day": see ``trading.services.lifecycle``.

While the venue's session is closed (``Venue.session_is_open``), nothing trades: a limit child
is acknowledged and rests, a market child is rejected ("Session closed."), and market data
fills nothing; at the open, after the opening auction, resting children are matched against
the current quotes.

Reports go straight to ``venue_report_apply``, as a FIX session would deliver them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from trading.models import Quote, Side, TimeInForce, Venue, VenueOrder, VenueOrderState
from trading.models.orders import VENUE_ORDER_LIVE
from trading.venues.base import ReportKind, VenueReport, adapter_register

BPS = Decimal(10000)
WORKING = (VenueOrderState.NEW, VenueOrderState.PARTIALLY_FILLED)
GOOD_TILL = (TimeInForce.GTC, TimeInForce.GTD)


def _deliver(report: VenueReport) -> None:
    from trading.services.venue_reports import venue_report_apply

    venue_report_apply(report)


def _leaves(child: VenueOrder) -> Decimal:
    return child.quantity - child.cum_qty


@contextmanager
def _child_locked(tenant_id: int, pk: int) -> Iterator[VenueOrder | None]:
    """One transaction per child: the parent locked first (the trading lock order), then the
    child, both in hand for the reports; None when it is no longer live."""
    from trading.services.venue_reports import child_locked_in_hand

    with child_locked_in_hand(tenant_id=tenant_id, venue_order_id=pk) as child:
        yield child if child is not None and child.state in VENUE_ORDER_LIVE else None


def _refresh(child: VenueOrder) -> VenueOrder:
    """The child as the OMS has it after the reports just delivered."""
    from trading.services.venue_reports import child_current

    return child_current(child)


class SimulatedVenue:
    # Reports are delivered on the caller's thread, inside its transaction (base.py).
    sends_in_transaction = True

    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    # --- adapter interface ---------------------------------------------------------------

    def send(self, child: VenueOrder) -> None:
        if not self.venue.session_is_open and not child.auction and child.limit_price is None:
            self._report(child, ReportKind.REJECTED, text="Session closed.")
            return
        self._report(child, ReportKind.ACK, venue_order_id=f"{self.venue.code}-{child.pk}")
        if child.auction or not self.venue.session_is_open:
            return  # waits for the session event
        child = _refresh(child)
        self._match(child, taker=True, all_or_none=child.time_in_force == TimeInForce.FOK)
        child = _refresh(child)
        if child.state in VENUE_ORDER_LIVE and (
            child.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) or child.limit_price is None
        ):
            self._report(child, ReportKind.CANCELED, text="Immediate order: remainder canceled.")

    def cancel(self, child: VenueOrder) -> None:
        child = _refresh(child)
        if child.state in VENUE_ORDER_LIVE:
            self._report(child, ReportKind.CANCELED, text="Canceled on request.")
        else:
            self._report(child, ReportKind.CANCEL_REJECTED, text="Too late to cancel.")

    def replace(self, child: VenueOrder, quantity: Decimal, limit_price: Decimal | None) -> None:
        child = _refresh(child)
        if child.state not in VENUE_ORDER_LIVE:
            self._report(child, ReportKind.REPLACE_REJECTED, text="Too late to replace.")
            return
        self._report(child, ReportKind.REPLACED)
        child = _refresh(child)
        if (
            self.venue.session_is_open
            and child.state in VENUE_ORDER_LIVE
            and child.state != VenueOrderState.DONE_FOR_DAY  # trades once restated
            and not child.auction
        ):
            self._match(child, taker=True)

    # --- the exchange side ---------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Market data moved: fill resting children that the opposite side now reaches."""
        if self.venue.session_is_open:
            self._match_resting(instrument_id=quote.instrument_id)

    def _match_resting(self, *, instrument_id: int | None = None) -> None:
        resting = (
            VenueOrder.objects.for_tenant(self.venue.tenant_id)
            .filter(venue=self.venue, state__in=VENUE_ORDER_LIVE, auction=False)
            .exclude(state=VenueOrderState.DONE_FOR_DAY)  # trades once restated, not before
        )
        if instrument_id is not None:
            resting = resting.filter(order__instrument_id=instrument_id)
        pks = resting.exclude(sent_at=None).order_by("pk").values_list("pk", flat=True)
        for pk in list(pks):
            with _child_locked(self.venue.tenant_id, pk) as child:
                if child is not None and child.state != VenueOrderState.DONE_FOR_DAY:
                    self._match(child, taker=False)

    def session(
        self,
        event: str,
        price: Decimal | None = None,
        prices: dict[int, Decimal] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Opening / closing auction at the instrument's price in ``prices`` (by instrument
        id), else ``price``, else the instrument's last price on this venue. At the close, DAY
        children and GTD children due by ``now`` expire, and the other working children are
        done for the day; at the open, those are restated first, then resting children meet
        the current quotes."""
        prices = prices or {}
        if event == "open":
            self._restate()
        tif = TimeInForce.OPG if event == "open" else TimeInForce.ATC
        waiting = (
            VenueOrder.objects.for_tenant(self.venue.tenant_id)
            .filter(venue=self.venue, state__in=VENUE_ORDER_LIVE, time_in_force=tif)
            .exclude(sent_at=None)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for pk in list(waiting):
            with _child_locked(self.venue.tenant_id, pk) as child:
                if child is None:
                    continue
                auction_px = prices.get(child.order.instrument_id, price)
                if auction_px is None:
                    auction_px = self._last(child)
                if auction_px is not None and _within(child.side, auction_px, child.limit_price):
                    self._fill(child, _leaves(child), auction_px, liquidity="auction")
                else:
                    self._report(child, ReportKind.CANCELED, text="Not executed in the auction.")
        if event == "close":
            day = (
                VenueOrder.objects.for_tenant(self.venue.tenant_id)
                .filter(venue=self.venue, state__in=VENUE_ORDER_LIVE, time_in_force=TimeInForce.DAY)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for pk in list(day):
                with _child_locked(self.venue.tenant_id, pk) as child:
                    if child is not None:
                        self._report(child, ReportKind.EXPIRED, text="Day order expired.")
            self.expire_due(now or timezone.now())
            self._done_for_day()
        else:
            self._match_resting()

    def _done_for_day(self) -> None:
        """The close: every GTC / GTD child still working here is done for the day."""
        working = (
            VenueOrder.objects.for_tenant(self.venue.tenant_id)
            .filter(venue=self.venue, state__in=WORKING, time_in_force__in=GOOD_TILL)
            .exclude(sent_at=None)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for pk in list(working):
            with _child_locked(self.venue.tenant_id, pk) as child:
                if child is not None and child.state in WORKING:
                    self._report(
                        child, ReportKind.DONE_FOR_DAY, text="Done for day: the session closed."
                    )

    def _restate(self) -> None:
        """The open: every child done for the day here is renewed (FIX ExecType Restated,
        ExecRestatementReason GT renewal/restatement) and works again."""
        resting = (
            VenueOrder.objects.for_tenant(self.venue.tenant_id)
            .filter(venue=self.venue, state=VenueOrderState.DONE_FOR_DAY)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for pk in list(resting):
            with _child_locked(self.venue.tenant_id, pk) as child:
                if child is not None and child.state == VenueOrderState.DONE_FOR_DAY:
                    self._report(child, ReportKind.RESTATED)

    def _last(self, child: VenueOrder) -> Decimal | None:
        last: Decimal | None = (
            Quote.objects.for_tenant(child.tenant_id)
            .filter(venue=self.venue, instrument_id=child.order.instrument_id)
            .values_list("last", flat=True)
            .first()
        )
        return last

    def expire_due(self, now: datetime) -> None:
        """GTD children whose parent's expiry has passed."""
        due = (
            VenueOrder.objects.for_tenant(self.venue.tenant_id)
            .filter(
                venue=self.venue,
                state__in=VENUE_ORDER_LIVE,
                time_in_force=TimeInForce.GTD,
                order__order__expires_at__lte=now,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for pk in list(due):
            with _child_locked(self.venue.tenant_id, pk) as child:
                if child is not None:
                    self._report(child, ReportKind.EXPIRED, text="Good-till-date order expired.")

    # --- internals -------------------------------------------------------------------------

    def _match(self, child: VenueOrder, *, taker: bool, all_or_none: bool = False) -> None:
        """Fill what the displayed quote allows; ``all_or_none`` (FOK): all of it or nothing."""
        quote = (
            Quote.objects.for_tenant(child.tenant_id)
            .select_for_update()
            .filter(venue=self.venue, instrument_id=child.order.instrument_id)
            .first()
        )
        if quote is None:
            return
        buy = child.side == Side.BUY
        price, size = (quote.ask, quote.ask_size) if buy else (quote.bid, quote.bid_size)
        if price is None or size <= 0 or not _within(child.side, price, child.limit_price):
            return
        lot = child.order.instrument.lot_size
        qty = (min(size, _leaves(child)) / lot).to_integral_value(rounding=ROUND_DOWN) * lot
        if qty <= 0 or (all_or_none and qty < _leaves(child)):
            return
        size_field = "ask_size" if buy else "bid_size"
        Quote.objects.for_tenant(child.tenant_id).filter(pk=quote.pk).update(
            **{size_field: F(size_field) - qty}
        )
        fill_px = price if taker or child.limit_price is None else child.limit_price
        self._fill(child, qty, fill_px, liquidity="removed" if taker else "added")

    def _fill(self, child: VenueOrder, qty: Decimal, price: Decimal, *, liquidity: str) -> None:
        instrument = child.order.instrument
        bps = self.venue.maker_fee_bps if liquidity == "added" else self.venue.taker_fee_bps
        fee = (instrument.notional(qty, price) * bps / BPS).quantize(Decimal("0.000001"))
        # Exec ids number the child's fills; a child with nothing filled has none yet.
        seq = 1 if child.cum_qty == 0 else child.executions.count() + 1
        self._report(
            child,
            ReportKind.FILL,
            exec_id=f"{self.venue.code}-{child.cl_ord_id}-{seq}",
            last_qty=qty,
            last_px=price,
            liquidity=liquidity,
            fee=fee,
        )

    def _report(self, child: VenueOrder, kind: ReportKind, **fields: Any) -> None:
        _deliver(
            VenueReport(kind=kind, tenant_id=child.tenant_id, cl_ord_id=child.cl_ord_id, **fields)
        )


def _within(side: str, price: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return price <= limit if side == Side.BUY else price >= limit


adapter_register("simulated", SimulatedVenue)
