"""The pre-trade screening engine (trade orders) and its in-memory state.

Per tenant the process keeps two things in memory:

- the configuration (active rules compiled per scope, restricted and watch lists, engaged kill
  switches, locates, previous closes, short-sale triggers), reloaded when the tenant's version
  token (``compliance.services.rules.config_version``, one cache read per screening) changes:
  a rule, list, locate or kill-switch write is seen by the next screening;
- the book (reference prices from ``trading.Quote``, live orders, positions, cash), reloaded
  when older than ``settings.COMPLIANCE_BOOK_TTL`` seconds (default 0.5). Orders screened by
  this process since the load are added to it at once (exposure, self-match), under a lock, so
  concurrent submissions in one process cannot both use the same headroom.

Running counters (throttle per account and interval, duplicate window) live in the store of
``compliance.services.counters``: the Django cache (Redis in production: shared by every
process, ``incr`` is atomic) or this process's memory (``COMPLIANCE_COUNTERS``). So a screening
makes no query: the per-rule work is dictionary look-ups and Decimal arithmetic, and the order's
fields are read once into the evaluation context. Writes are separate:
:func:`screening_persist` stores one ``ScreeningResult`` per rule in one statement inside the
submission's transaction, and warn findings raise alerts.

Choices where the issue is silent (documented here, tested):
- reference price: the most recent ``last`` over the instrument's venues (``reference=last``)
  or the mid of the best bid and best ask across venues (``reference=mid``);
- a market order has no price to collar; it is valued at the reference price for notional,
  exposure and concentration; no reference price -> hard reject for the rules that need one;
- previous close: the latest ``InstrumentClose`` before today (tenant time zone);
- the short-sale restriction starts on the day the reference price is at or below previous
  close x (1 - fall%) (a ``ShortSaleTrigger`` row is stored then) and lasts that day and the
  next weekday; while it lasts a short sale whose limit is at or below the best bid (or a
  market short sale) is refused;
- account value = positions at reference price (average cost if none) + cash; values are not
  FX-converted (each in its own currency);
- a value exactly at a limit passes.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver

from compliance.models import (
    InstrumentClose,
    KillSwitch,
    Locate,
    RestrictedListEntry,
    Rule,
    RuleKind,
    ScreeningResult,
    ShortSaleTrigger,
    WatchListEntry,
)
from compliance.models.rules import FRAUD_KINDS
from compliance.services.counters import Count, Counters, Op, Swap, counters, counters_reset
from compliance.services.rules import config_version
from oms_site.rows import rows_insert
from orders.models import Order, OrderStatus
from orders.screening import Decision, Finding, Severity
from tenancy.models import Tenant
from trading.models import CashBalance, Instrument, Position, Quote, Side, TradeOrder

ZERO = Decimal("0")
HUNDRED = Decimal("100")
LIVE = (OrderStatus.PENDING, OrderStatus.HELD, OrderStatus.OPEN, OrderStatus.PARTIAL)
RESTING = (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIAL)
RESERVATION_SECONDS = 10.0


def _now() -> datetime:
    return datetime.now(UTC)  # ``timezone.now`` without its settings look-up (USE_TZ is on)


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _s(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    kind: str
    severity: str
    scope: str
    target: int | None
    p: dict[str, Any]
    evaluate: Callable[[Ctx, CompiledRule], Result]


@dataclass
class Config:
    token: str
    tz: ZoneInfo
    trade_rules: dict[tuple[str, int | None], list[CompiledRule]]
    sales_rules: list[CompiledRule]
    restricted_instruments: dict[int, str]
    restricted_issuers: dict[str, str]
    watch_instruments: dict[int, str]
    watch_issuers: dict[str, str]
    kill_switches: list[tuple[int, str, int | None, str]]
    locates: dict[tuple[int, int, date], Decimal]
    closes: dict[int, list[tuple[date, Decimal]]]
    triggers: dict[int, set[date]]


@dataclass
class Book:
    loaded_at: float
    quotes: dict[int, tuple[Decimal | None, Decimal | None, Decimal | None]]
    exposure: dict[int, Decimal]
    # resting orders by (instrument, beneficial owner): (order id, side, limit price)
    resting: dict[tuple[int, str], list[tuple[int, str, Decimal | None]]]
    positions: dict[int, list[tuple[int, Decimal, Decimal]]]
    cash: dict[tuple[int, str], Decimal]
    instruments: dict[int, tuple[str, str, Decimal, str]]
    seen_live: set[int]
    # orders screened in this process since the load: (order id, account, notional, time),
    # with their running sums per account and in total
    reserved: list[tuple[int, int, Decimal, float]] = field(default_factory=list)
    reserved_by_account: dict[int, Decimal] = field(default_factory=dict)
    reserved_total: Decimal = ZERO
    exposure_total: Decimal = ZERO
    holdings: dict[int, Any] = field(default_factory=dict)

    def reserve(self, order_id: int, account_id: int, notional: Decimal, at: float) -> None:
        self.reserved.append((order_id, account_id, notional, at))
        self.reserved_by_account[account_id] = (
            self.reserved_by_account.get(account_id, ZERO) + notional
        )
        self.reserved_total += notional

    def exposure_of(self, account_id: int | None) -> Decimal:
        if account_id is None:
            return self.exposure_total + self.reserved_total
        return self.exposure.get(account_id, ZERO) + self.reserved_by_account.get(account_id, ZERO)


@dataclass
class TenantState:
    config: Config
    book: Book | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_states: dict[int, TenantState] = {}
_states_lock = threading.Lock()


def _compile(rule: Rule) -> CompiledRule:
    target = {
        "account": rule.account_id,
        "instrument": rule.instrument_id,
        "trader": rule.trader_id,
    }
    p = {
        k: (_d(v) if isinstance(v, str) and k not in ("reference",) else v)
        for k, v in rule.params.items()
    }
    return CompiledRule(
        rule.pk,
        rule.name,
        rule.kind,
        rule.severity,
        rule.scope,
        target.get(rule.scope),
        p,
        EVALUATORS.get(rule.kind, _not_a_trade_rule),
    )


def _config_load(tenant_id: int, token: str) -> Config:
    tenant = Tenant.objects.get(pk=tenant_id)
    tz = ZoneInfo(tenant.timezone)
    today = _now().astimezone(tz).date()
    trade_rules: dict[tuple[str, int | None], list[CompiledRule]] = {}
    sales_rules: list[CompiledRule] = []
    for rule in Rule.objects.for_tenant(tenant_id).filter(active=True).order_by("kind", "id"):
        compiled = _compile(rule)
        if rule.kind in FRAUD_KINDS:
            sales_rules.append(compiled)
        else:
            trade_rules.setdefault((rule.scope, compiled.target), []).append(compiled)
    restricted = list(RestrictedListEntry.objects.for_tenant(tenant_id).filter(active=True))
    watched = list(WatchListEntry.objects.for_tenant(tenant_id).filter(active=True))
    closes: dict[int, list[tuple[date, Decimal]]] = {}
    for c in (
        InstrumentClose.objects.for_tenant(tenant_id)
        .filter(trade_date__gte=today - timedelta(days=10))
        .order_by("-trade_date")
    ):
        closes.setdefault(c.instrument_id, []).append((c.trade_date, c.close_price))
    triggers: dict[int, set[date]] = {}
    for t in ShortSaleTrigger.objects.for_tenant(tenant_id).filter(
        triggered_on__gte=today - timedelta(days=5)
    ):
        triggers.setdefault(t.instrument_id, set()).add(t.triggered_on)
    return Config(
        token=token,
        tz=tz,
        trade_rules=trade_rules,
        sales_rules=sales_rules,
        restricted_instruments={e.instrument_id: e.reason for e in restricted if e.instrument_id},
        restricted_issuers={e.issuer: e.reason for e in restricted if e.issuer},
        watch_instruments={e.instrument_id: e.reason for e in watched if e.instrument_id},
        watch_issuers={e.issuer: e.reason for e in watched if e.issuer},
        kill_switches=[
            (k.pk, k.scope, k.account_id if k.scope == "account" else k.trader_id, k.reason)
            for k in KillSwitch.objects.for_tenant(tenant_id).filter(engaged=True)
        ],
        locates={
            (loc.account_id, loc.instrument_id, loc.date): loc.quantity
            for loc in Locate.objects.for_tenant(tenant_id).filter(
                date__gte=today - timedelta(days=1)
            )
        },
        closes=closes,
        triggers=triggers,
    )


def _book_load(tenant_id: int) -> Book:
    quotes: dict[int, tuple[Decimal | None, Decimal | None, Decimal | None]] = {}
    latest: dict[int, Any] = {}
    for q in Quote.objects.for_tenant(tenant_id).order_by("updated_at", "id"):
        last, bid, ask = quotes.get(q.instrument_id, (None, None, None))
        if q.last is not None:
            last = q.last
        if q.bid is not None and (bid is None or q.bid > bid):
            bid = q.bid
        if q.ask is not None and (ask is None or q.ask < ask):
            ask = q.ask
        quotes[q.instrument_id] = (last, bid, ask)
        latest[q.instrument_id] = q
    instruments = {
        i.pk: (i.issuer, i.sector, i.multiplier, i.price_convention)
        for i in Instrument.objects.for_tenant(tenant_id).only(
            "id", "issuer", "sector", "multiplier", "price_convention"
        )
    }
    book = Book(
        loaded_at=time.monotonic(),
        quotes=quotes,
        exposure={},
        resting={},
        positions={},
        cash={},
        instruments=instruments,
        seen_live=set(),
    )
    rows = (
        TradeOrder.objects.for_tenant(tenant_id)
        .filter(order__status__in=LIVE)
        .values_list(
            "order_id",
            "order__status",
            "account_id",
            "instrument_id",
            "side",
            "leaves_qty",
            "limit_price",
            "account__beneficial_owner",
        )
    )
    for oid, status, acc, inst, side, leaves, limit, owner in rows:
        book.seen_live.add(oid)
        price = limit if limit is not None else _reference(book, inst, "last")
        if price is not None:
            book.exposure[acc] = book.exposure.get(acc, ZERO) + _notional(book, inst, leaves, price)
        if status in RESTING:
            book.resting.setdefault((inst, owner), []).append((oid, side, limit))
    book.exposure_total = sum(book.exposure.values(), ZERO)
    for pos in Position.objects.for_tenant(tenant_id).exclude(quantity=0):
        book.positions.setdefault(pos.account_id, []).append(
            (pos.instrument_id, pos.quantity, pos.avg_cost)
        )
    for cb in CashBalance.objects.for_tenant(tenant_id):
        book.cash[(cb.account_id, cb.currency)] = cb.amount
    return book


def _reference(book: Book, instrument_id: int, which: str) -> Decimal | None:
    last, bid, ask = book.quotes.get(instrument_id, (None, None, None))
    if which == "mid":
        return (bid + ask) / 2 if bid is not None and ask is not None else None
    return last


def _notional(book: Book, instrument_id: int, qty: Decimal, price: Decimal) -> Decimal:
    _, _, mult, convention = book.instruments.get(instrument_id, ("", "", Decimal(1), "per_unit"))
    if convention == "percent_of_par":
        return qty * price / HUNDRED
    return qty * price * mult


@functools.cache
def _book_ttl() -> float:
    return float(getattr(settings, "COMPLIANCE_BOOK_TTL", 0.5))


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "COMPLIANCE_BOOK_TTL":
        _book_ttl.cache_clear()


def tenant_config(tenant_id: int) -> Config:
    """The tenant's screening configuration, current (what a sales-order screen needs)."""
    return _state_configured(tenant_id).config


