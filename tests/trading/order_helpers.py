"""Shared by the trade order API, batch, market data, session, admin blotter and feed tests:
a small market (instruments, accounts, simulated venues, quotes), order bodies, exact JSON
bodies read back from the database, and snapshots to compare around a refused request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orders.models import Order, OrderEvent, OrderSequence
from tenancy.models import Tenant
from tests.trading.factories import AccountFactory, InstrumentFactory, QuoteFactory, VenueFactory
from trading.models import (
    Account,
    Execution,
    ExecutionReport,
    Instrument,
    Quote,
    TradeOrder,
    Venue,
    VenueOrder,
)

D = Decimal
JSON = "application/json"
ORDERS = "/api/v1/trading/orders/"
BATCH = "/api/v1/trading/orders/batch/"
MARKET_DATA = "/api/v1/trading/market-data/"
GENERIC_ORDERS = "/api/v1/orders/"
NOT_FOUND = {"code": "not_found", "detail": "Not found."}
FORBIDDEN = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}
ROLE_MAY_NOT_CANCEL = {
    "code": "permission_denied",
    "detail": "Your role may not cancel or replace this order.",
}
ROLES = (
    "admin",
    "trader",
    "portfolio_manager",
    "compliance_officer",
    "operations",
    "seller",
    "viewer",
)
ENTRY_ROLES = ("admin", "trader", "portfolio_manager")
CANCEL_ROLES = (*ENTRY_ROLES, "operations")
MARKET_DATA_ROLES = ("admin", "operations")


def post(capture: Any, client: Any, url: str, body: Any = None) -> Any:
    """POST as JSON and run what the request enqueued after commit (routing, venue sends,
    venue cancels), as the workers would."""
    with capture(execute=True):
        return client.post(url, body if body is not None else {}, format="json")


def order_url(order: Any, action: str = "") -> str:
    return f"{ORDERS}{order.pk}/" + (f"{action}/" if action else "")


def session_url(code: str) -> str:
    return f"/api/v1/trading/venues/{code}/session/"


def invalid(**errors: Any) -> dict[str, Any]:
    return {"code": "invalid", "detail": "Invalid input.", "errors": errors}


def parse_error(message: str) -> dict[str, Any]:
    return {"code": "parse_error", "detail": f"JSON parse error - {message}"}


def too_late(action: str, reason: str, ord_status: str) -> dict[str, Any]:
    return {
        "code": "transition_not_allowed",
        "detail": f"Too late to {action}: the order is {reason}.",
        "ord_status": ord_status,
    }


# --- the market ---------------------------------------------------------------------------


@dataclass
class Market:
    """ACME (tick 0.01, lot 1) and BOND (tick 0.05, lot 10, percent of par) traded on two
    simulated venues; accounts ACC-1 and ACC-2. XA quotes ACME 99.99 x 100.01 (100 each)."""

    tenant: Tenant
    acme: Instrument
    bond: Instrument
    acc1: Account
    acc2: Account
    xa: Venue
    xb: Venue
    quote: Quote | None


def market(tenant: Tenant, *, quote: bool = True) -> Market:
    acme = InstrumentFactory(tenant=tenant, symbol="ACME", tick_size=D("0.01"), lot_size=D("1"))
    bond = InstrumentFactory(
        tenant=tenant,
        symbol="BOND",
        asset_class="bond",
        price_convention="percent_of_par",
        tick_size=D("0.05"),
        lot_size=D("10"),
    )
    acc1 = AccountFactory(tenant=tenant, code="ACC-1")
    acc2 = AccountFactory(tenant=tenant, code="ACC-2")
    xa = VenueFactory(
        tenant=tenant,
        code="XA",
        taker_fee_bps=D("3"),
        maker_fee_bps=D("-1"),
        asset_classes=["equity", "bond"],
    )
    xb = VenueFactory(tenant=tenant, code="XB", taker_fee_bps=D("2"), asset_classes=["equity"])
    quote_row = (
        QuoteFactory(
            tenant=tenant,
            venue=xa,
            instrument=acme,
            bid=D("99.99"),
            bid_size=D("100"),
            ask=D("100.01"),
            ask_size=D("100"),
            last=D("100.00"),
        )
        if quote
        else None
    )
    return Market(tenant, acme, bond, acc1, acc2, xa, xb, quote_row)


def order_body(**fields: Any) -> dict[str, Any]:
    """A valid buy limit order for 60 ACME at 99.50 (rests below the 100.01 ask)."""
    body: dict[str, Any] = {
        "client_order_id": "cl-1",
        "account": "ACC-1",
        "instrument": "ACME",
        "side": "buy",
        "quantity": "60",
        "order_type": "limit",
        "limit_price": "99.50",
        "time_in_force": "day",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def raw_body(base: dict[str, Any], name: str, literal: str) -> str:
    """``base`` as JSON with ``name`` holding a raw JSON literal (1e400, 25 digits...)."""
    return json.dumps({**base, name: "@@"}).replace('"@@"', literal)


# --- reading back ---------------------------------------------------------------------------


def iso(value: Any) -> str | None:
    """DRF's datetime rendering: ISO 8601, UTC written as Z."""
    if value is None:
        return None
    text = str(value.isoformat())
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def dec(value: Decimal | None, places: int) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"


