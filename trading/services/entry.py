"""Trade order entry: validate (400, nothing stored), create through the common order
service (idempotent by client order id, screened), and route after commit."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from oms_site.errors import ValidationFailed
from oms_site.rows import instances_insert
from orders.models import Order, OrderKind
from orders.selectors import order_find_by_client_id
from orders.services import EntryResult, NewOrder, OrderCreated, order_create, orders_create_many
from tenancy.models import Tenant
from trading.models import (
    Account,
    Handling,
    Instrument,
    OrderType,
    Side,
    TimeInForce,
    TradeOrder,
    Venue,
)

ZERO = Decimal("0")
# Each choice set once (``Choices.values`` builds a new list on every call).
SIDES = frozenset(Side.values)
ORDER_TYPES = frozenset(OrderType.values)
TIMES_IN_FORCE = frozenset(TimeInForce.values)
HANDLINGS = frozenset(Handling.values)


@dataclass(frozen=True)
class TradeOrderInput:
    client_order_id: str
    account: Account
    instrument: Instrument
    side: str
    quantity: Decimal
    order_type: str
    time_in_force: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    expire_at: datetime | None = None
    venue: Venue | None = None
    handling: str = Handling.AUTO
    note: str = ""

    def payload(self) -> dict[str, Any]:
        """What the idempotency check compares: references by code, values as given."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict would deep-copy
        data["account"] = self.account.code
        data["instrument"] = self.instrument.symbol
        data["venue"] = self.venue.code if self.venue else None
        return data


def _on_tick(value: Decimal, tick: Decimal) -> bool:
    return (value % tick) == 0