def _state_configured(tenant_id: int) -> TenantState:
    token = config_version(tenant_id)
    state = _states.get(tenant_id)
    if state is None or state.config.token != token:
        config = _config_load(tenant_id, token)
        with _states_lock:
            state = _states.get(tenant_id)
            if state is None:
                state = _states[tenant_id] = TenantState(config=config)
            else:
                state.config = config
    return state


def tenant_state(tenant_id: int) -> TenantState:
    """The tenant's state, with its configuration current and its book fresh enough."""
    state = _state_configured(tenant_id)
    ttl = _book_ttl()
    book = state.book
    if book is None or time.monotonic() - book.loaded_at >= ttl:
        fresh = _book_load(tenant_id)
        if book is not None:  # keep this process's recent reservations not yet in the rows
            cutoff = time.monotonic() - RESERVATION_SECONDS
            for r in book.reserved:
                if r[3] >= cutoff and r[0] not in fresh.seen_live:
                    fresh.reserve(*r)
        state.book = fresh
    return state


def states_reset() -> None:
    """Forget every tenant's in-memory state and the in-process counters (tests, benchmarks)."""
    with _states_lock:
        _states.clear()
    counters_reset()


# --- evaluation ------------------------------------------------------------------------------


@dataclass(slots=True)
class Line:
    rule: CompiledRule | None
    kind: str
    name: str
    passed: bool
    severity: str
    values: dict[str, Any]
    message: str


