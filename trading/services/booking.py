"""Booking a fill: the trade (with settlement date), the position and the cash, in the
transaction that applies the fill.

Positions carry a signed quantity (short < 0) and the average cost of the open quantity.
A fill that reduces the position realizes (price - avg_cost) x closed quantity (sign-adjusted,
in notional terms); a fill that crosses through zero closes the old side and opens the new one
at the fill price.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import F

from trading.models import CashBalance, Execution, Position, Side, Trade, TradeOrder
from trading.models.fields import MONEY_PLACES, PRICE_PLACES

ZERO = Decimal("0")


def _price(value: Decimal) -> Decimal:
    """Rounded as stored (half even), so the position in memory equals the row."""
    return value.quantize(Decimal(1).scaleb(-PRICE_PLACES), rounding=ROUND_HALF_EVEN)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-MONEY_PLACES), rounding=ROUND_HALF_EVEN)


def settlement_date(trade_date: date, lag: int) -> date:
    """``lag`` business days after ``trade_date`` (weekends skipped)."""
    day = trade_date
    remaining = lag
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def position_apply(
    *, position: Position, signed_qty: Decimal, price: Decimal, notional_per_unit: Decimal
) -> Decimal:
    """Apply a signed quantity at ``price`` to the position; returns the realized P&L.

    ``notional_per_unit`` converts a price difference to cash (multiplier, or 1/100 of par).
    """
    old_qty = position.quantity
    realized = ZERO
    if old_qty == 0 or (old_qty > 0) == (signed_qty > 0):
        new_qty = old_qty + signed_qty
        position.avg_cost = _price((old_qty * position.avg_cost + signed_qty * price) / new_qty)
        position.quantity = new_qty
        return realized
    closing = min(abs(signed_qty), abs(old_qty))
    direction = Decimal(1) if old_qty > 0 else Decimal(-1)
    realized = _money((price - position.avg_cost) * closing * direction * notional_per_unit)
    new_qty = old_qty + signed_qty
    if new_qty == 0:
        position.avg_cost = ZERO
    elif (new_qty > 0) != (old_qty > 0):  # crossed through zero: the rest opens at price
        position.avg_cost = price
    position.quantity = new_qty
    position.realized_pnl += realized
    return realized


def trade_book(*, trade_order: TradeOrder, execution: Execution) -> Trade:
    instrument = trade_order.instrument
    qty, px = execution.last_qty, execution.last_px
    signed = qty if trade_order.side == Side.BUY else -qty
    gross = _money(instrument.notional(qty, px))
    position = (
        Position.objects.for_tenant(trade_order.tenant_id)
        .select_for_update()
        .filter(account_id=trade_order.account_id, instrument_id=instrument.pk)
        .first()
    )
    if position is None:
        Position.objects.bulk_create(
            [
                Position(
                    tenant_id=trade_order.tenant_id,
                    account_id=trade_order.account_id,
                    instrument=instrument,
                )
            ],
            ignore_conflicts=True,
        )
        position = (
            Position.objects.for_tenant(trade_order.tenant_id)
            .select_for_update()
            .get(account_id=trade_order.account_id, instrument_id=instrument.pk)
        )
    per_unit = instrument.notional(Decimal(1), Decimal(1))
    realized = position_apply(
        position=position, signed_qty=signed, price=px, notional_per_unit=per_unit
    )
    position.save(update_fields=["quantity", "avg_cost", "realized_pnl", "updated_at"])
    cash_delta = (-gross if signed > 0 else gross) - execution.fee
    _cash_move(trade_order=trade_order, currency=instrument.currency, delta=cash_delta)
    trade_date = execution.transacted_at.date()
    # The account row in hand (locked with the order) spares the same-tenant check a query.
    account: dict[str, Any] = (
        {"account": trade_order.account}
        if TradeOrder.account.is_cached(trade_order)
        else {"account_id": trade_order.account_id}
    )
    return Trade.objects.create(
        tenant_id=trade_order.tenant_id,
        execution=execution,
        **account,
        instrument=instrument,
        side=trade_order.side,
        quantity=qty,
        price=px,
        gross=gross,
        fee=execution.fee,
        realized_pnl=realized,
        trade_date=trade_date,
        settle_date=settlement_date(trade_date, instrument.settlement_lag),
    )


def _cash_move(*, trade_order: TradeOrder, currency: str, delta: Decimal) -> None:
    balances = CashBalance.objects.for_tenant(trade_order.tenant_id).filter(
        account_id=trade_order.account_id, currency=currency
    )
    if balances.update(amount=F("amount") + delta) == 0:
        CashBalance.objects.bulk_create(
            [
                CashBalance(
                    tenant_id=trade_order.tenant_id,
                    account_id=trade_order.account_id,
                    currency=currency,
                    amount=ZERO,
                )
            ],
            ignore_conflicts=True,
        )
        balances.update(amount=F("amount") + delta)