def trade_order_validate(data: TradeOrderInput, *, now: datetime | None = None) -> None:
    """Every rule of a well-formed order; all failures reported at once, by field."""
    errors: dict[str, list[str]] = {}

    def err(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    instrument = data.instrument
    if not instrument.active:
        err("instrument", "Instrument is not active.")
    if not data.account.active:
        err("account", "Account is not active.")
    if data.side not in SIDES:
        err("side", "Unknown side.")
    if data.order_type not in ORDER_TYPES:
        err("order_type", "Unknown order type.")
    if data.time_in_force not in TIMES_IN_FORCE:
        err("time_in_force", "Unknown time in force.")
    if data.handling not in HANDLINGS:
        err("handling", "Unknown handling.")
    if data.quantity <= 0:
        err("quantity", "Must be greater than zero.")
    elif data.quantity % instrument.lot_size != 0:
        err("quantity", f"Must be a multiple of the lot size {instrument.lot_size}.")
    for field in ("limit_price", "stop_price", "trail_amount"):
        value = getattr(data, field)
        if value is None:
            continue
        if value <= 0:
            err(field, "Must be greater than zero.")
        elif field != "trail_amount" and not _on_tick(value, instrument.tick_size):
            err(field, f"Must be on the tick size {instrument.tick_size}.")
    if data.trail_percent is not None and not (ZERO < data.trail_percent < 100):
        err("trail_percent", "Must be between 0 and 100.")
    kind = data.order_type
    needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
    if needs_limit and data.limit_price is None:
        err("limit_price", f"Required for {kind} orders.")
    if not needs_limit and data.limit_price is not None:
        err("limit_price", f"Not allowed for {kind} orders.")
    if needs_stop and data.stop_price is None:
        err("stop_price", f"Required for {kind} orders.")
    if not needs_stop and data.stop_price is not None:
        err("stop_price", f"Not allowed for {kind} orders.")
    trails = [t for t in (data.trail_amount, data.trail_percent) if t is not None]
    if kind == OrderType.TRAILING_STOP and len(trails) != 1:
        err("trail_amount", "Give exactly one of trail_amount and trail_percent.")
    if kind != OrderType.TRAILING_STOP and trails:
        err("trail_amount", "Only trailing stops take a trail.")
    tif = data.time_in_force
    now = now or timezone.now()
    if tif == TimeInForce.GTD:
        if data.expire_at is None:
            err("expire_at", "Required for good-till-date orders.")
        elif data.expire_at <= now:
            err("expire_at", "Must be in the future.")
    elif data.expire_at is not None:
        err("expire_at", "Only good-till-date orders take an expiry.")
    if kind == OrderType.MARKET and tif in (TimeInForce.GTC, TimeInForce.GTD):
        err("time_in_force", "A market order cannot rest: use day, ioc, fok, opg or atc.")
    if data.venue is not None:
        if not data.venue.active:
            err("venue", "Venue is not active.")
        elif not data.venue.trades(instrument.asset_class):
            err("venue", f"Venue {data.venue.code} does not trade {instrument.asset_class}.")
    if errors:
        raise ValidationFailed(errors=errors)


def _same_tenant(tenant: Tenant, data: TradeOrderInput) -> None:
    """References from another tenant are refused like unknown ones."""
    errors = {
        name: ["Not found."]
        for name, ref in (
            ("account", data.account),
            ("instrument", data.instrument),
            ("venue", data.venue),
        )
        if ref is not None and ref.tenant_id != tenant.pk
    }
    if errors:
        raise ValidationFailed(errors=errors)


def trade_order_submit(*, tenant: Tenant, actor: Any, data: TradeOrderInput) -> OrderCreated:
    """Enter a trade order. A replay of the same client order id answers the stored order."""
    _same_tenant(tenant, data)
    try:
        trade_order_validate(data)
    except ValidationFailed as exc:
        # A replay of an order whose expiry has since passed still answers with that order
        # (order_create decides, comparing the payloads); a new one is refused.
        if exc.errors != {"expire_at": ["Must be in the future."]} or (
            order_find_by_client_id(
                tenant=tenant, kind=OrderKind.TRADE, client_order_id=data.client_order_id
            )
            is None
        ):
            raise

    def detail_create(order: Order) -> None:
        _detail(tenant, order, data).save(force_insert=True)

    return order_create(
        tenant=tenant,
        actor=actor,
        kind=OrderKind.TRADE,
        client_order_id=data.client_order_id,
        payload=data.payload(),
        note=data.note,
        expires_at=data.expire_at,
        detail_create=detail_create,
    )


def _detail(tenant: Tenant, order: Order, data: TradeOrderInput) -> TradeOrder:
    return TradeOrder(
        tenant=tenant,
        order=order,
        account=data.account,
        instrument=data.instrument,
        side=data.side,
        quantity=data.quantity,
        order_type=data.order_type,
        limit_price=data.limit_price,
        stop_price=data.stop_price,
        trail_amount=data.trail_amount,
        trail_percent=data.trail_percent,
        time_in_force=data.time_in_force,
        venue=data.venue,
        handling=data.handling,
        leaves_qty=data.quantity,
    )


def trade_orders_submit_many(
    *, tenant: Tenant, actor: Any, items: list[TradeOrderInput]
) -> list[EntryResult]:
    """Enter a batch: each order validated and screened on its own, written set-based.

    One result per item, in order, exactly what :func:`trade_order_submit` would have
    answered for it (``OrderCreated`` or the ``ApplicationError``): a refused item leaves the
    others alone. An expired GTD replay is answered from the stored order, as on the single
    path.
    """
    results: list[EntryResult | None] = [None] * len(items)
    valid: list[int] = []
    expired: dict[int, ValidationFailed] = {}
    for index, data in enumerate(items):
        try:
            _same_tenant(tenant, data)
            trade_order_validate(data)
        except ValidationFailed as exc:
            if exc.errors != {"expire_at": ["Must be in the future."]}:
                results[index] = exc
                continue
            expired[index] = exc  # refused below unless it replays a stored order
        valid.append(index)

    def details_create(pairs: list[tuple[int, Order]]) -> None:
        instances_insert(
            TradeOrder,
            [_detail(tenant, order, items[valid[position]]) for position, order in pairs],
        )

    entered = orders_create_many(
        tenant=tenant,
        actor=actor,
        kind=OrderKind.TRADE,
        entries=[
            NewOrder(
                client_order_id=items[i].client_order_id,
                payload=items[i].payload(),
                note=items[i].note,
                expires_at=items[i].expire_at,
            )
            for i in valid
        ],
        details_create=details_create,
    )
    for index, result in zip(valid, entered, strict=True):
        refused_new = index in expired and isinstance(result, ValidationFailed)
        results[index] = expired[index] if refused_new else result
    return [r for r in results if r is not None]