class Ctx:
    """One screening's inputs, read off the order once (model attribute access goes through
    descriptors; the evaluators read these plain attributes instead)."""

    __slots__ = (
        "account_id",
        "book",
        "buy",
        "cache_ops",
        "counted",
        "counters",
        "instrument",
        "instrument_id",
        "limit_price",
        "notional",
        "now",
        "order",
        "order_id",
        "owner",
        "price",
        "quantity",
        "side",
        "state",
        "tenant_id",
        "today",
        "trade",
    )

    def __init__(
        self,
        order: Order,
        trade: TradeOrder,
        state: TenantState,
        book: Book,
        now: datetime,
        today: date,
        price: Decimal | None,
        buy: bool,
        counters: Counters,
    ) -> None:
        self.order, self.trade, self.state, self.book = order, trade, state, book
        self.now, self.today = now, today
        self.price = price  # the limit, or the reference for a market order
        self.buy = buy
        self.notional: Decimal | None = None
        self.counters = counters
        self.counted: dict[int, Any] = {}  # counting rule id -> the store's answer
        self.cache_ops: list[Callable[[], None]] = []
        self.order_id: int = order.pk
        self.tenant_id: int = order.tenant_id
        self.account_id: int = trade.account_id
        self.instrument_id: int = trade.instrument_id
        self.instrument: Instrument = trade.instrument
        self.owner: str = trade.account.beneficial_owner
        self.side: str = trade.side
        self.quantity: Decimal = trade.quantity
        self.limit_price: Decimal | None = trade.limit_price


Result = tuple[bool, dict[str, Any], str] | tuple[bool, dict[str, Any], str, str]


def _order_price(ctx: Ctx) -> Decimal | None:
    return ctx.price