def trade(order: Any) -> TradeOrder:
    return (
        TradeOrder.objects.for_tenant(order.tenant_id)
        .select_related("order", "account", "instrument", "venue")
        .get(pk=order.pk)
    )


def trade_by_client_id(tenant: Tenant, client_order_id: str) -> TradeOrder:
    return (
        TradeOrder.objects.for_tenant(tenant)
        .select_related("order", "account", "instrument", "venue")
        .get(order__client_order_id=client_order_id)
    )


def trade_json(order: Any) -> dict[str, Any]:
    """The exact API body of a trade order, read back from the database."""
    t = trade(order)
    return {
        "id": t.pk,
        "reference": t.order.reference,
        "client_order_id": t.order.client_order_id,
        "status": t.order.status,
        "ord_status": str(t.ord_status.label),
        "account": t.account.code,
        "instrument": t.instrument.symbol,
        "side": t.side,
        "quantity": dec(t.quantity, 6),
        "order_type": t.order_type,
        "limit_price": dec(t.limit_price, 8),
        "stop_price": dec(t.stop_price, 8),
        "trail_amount": dec(t.trail_amount, 8),
        "trail_percent": dec(t.trail_percent, 4),
        "time_in_force": t.time_in_force,
        "expire_at": iso(t.order.expires_at),
        "venue": t.venue.code if t.venue else "smart",
        "handling": t.handling,
        "cum_qty": dec(t.cum_qty, 6),
        "leaves_qty": dec(t.leaves_qty, 6),
        "avg_px": dec(t.avg_px, 8),
        "pending": t.pending,
        "triggered": t.triggered,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    }


def state(order: Any) -> tuple[str, str, Decimal, Decimal, Decimal, Decimal]:
    """(status, OrdStatus, quantity, cum, leaves, avg_px) of one trade order."""
    t = trade(order)
    return (t.order.status, str(t.ord_status.label), t.quantity, t.cum_qty, t.leaves_qty, t.avg_px)


def _plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 100.010000 -> "100.01", 0E-8 -> "0"."""
    return f"{value.normalize():f}"


def report_rows(order: Any) -> list[tuple[str, str, str, str, str, str, str]]:
    """(ExecType, OrdStatus, OrderQty, LastQty, LastPx, CumQty, LeavesQty) of every report."""
    return [
        (
            r.get_exec_type_display(),
            r.get_ord_status_display(),
            _plain(r.order_qty),
            _plain(r.last_qty),
            _plain(r.last_px),
            _plain(r.cum_qty),
            _plain(r.leaves_qty),
        )
        for r in ExecutionReport.objects.for_tenant(order.tenant_id)
        .filter(order_id=order.pk)
        .order_by("pk")
    ]


def quote_row(q: Quote | Any) -> tuple[Any, ...]:
    fresh = Quote.objects.for_tenant(q.tenant_id).select_related("venue", "instrument").get(pk=q.pk)
    return (
        fresh.venue.code,
        fresh.instrument.symbol,
        fresh.bid,
        fresh.bid_size,
        fresh.ask,
        fresh.ask_size,
        fresh.last,
    )


def quote_rows(tenant: Tenant) -> list[tuple[Any, ...]]:
    return [
        quote_row(q)
        for q in Quote.objects.for_tenant(tenant).order_by("venue__code", "instrument__symbol")
    ]


def order_snapshot(order: Any) -> dict[str, Any]:
    """Everything a refused request must leave untouched on one trade order."""
    t = trade(order)
    tenant_id = t.tenant_id
    return {
        "order": Order.objects.for_tenant(tenant_id).filter(pk=t.pk).values().get(),
        "trade": TradeOrder.objects.for_tenant(tenant_id).filter(pk=t.pk).values().get(),
        "children": list(
            VenueOrder.objects.for_tenant(tenant_id).filter(order_id=t.pk).order_by("pk").values()
        ),
        "reports": list(
            ExecutionReport.objects.for_tenant(tenant_id)
            .filter(order_id=t.pk)
            .values_list("pk", flat=True)
        ),
        "events": list(
            OrderEvent.objects.for_tenant(tenant_id)
            .filter(order_id=t.pk)
            .order_by("pk")
            .values_list("pk", "kind")
        ),
    }


def trading_snapshot(tenant: Tenant) -> dict[str, Any]:
    """Every order-side row of a tenant (and its quotes, value by value): nothing stored by a
    refused request means this is unchanged."""

    def rows(model: Any) -> list[dict[str, Any]]:
        return list(model.objects.for_tenant(tenant).order_by("pk").values())

    return {
        "orders": rows(Order),
        "trade_orders": rows(TradeOrder),
        "events": rows(OrderEvent),
        "sequences": rows(OrderSequence),
        "children": rows(VenueOrder),
        "executions": rows(Execution),
        "reports": rows(ExecutionReport),
        "quotes": rows(Quote),
    }


def counts(tenant: Tenant) -> dict[str, int]:
    return {
        "Order": Order.objects.for_tenant(tenant).count(),
        "TradeOrder": TradeOrder.objects.for_tenant(tenant).count(),
        "OrderEvent": OrderEvent.objects.for_tenant(tenant).count(),
        "Quote": Quote.objects.for_tenant(tenant).count(),
        "VenueOrder": VenueOrder.objects.for_tenant(tenant).count(),
        "ExecutionReport": ExecutionReport.objects.for_tenant(tenant).count(),
    }
