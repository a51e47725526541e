"""Shared drivers of the trading lifecycle tests: order entry with after-commit work run,
a scripted ("manual") venue, venue reports, market data, and invariant checks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.test import TestCase

from orders.models import TERMINAL_STATUSES, Order, OrderEvent
from orders.services import order_transition
from tenancy.models import Tenant
from trading.models import (
    Account,
    Execution,
    ExecutionReport,
    Instrument,
    Position,
    TradeOrder,
    Venue,
    VenueOrder,
)
from trading.services.entry import TradeOrderInput, trade_order_submit
from trading.services.marketdata import QuoteInput, quotes_ingest, venue_session_event
from trading.services.requests import trade_order_replace
from trading.services.venue_reports import venue_report_apply
from trading.venues import base as venue_base
from trading.venues.base import ReportKind, VenueReport

D = Decimal
_ids = itertools.count(1)


# --- running the after-commit work (routing, venue sends) ---------------------------------


@contextmanager
def after_commit() -> Iterator[None]:
    """Run what the block enqueues with ``delay_on_commit`` (routing, sends, cancels) as if
    it committed. Inside a test transaction (``db``) the callbacks are captured and executed,
    also those enqueued by the callbacks themselves; in autocommit (``transactional_db``) they
    run on the real commit anyway."""
    if connection.in_atomic_block:
        with TestCase.captureOnCommitCallbacks(using=DEFAULT_DB_ALIAS, execute=True):
            yield
    else:
        yield


# --- a venue the test scripts by hand -----------------------------------------------------


@dataclass
class ManualVenue:
    """An adapter that only records what the OMS asked: the test plays the venue."""

    sent: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    replaced: list[tuple[str, Decimal, Decimal | None]] = field(default_factory=list)

    def send(self, child: VenueOrder) -> None:
        self.sent.append(child.cl_ord_id)

    def cancel(self, child: VenueOrder) -> None:
        self.canceled.append(child.cl_ord_id)

    def replace(self, child: VenueOrder, quantity: Decimal, limit_price: Decimal | None) -> None:
        self.replaced.append((child.cl_ord_id, quantity, limit_price))


def manual_venue_install(monkeypatch: Any) -> ManualVenue:
    """Every simulated venue answers through one recording adapter for this test."""
    recorder = ManualVenue()
    monkeypatch.setitem(venue_base._factories, "simulated", lambda venue: recorder)
    return recorder


def report(
    child: VenueOrder,
    kind: ReportKind,
    *,
    qty: Decimal | str = "0",
    px: Decimal | str = "0",
    exec_id: str | None = None,
    fee: Decimal | str = "0",
    text: str = "",
    at: datetime | None = None,
) -> None:
    """Deliver one venue report about ``child``, as a FIX session would."""
    fields: dict[str, Any] = {"last_qty": D(qty), "last_px": D(px), "fee": D(fee), "text": text}
    if at is not None:
        fields["transacted_at"] = at
    if kind == ReportKind.FILL:
        fields["exec_id"] = exec_id or f"X-{child.cl_ord_id}-{next(_ids)}"
    if kind == ReportKind.ACK:
        fields["venue_order_id"] = f"V-{child.cl_ord_id}"
    with after_commit():
        venue_report_apply(
            VenueReport(kind=kind, tenant_id=child.tenant_id, cl_ord_id=child.cl_ord_id, **fields)
        )


def fill(
    child: VenueOrder,
    qty: str,
    px: str,
    exec_id: str | None = None,
    *,
    fee: str = "0",
    at: datetime | None = None,
) -> None:
    report(child, ReportKind.FILL, qty=qty, px=px, exec_id=exec_id, fee=fee, at=at)


# --- entering and working orders ------------------------------------------------------------


def enter(
    *,
    tenant: Tenant,
    actor: Any,
    account: Account,
    instrument: Instrument,
    side: str = "buy",
    quantity: str = "100",
    order_type: str = "limit",
    time_in_force: str = "day",
    client_order_id: str | None = None,
    **extra: Any,
) -> TradeOrder:
    """Enter an order through the service and run its routing and venue sends."""
    for name in ("limit_price", "stop_price", "trail_amount", "trail_percent"):
        if isinstance(extra.get(name), str):
            extra[name] = D(extra[name])
    data = TradeOrderInput(
        client_order_id=client_order_id or f"c-{next(_ids)}",
        account=account,
        instrument=instrument,
        side=side,
        quantity=D(quantity),
        order_type=order_type,
        time_in_force=time_in_force,
        **extra,
    )
    with after_commit():
        created = trade_order_submit(tenant=tenant, actor=actor, data=data)
    return trade_of(created.order)


def cancel(trade: TradeOrder, actor: Any, reason: str = "") -> None:
    with after_commit():
        order_transition(
            tenant=trade.order.tenant,
            order_id=trade.pk,
            transition="cancel",
            actor=actor,
            reason=reason,
        )


def replace(trade: TradeOrder, actor: Any, **changes: Any) -> None:
    values = {k: None if v is None else D(v) for k, v in changes.items()}
    with after_commit():
        trade_order_replace(tenant=trade.order.tenant, order_id=trade.pk, actor=actor, **values)


def quotes(tenant: Tenant, *rows: dict[str, Any]) -> None:
    """Feed market data: each row names venue, instrument and any of bid/ask/sizes/last."""
    inputs = []
    for row in rows:
        values = {k: row.get(k) for k in ("bid", "bid_size", "ask", "ask_size", "last")}
        inputs.append(
            QuoteInput(
                venue=row["venue"],
                instrument=row["instrument"],
                bid=None if values["bid"] is None else D(values["bid"]),
                bid_size=D(values["bid_size"] or "0"),
                ask=None if values["ask"] is None else D(values["ask"]),
                ask_size=D(values["ask_size"] or "0"),
                last=None if values["last"] is None else D(values["last"]),
            )
        )
    with after_commit():
        quotes_ingest(tenant=tenant, quotes=inputs)


def session(venue: Venue, event: str, price: str) -> None:
    with after_commit():
        venue_session_event(venue=venue, event=event, price=D(price))


# --- reading back -----------------------------------------------------------------------------


def trade_of(order: Order | TradeOrder) -> TradeOrder:
    return (
        TradeOrder.objects.for_tenant(order.tenant_id)
        .select_related("order", "instrument", "account", "venue")
        .get(pk=order.pk)
    )


def children(trade: TradeOrder) -> list[VenueOrder]:
    return list(
        VenueOrder.objects.for_tenant(trade.tenant_id)
        .filter(order_id=trade.pk)
        .select_related("venue")
        .order_by("pk")
    )


def child_rows(trade: TradeOrder) -> list[tuple[str, Decimal, Decimal | None, str, str, Decimal]]:
    """(venue, quantity, limit, tif, state, cum) of each child, in creation order."""
    return [
        (c.venue.code, c.quantity, c.limit_price, c.time_in_force, c.state, c.cum_qty)
        for c in children(trade)
    ]


Row = tuple[str, str, Decimal, Decimal, Decimal, Decimal, Decimal]


def fix_rows(trade: TradeOrder) -> list[Row]:
    """(ExecType, OrdStatus, OrderQty, CumQty, LeavesQty, LastQty, AvgPx) of every report."""
    return [
        (
            fix["ExecType"],
            fix["OrdStatus"],
            r.order_qty,
            fix["CumQty"],
            fix["LeavesQty"],
            fix["LastQty"],
            fix["AvgPx"],
        )
        for r in ExecutionReport.objects.for_tenant(trade.tenant_id)
        .filter(order_id=trade.pk)
        .order_by("pk")
        for fix in [r.as_fix()]
    ]


def rows(*table: tuple[str, str, str, str, str, str, str]) -> list[Row]:
    """Expected reports written as strings: ("Trade", "PartiallyFilled", "100", ...)."""
    return [(t, s, D(q), D(c), D(lv), D(lq), D(px)) for t, s, q, c, lv, lq, px in table]


def trade_snapshot(trade: TradeOrder) -> dict[str, Any]:
    """Everything a refused request must leave untouched on one trade order."""
    fresh = trade_of(trade)
    tenant_id = trade.tenant_id
    return {
        "status": fresh.order.status,
        "updated_at": fresh.order.updated_at,
        "trade": {f.attname: getattr(fresh, f.attname) for f in TradeOrder._meta.concrete_fields},
        "children": list(
            VenueOrder.objects.for_tenant(tenant_id).filter(order_id=trade.pk).values()
        ),
        "reports": list(
            ExecutionReport.objects.for_tenant(tenant_id)
            .filter(order_id=trade.pk)
            .values_list("pk", flat=True)
        ),
        "events": list(
            OrderEvent.objects.for_tenant(tenant_id)
            .filter(order_id=trade.pk)
            .values_list("pk", flat=True)
        ),
    }


def quantize_px(value: Decimal) -> Decimal:
    return value.quantize(D("0.00000001"), rounding=ROUND_HALF_EVEN)


def assert_invariants(trade: TradeOrder) -> None:
    """cum + leaves == qty while live, leaves 0 once terminal, avg_px from the executions,
    every execution reported once, no overfill, and children consistent with the parent."""
    fresh = trade_of(trade)
    executions = list(Execution.objects.for_tenant(trade.tenant_id).filter(order_id=trade.pk))
    cum = sum((e.last_qty for e in executions), D(0))
    assert fresh.cum_qty == cum
    assert fresh.cum_qty <= fresh.quantity
    if fresh.order.status in TERMINAL_STATUSES:
        assert fresh.leaves_qty == 0
    else:
        assert fresh.cum_qty + fresh.leaves_qty == fresh.quantity
    if cum:
        value = sum((e.last_qty * e.last_px for e in executions), D(0))
        assert fresh.avg_px == quantize_px(value / cum)
    else:
        assert fresh.avg_px == 0
    reported = ExecutionReport.objects.for_tenant(trade.tenant_id).filter(
        order_id=trade.pk, execution__isnull=False
    )
    assert sorted(reported.values_list("execution_id", flat=True)) == sorted(
        e.pk for e in executions
    )
    for child in children(fresh):
        child_cum = sum((e.last_qty for e in executions if e.venue_order_id == child.pk), D(0))
        assert child.cum_qty == child_cum
        assert child.cum_qty <= child.quantity


@dataclass
class Desk:
    """One tenant's trading desk: a trader, an account, an equity and a simulated venue."""

    tenant: Tenant
    trader: Any
    account: Account
    instrument: Instrument
    venue: Venue

    def order(self, **kwargs: Any) -> TradeOrder:
        kwargs.setdefault("account", self.account)
        kwargs.setdefault("instrument", self.instrument)
        return enter(tenant=self.tenant, actor=self.trader, **kwargs)

    def quote(self, *, venue: Venue | None = None, **values: Any) -> None:
        """One market data update on the desk's instrument (default: its venue)."""
        quotes(self.tenant, {"venue": venue or self.venue, "instrument": self.instrument, **values})


def desk_create(tenant: Tenant, trader: Any) -> Desk:
    from tests.trading.factories import AccountFactory, InstrumentFactory, VenueFactory

    return Desk(
        tenant=tenant,
        trader=trader,
        account=AccountFactory(tenant=tenant, code="ACC-1"),
        instrument=InstrumentFactory(tenant=tenant, symbol="ACME"),
        venue=VenueFactory(tenant=tenant, code="XA", taker_fee_bps=D("3"), maker_fee_bps=D("-1")),
    )


def position_of(account: Account, instrument: Instrument) -> Position:
    return Position.objects.for_tenant(account.tenant_id).get(
        account=account, instrument=instrument
    )