def _ev_max_quantity(ctx: Ctx, rule: CompiledRule) -> Result:
    qty, limit = ctx.quantity, rule.p["max"]
    ok = qty <= limit
    return ok, {"quantity": qty, "max": limit}, "" if ok else f"Quantity {qty} above {limit}."


def _need_price(ctx: Ctx) -> Result | None:
    if ctx.price is None:
        return False, {"reference_price": None}, "No reference price to value the order.", "hard"
    return None


def _ev_max_notional(ctx: Ctx, rule: CompiledRule) -> Result:
    missing = _need_price(ctx)
    if missing:
        return missing
    assert ctx.price is not None
    n = _notional(ctx.book, ctx.instrument_id, ctx.quantity, ctx.price)
    ok = n <= rule.p["max"]
    values = {"notional": n, "price": ctx.price, "max": rule.p["max"]}
    return ok, values, "" if ok else f"Notional {n} above {rule.p['max']}."


def _order_notional(ctx: Ctx) -> Decimal:
    """The order's notional at its limit (a market order: at the reference price), once."""
    if ctx.notional is None:
        assert ctx.price is not None
        ctx.notional = _notional(ctx.book, ctx.instrument_id, ctx.quantity, ctx.price)
    return ctx.notional


def _ev_credit(ctx: Ctx, rule: CompiledRule, account_id: int | None) -> Result:
    missing = _need_price(ctx)
    if missing:
        return missing
    exposure = ctx.book.exposure_of(account_id)
    n = _order_notional(ctx)
    total = exposure + n
    values = {
        "open_exposure": exposure,
        "order_notional": n,
        "total": total,
        "limit": rule.p["limit"],
    }
    ok = total <= rule.p["limit"]
    return ok, values, "" if ok else f"Exposure {total} above limit {rule.p['limit']}."


def _ev_credit_account(ctx: Ctx, rule: CompiledRule) -> Result:
    return _ev_credit(ctx, rule, ctx.account_id)


def _ev_credit_tenant(ctx: Ctx, rule: CompiledRule) -> Result:
    return _ev_credit(ctx, rule, None)


def _ev_price_collar(ctx: Ctx, rule: CompiledRule) -> Result:
    which = rule.p.get("reference", "last")
    ref = _reference(ctx.book, ctx.instrument_id, which)
    limit = ctx.limit_price
    if ref is None:
        return False, {"reference": which, "reference_price": None}, "No reference price.", "hard"
    if limit is None:
        return (
            True,
            {"reference_price": ref, "limit_price": None},
            "Market order: no price to collar.",
        )
    deviation = abs(limit - ref) / ref * HUNDRED
    values = {
        "limit_price": limit,
        "reference_price": ref,
        "deviation_pct": deviation,
        "max_pct": rule.p["percent"],
    }
    ok = deviation <= rule.p["percent"]
    return ok, values, "" if ok else f"Price {limit} is {deviation:.4f}% from {ref}."


def _ev_adv(ctx: Ctx, rule: CompiledRule) -> Result:
    adv = ctx.instrument.average_daily_volume
    if not adv:
        return False, {"adv": None}, "No average daily volume for the instrument."
    pct = ctx.quantity / adv * HUNDRED
    values = {"quantity": ctx.quantity, "adv": adv, "pct": pct, "max_pct": rule.p["percent"]}
    ok = pct <= rule.p["percent"]
    return ok, values, "" if ok else f"{pct:.4f}% of ADV above {rule.p['percent']}%."


def _throttle_op(ctx: Ctx, rule: CompiledRule) -> Count:
    per = rule.p.get("per_seconds", 1)
    bucket = int(ctx.now.timestamp()) // per
    return Count(f"compliance:thr:{ctx.tenant_id}:{rule.id}:{ctx.account_id}:{bucket}", per + 1)


def _ev_throttle(ctx: Ctx, rule: CompiledRule) -> Result:
    per = rule.p.get("per_seconds", 1)
    count = ctx.counted[rule.id]
    limit = rule.p["max_orders"]
    values = {"orders_in_interval": count, "max_orders": limit, "per_seconds": per}
    ok = count <= limit
    return ok, values, "" if ok else f"{count} orders in {per}s above {limit}."


def _price_key(price: Decimal | None) -> str:
    return "MKT" if price is None else str(price.normalize())


def _duplicate_op(ctx: Ctx, rule: CompiledRule) -> Swap:
    """The order's fingerprint for this rule, storing ``"<epoch seconds> <order id>"``."""
    key = (
        f"compliance:dup:{ctx.tenant_id}:{rule.id}:{ctx.account_id}:{ctx.instrument_id}:"
        f"{ctx.side}:{ctx.quantity.normalize()}:{_price_key(ctx.limit_price)}"
    )
    return Swap(key, f"{ctx.now.timestamp()!r} {ctx.order_id}", rule.p["window_seconds"] + 1)


def _ev_duplicate(ctx: Ctx, rule: CompiledRule) -> Result:
    window = rule.p["window_seconds"]
    previous = ctx.counted[rule.id]
    if previous is None:
        return True, {"window_seconds": window}, ""
    at, order_id = previous.split(" ")
    age = Decimal(str(round(ctx.now.timestamp() - float(at), 6)))
    values = {"previous_order": int(order_id), "seconds_since": age, "window_seconds": window}
    ok = age >= window
    return ok, values, "" if ok else f"Same order as {order_id} {age}s ago (window {window}s)."


COUNTER_OPS: dict[str, Callable[[Ctx, CompiledRule], Op]] = {
    RuleKind.THROTTLE: _throttle_op,
    RuleKind.DUPLICATE: _duplicate_op,
}


def _count(ctx: Ctx, rules: list[CompiledRule]) -> None:
    """Every running counter the screening needs, in one call to the store (one round trip
    when it is Redis): ``ctx.counted`` maps each counting rule to its answer."""
    counting = [rule for rule in rules if rule.kind in COUNTER_OPS]
    if counting:
        ops = [COUNTER_OPS[rule.kind](ctx, rule) for rule in counting]
        ctx.counted = dict(zip((rule.id for rule in counting), ctx.counters.run(ops), strict=True))


def _listed(
    ctx: Ctx, by_instrument: dict[int, str], by_issuer: dict[str, str]
) -> tuple[bool, dict[str, Any]]:
    inst = ctx.instrument
    if ctx.instrument_id in by_instrument:
        return True, {"instrument": inst.symbol, "reason": by_instrument[ctx.instrument_id]}
    if inst.issuer and inst.issuer in by_issuer:
        return True, {
            "instrument": inst.symbol,
            "issuer": inst.issuer,
            "reason": by_issuer[inst.issuer],
        }
    return False, {"instrument": inst.symbol, "issuer": inst.issuer}


def _ev_restricted(ctx: Ctx, rule: CompiledRule) -> Result:
    cfg = ctx.state.config
    hit, values = _listed(ctx, cfg.restricted_instruments, cfg.restricted_issuers)
    return not hit, values, "On the restricted list."


def _ev_watch(ctx: Ctx, rule: CompiledRule) -> Result:
    cfg = ctx.state.config
    hit, values = _listed(ctx, cfg.watch_instruments, cfg.watch_issuers)
    return not hit, values, "On the watch list."


def _ev_locate(ctx: Ctx, rule: CompiledRule) -> Result:
    t = ctx
    if t.side != Side.SELL_SHORT:
        return True, {"side": t.side}, ""
    located = ctx.state.config.locates.get((t.account_id, t.instrument_id, ctx.today), ZERO)
    values = {"quantity": t.quantity, "located": located, "date": ctx.today}
    ok = t.quantity <= located
    return ok, values, "" if ok else f"Short {t.quantity} exceeds located {located}."


def _previous_close(ctx: Ctx, instrument_id: int) -> tuple[date, Decimal] | None:
    for day, price in ctx.state.config.closes.get(instrument_id, []):
        if day < ctx.today:
            return day, price
    return None


def _previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _ev_short_price(ctx: Ctx, rule: CompiledRule) -> Result:
    t = ctx
    if t.side != Side.SELL_SHORT:
        return True, {"side": t.side}, ""
    inst = t.instrument_id
    triggered = ctx.state.config.triggers.get(inst, set())
    active_since = next(
        (d for d in (ctx.today, _previous_weekday(ctx.today)) if d in triggered), None
    )
    prev = _previous_close(ctx, inst)
    last = _reference(ctx.book, inst, "last")
    values: dict[str, Any] = {"previous_close": prev[1] if prev else None, "last": last}
    if active_since is None and prev is not None and last is not None:
        threshold = prev[1] * (HUNDRED - rule.p["fall_percent"]) / HUNDRED
        values["trigger_price"] = threshold
        if last <= threshold:
            active_since = ctx.today
            ctx.cache_ops.append(lambda: _trigger_store(ctx, inst, prev[1], last))
    values["restricted_since"] = active_since
    if active_since is None:
        return True, values, ""
    bid = ctx.book.quotes.get(inst, (None, None, None))[1]
    values.update({"best_bid": bid, "limit_price": t.limit_price})
    if bid is None:
        return False, values, "Short-sale restriction in force and no best bid.", "hard"
    ok = t.limit_price is not None and t.limit_price > bid
    return (
        ok,
        values,
        f"Short-sale restriction since {active_since}: price must be above the bid {bid}.",
    )


def _trigger_store(ctx: Ctx, instrument_id: int, previous: Decimal, last: Decimal) -> None:
    from compliance.services.rules import config_version_bump

    ShortSaleTrigger.objects.bulk_create(
        [
            ShortSaleTrigger(
                tenant_id=ctx.tenant_id,
                instrument_id=instrument_id,
                triggered_on=ctx.today,
                previous_close=previous,
                trigger_price=last,
            )
        ],
        ignore_conflicts=True,
    )
    config_version_bump(ctx.tenant_id)


def _crosses(buy: bool, mine: Decimal | None, theirs: Decimal | None) -> bool:
    if mine is None or theirs is None:
        return True
    return mine >= theirs if buy else mine <= theirs


def _ev_self_match(ctx: Ctx, rule: CompiledRule) -> Result:
    t = ctx
    owner = t.owner
    opposite = (Side.SELL, Side.SELL_SHORT) if ctx.buy else (Side.BUY,)
    for oid, side, price in ctx.book.resting.get((t.instrument_id, owner), ()):
        if oid != ctx.order_id and side in opposite and _crosses(ctx.buy, t.limit_price, price):
            values = {
                "resting_order": oid,
                "resting_price": price,
                "limit_price": t.limit_price,
                "owner": owner,
            }
            return False, values, f"Would trade against order {oid} of the same beneficial owner."
    return True, {"owner": owner}, ""


@dataclass
class Holdings:
    """An account's value and its value per issuer and per sector (positions at the reference
    price, average cost if none, plus cash), computed once per book load, with the aggregates
    the diversification rule reads (largest issuer, sum above a threshold) kept as they are
    first asked for."""

    value: Decimal
    by_issuer: dict[str, Decimal]
    by_sector: dict[str, Decimal]
    largest: Decimal = ZERO
    above: dict[Decimal, Decimal] = field(default_factory=dict)

    def sum_above(self, threshold_pct: Decimal) -> Decimal:
        """The value of the issuers each above ``threshold_pct`` of the account value."""
        found = self.above.get(threshold_pct)
        if found is None:
            cut = self.value * threshold_pct / HUNDRED
            found = self.above[threshold_pct] = sum(
                (v for v in self.by_issuer.values() if v > cut), ZERO
            )
        return found


def _account_holdings(book: Book, account_id: int) -> Holdings:
    found = book.holdings.get(account_id)
    if found is not None:
        return found
    by_issuer: dict[str, Decimal] = {}
    by_sector: dict[str, Decimal] = {}
    total = ZERO
    for inst, qty, avg in book.positions.get(account_id, []):
        price = _reference(book, inst, "last") or avg
        value = _notional(book, inst, qty, price)
        issuer, sector = _issuer_sector(book, inst)
        by_issuer[issuer] = by_issuer.get(issuer, ZERO) + value
        by_sector[sector] = by_sector.get(sector, ZERO) + value
        total += value
    cash = sum((v for (acc, _), v in book.cash.items() if acc == account_id), ZERO)
    largest = max(by_issuer.values(), default=ZERO)
    found = book.holdings[account_id] = Holdings(total + cash, by_issuer, by_sector, largest)
    return found


def _issuer_sector(book: Book, instrument_id: int) -> tuple[str, str]:
    meta = book.instruments.get(instrument_id)
    issuer = (meta[0] if meta else "") or f"#{instrument_id}"
    sector = (meta[1] if meta else "") or f"#{instrument_id}"
    return issuer, sector


def _after(ctx: Ctx, groups: dict[str, Decimal], key: str) -> Decimal:
    """The group's value after this order (a buy adds its notional; cash turns into the
    position, so the account value is unchanged)."""
    base = groups.get(key, ZERO)
    return base + _order_notional(ctx) if ctx.buy else base


def _ev_issuer_concentration(ctx: Ctx, rule: CompiledRule) -> Result:
    missing = _need_price(ctx)
    if missing:
        return missing
    held = _account_holdings(ctx.book, ctx.account_id)
    value = held.value
    issuer = _issuer_sector(ctx.book, ctx.instrument_id)[0]
    exposure = _after(ctx, held.by_issuer, issuer)
    if value <= 0:
        return False, {"account_value": value}, "Account value is not positive.", "hard"
    pct = exposure / value * HUNDRED
    values: dict[str, Any] = {
        "issuer": issuer,
        "issuer_value": exposure,
        "account_value": value,
        "pct": pct,
    }
    for band in ("hard", "soft", "warn"):
        if band in rule.p and pct > rule.p[band]:
            values["band"] = band
            values["band_pct"] = rule.p[band]
            return False, values, f"Issuer {issuer} at {pct:.4f}% above {rule.p[band]}%.", band
    return True, values, ""


def _ev_diversification(ctx: Ctx, rule: CompiledRule) -> Result:
    missing = _need_price(ctx)
    if missing:
        return missing
    held = _account_holdings(ctx.book, ctx.account_id)
    value = held.value
    if value <= 0:
        return False, {"account_value": value}, "Account value is not positive.", "hard"
    # Only this order's issuer changes (a buy adds to it), so the largest issuer and the sum of
    # the large ones follow from the account's aggregates and that one issuer, before and after.
    issuer = _issuer_sector(ctx.book, ctx.instrument_id)[0]
    before = held.by_issuer.get(issuer, ZERO)
    after = _after(ctx, held.by_issuer, issuer)
    cut = value * rule.p["large_threshold"] / HUNDRED
    large_value = (
        held.sum_above(rule.p["large_threshold"])
        - (before if before > cut else ZERO)
        + (after if after > cut else ZERO)
    )
    top = max(held.largest, after) / value * HUNDRED
    large = large_value / value * HUNDRED
    values = {
        "largest_issuer_pct": top,
        "large_holdings_pct": large,
        **{k: rule.p[k] for k in rule.p},
    }
    if top > rule.p["single_max"]:
        return (
            False,
            values,
            f"An issuer is {top:.4f}% of the account (max {rule.p['single_max']}%).",
        )
    ok = large <= rule.p["large_total_max"]
    return (
        ok,
        values,
        "" if ok else f"Issuers above {rule.p['large_threshold']}% total {large:.4f}%.",
    )


def _ev_sector(ctx: Ctx, rule: CompiledRule) -> Result:
    missing = _need_price(ctx)
    if missing:
        return missing
    held = _account_holdings(ctx.book, ctx.account_id)
    value = held.value
    if value <= 0:
        return False, {"account_value": value}, "Account value is not positive.", "hard"
    sector = _issuer_sector(ctx.book, ctx.instrument_id)[1]
    pct = _after(ctx, held.by_sector, sector) / value * HUNDRED
    values = {"sector": sector, "pct": pct, "max_pct": rule.p["percent"], "account_value": value}
    ok = pct <= rule.p["percent"]
    return ok, values, "" if ok else f"Sector {sector} at {pct:.4f}%."


def _ev_cash(ctx: Ctx, rule: CompiledRule) -> Result:
    if not ctx.buy:
        return True, {"side": ctx.side}, ""
    missing = _need_price(ctx)
    if missing:
        return missing
    currency = ctx.instrument.currency
    cash = ctx.book.cash.get((ctx.account_id, currency), ZERO)
    n = _order_notional(ctx)
    values = {"cash": cash, "currency": currency, "order_notional": n}
    ok = n <= cash
    return ok, values, "" if ok else f"Needs {n} {currency}, {cash} available."


EVALUATORS: dict[str, Callable[[Ctx, CompiledRule], Result]] = {
    RuleKind.CREDIT_ACCOUNT: _ev_credit_account,
    RuleKind.CREDIT_TENANT: _ev_credit_tenant,
    RuleKind.PRICE_COLLAR: _ev_price_collar,
    RuleKind.MAX_QUANTITY: _ev_max_quantity,
    RuleKind.MAX_NOTIONAL: _ev_max_notional,
    RuleKind.ADV_PERCENT: _ev_adv,
    RuleKind.THROTTLE: _ev_throttle,
    RuleKind.DUPLICATE: _ev_duplicate,
    RuleKind.RESTRICTED_LIST: _ev_restricted,
    RuleKind.WATCH_LIST: _ev_watch,
    RuleKind.SHORT_LOCATE: _ev_locate,
    RuleKind.SHORT_PRICE_TEST: _ev_short_price,
    RuleKind.SELF_MATCH: _ev_self_match,
    RuleKind.ISSUER_CONCENTRATION: _ev_issuer_concentration,
    RuleKind.DIVERSIFICATION: _ev_diversification,
    RuleKind.SECTOR_LIMIT: _ev_sector,
    RuleKind.AVAILABLE_CASH: _ev_cash,
}


def _not_a_trade_rule(ctx: Ctx, rule: CompiledRule) -> Result:
    raise ValueError(f"{rule.kind} is not a trade-order rule.")


def _kill_line(ctx: Ctx) -> Line | None:
    acc, trader = ctx.account_id, ctx.order.created_by_id
    for kid, scope, target, reason in ctx.state.config.kill_switches:
        if (
            scope == "tenant"
            or (scope == "account" and target == acc)
            or (scope == "trader" and target == trader)
        ):
            values = {"kill_switch": kid, "scope": scope, "reason": reason}
            return Line(
                None,
                "kill_switch",
                "kill switch",
                False,
                "hard",
                values,
                f"Kill switch engaged ({scope}).",
            )
    return None


@dataclass
class Evaluation:
    order: Order
    lines: list[Line]
    decision: Decision
    after: list[Callable[[], None]]


def _decision(lines: list[Line]) -> Decision:
    findings = tuple(
        Finding(
            rule=ln.name, severity=Severity(ln.severity), message=ln.message, data={"kind": ln.kind}
        )
        for ln in lines
        if not ln.passed
    )
    return Decision(findings=findings)


def order_has_detail(order: Order, name: str) -> bool:
    """Whether the order's one-to-one detail (``trade`` / ``sales``) exists (cached or read)."""
    try:
        getattr(order, name)
    except ObjectDoesNotExist:
        return False
    return True


def trade_evaluate(order: Order, state: TenantState | None = None) -> Evaluation:
    """Evaluate every applicable rule for a trade order, in memory (no query). ``state``: the
    order's tenant's, when the caller holds it already (a set of orders screened at once)."""
    if state is None:
        state = tenant_state(order.tenant_id)
    trade: TradeOrder = order.trade
    book = state.book
    assert book is not None
    now = _now()
    limit = trade.limit_price
    price = limit if limit is not None else _reference(book, trade.instrument_id, "last")
    today = now.astimezone(state.config.tz).date()
    ctx = Ctx(order, trade, state, book, now, today, price, trade.side == Side.BUY, counters())
    lines: list[Line] = []
    kill = _kill_line(ctx)
    if kill is not None:
        lines.append(kill)
    rules = state.config.trade_rules
    applicable = [
        *rules.get(("tenant", None), ()),
        *rules.get(("account", ctx.account_id), ()),
        *rules.get(("instrument", ctx.instrument_id), ()),
        *rules.get(("trader", order.created_by_id), ()),
    ]
    # Under the tenant's lock: the exposure read by the credit rules and this order's
    # reservation are one step for concurrent screenings in this process.
    _count(ctx, applicable)
    with state.lock:
        for rule in applicable:
            result = rule.evaluate(ctx, rule)
            passed = result[0]
            lines.append(
                Line(
                    rule,
                    rule.kind,
                    rule.name,
                    passed,
                    result[3] if len(result) == 4 else rule.severity,
                    result[1],
                    "" if passed else result[2],
                )
            )
        decision = _decision(lines)
        if applicable and not decision.hard and price is not None:
            book.reserve(ctx.order_id, ctx.account_id, _order_notional(ctx), time.monotonic())
            if not decision.soft:
                key = (ctx.instrument_id, ctx.owner)
                book.resting.setdefault(key, []).append((ctx.order_id, ctx.side, limit))
    return Evaluation(order, lines, decision, ctx.cache_ops)


_COLUMNS = (
    "tenant_id",
    "created_at",
    "order_id",
    "rule_id",
    "rule_name",
    "kind",
    "outcome",
    "severity",
    "values",
    "message",
)


def screening_persist(evaluation: Evaluation) -> None:
    """Store one screening: see :func:`screenings_persist`."""
    screenings_persist([evaluation])


def screenings_persist(evaluations: Sequence[Evaluation], now: datetime | None = None) -> None:
    """Store screenings: their deferred writes, one ``ScreeningResult`` row per line in one
    statement for a screening or a page of them (``oms_site.rows.rows_insert``: a ``COPY`` on
    PostgreSQL), then an alert per warn finding."""
    for evaluation in evaluations:
        for op in evaluation.after:
            op()
    at = now or _now()
    rows = [
        (
            evaluation.order.tenant_id,
            at,
            evaluation.order.pk,
            ln.rule.id if ln.rule else None,
            ln.name[:100],
            ln.kind,
            "pass" if ln.passed else "breach",
            "" if ln.passed else ln.severity,
            json.dumps({k: _s(v) for k, v in ln.values.items()}, cls=DjangoJSONEncoder),
            ln.message[:500],
        )
        for evaluation in evaluations
        for ln in evaluation.lines
    ]
    rows_insert(ScreeningResult, _COLUMNS, rows)
    for evaluation in evaluations:
        warnings = [ln for ln in evaluation.lines if not ln.passed and ln.severity == "warn"]
        _alerts_for_warnings(evaluation.order, warnings)


def _alerts_for_warnings(order: Order, lines: list[Line]) -> None:
    if not lines:
        return
    from compliance.services.alerts import alert_raise

    account_code = ""
    trade = getattr(order, "trade", None) if order.kind == "trade" else None
    if trade is not None:
        account_code = trade.account.code
    for ln in lines:
        alert_raise(
            tenant=order.tenant,
            rule=ln.kind,
            severity="medium",
            title=f"{ln.name}: {ln.message}"[:300],
            evidence={
                "order": order.pk,
                "reference": order.reference,
                "values": {k: _s(v) for k, v in ln.values.items()},
            },
            order=order,
            account_code=account_code,
            dedupe_key=f"screen:{order.pk}:{ln.kind}:{ln.rule.id if ln.rule else 0}",
        )


def trade_screen(order: Order) -> Decision:
    """The registered screen for trade orders (``orders.screening``). An order with no trade
    detail (entered through the generic endpoint where a deployment allows it) has nothing
    these rules can read: it passes with no finding."""
    return trade_screen_many([order])[0]


def trade_screen_many(orders: Sequence[Order]) -> list[Decision]:
    """:func:`trade_screen` for a set of orders (its set-based entry point): each order is
    evaluated in turn, as one by one, against its tenant's state read once for the set (the
    configuration token and the book), and the screenings are stored in one go."""
    states: dict[int, TenantState] = {}
    evaluations: list[Evaluation] = []
    decisions: list[Decision] = []
    for order in orders:
        if not order_has_detail(order, "trade"):
            decisions.append(Decision())
            continue
        state = states.get(order.tenant_id)
        if state is None:
            state = states[order.tenant_id] = tenant_state(order.tenant_id)
        evaluation = trade_evaluate(order, state)
        evaluations.append(evaluation)
        decisions.append(evaluation.decision)
    screenings_persist(evaluations)
    return decisions
