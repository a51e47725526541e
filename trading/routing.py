"""Smart order routing: a pure plan from the order and the venues' quotes.

Sweep: marketable quantity goes to venues best fee-adjusted price first (buy: ask x (1 + taker
bps); sell: bid x (1 - taker bps)), each child sized to the displayed quantity (rounded down to
the lot) with the quote's price as its limit and IOC, so no child fills worse than planned.
The residual of a DAY/GTC/GTD limit order rests at the best-priced venue. IOC and market
orders cancel their residual; FOK is killed up front unless the sweep covers it all; a market
order with no liquidity anywhere is rejected. OPG/ATC orders wait whole for the auction.
Directed orders go only to their venue, which matches what it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from trading.models import OrderType, Side, TimeInForce, Venue

BPS = Decimal(10000)


@dataclass(frozen=True)
class VenueQuote:
    venue: Venue
    price: Decimal | None  # ask for a buy, bid for a sell
    size: Decimal


@dataclass(frozen=True)
class _Offer:
    venue: Venue
    price: Decimal
    size: Decimal

    def adjusted(self, side: str) -> Decimal:
        return fee_adjusted(side, self.price, self.venue)


@dataclass(frozen=True)
class PlannedChild:
    venue: Venue
    quantity: Decimal
    limit_price: Decimal | None
    time_in_force: str
    auction: bool = False


@dataclass(frozen=True)
class RoutePlan:
    children: list[PlannedChild] = field(default_factory=list)
    reject_reason: str = ""
    kill_reason: str = ""
    compared: list[dict[str, str]] = field(default_factory=list)


def fee_adjusted(side: str, price: Decimal, venue: Venue) -> Decimal:
    fee = venue.taker_fee_bps / BPS
    return price * (1 + fee) if side == Side.BUY else price * (1 - fee)


def _marketable(side: str, price: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return price <= limit if side == Side.BUY else price >= limit


def _round_lot(quantity: Decimal, lot: Decimal) -> Decimal:
    return (quantity / lot).to_integral_value(rounding=ROUND_DOWN) * lot


def plan_route(
    *,
    side: str,
    quantity: Decimal,
    order_type: str,
    limit_price: Decimal | None,
    time_in_force: str,
    lot_size: Decimal,
    quotes: list[VenueQuote],
    directed: Venue | None,
) -> RoutePlan:
    market = order_type == OrderType.MARKET
    limit = None if market else limit_price
    buy = side == Side.BUY
    # Every venue pricing the instrument may take a resting order (or an auction order),
    # even when its displayed size is used up; only displayed size is swept.
    priced = sorted(
        (_Offer(q.venue, q.price, q.size) for q in quotes if q.price is not None),
        key=lambda o: (o.adjusted(side) * (1 if buy else -1), -o.size, o.venue.code),
    )
    ranked = [o for o in priced if o.size > 0]
    compared = [
        {
            "venue": o.venue.code,
            "price": str(o.price),
            "size": str(o.size),
            "fee_adjusted": str(o.adjusted(side)),
        }
        for o in ranked
    ]
    available = sum(
        (_round_lot(o.size, lot_size) for o in ranked if _marketable(side, o.price, limit)),
        Decimal(0),
    )
    if directed is not None:
        auction = time_in_force in (TimeInForce.OPG, TimeInForce.ATC)
        direct_quote = next((o for o in ranked if o.venue.pk == directed.pk), None)
        if (
            market
            and direct_quote is None
            and time_in_force not in (TimeInForce.OPG, TimeInForce.ATC)
        ):
            return RoutePlan(reject_reason=f"No liquidity on {directed.code}.", compared=compared)
        child = PlannedChild(directed, quantity, limit, time_in_force, auction=auction)
        return RoutePlan(children=[child], compared=compared)
    if time_in_force in (TimeInForce.OPG, TimeInForce.ATC):
        best = priced[0].venue if priced else None
        if best is None:
            return RoutePlan(reject_reason="No venue quotes this instrument.", compared=compared)
        return RoutePlan(
            children=[PlannedChild(best, quantity, limit, time_in_force, auction=True)],
            compared=compared,
        )
    if market and available == 0:
        return RoutePlan(reject_reason="No liquidity on any venue.", compared=compared)
    if time_in_force == TimeInForce.FOK and available < quantity:
        return RoutePlan(
            kill_reason=f"Fill or kill: {available} available of {quantity}.", compared=compared
        )
    children: list[PlannedChild] = []
    remaining = quantity
    for offer in ranked:
        if remaining <= 0 or not _marketable(side, offer.price, limit):
            continue
        take = _round_lot(min(offer.size, remaining), lot_size)
        if take <= 0:
            continue
        children.append(PlannedChild(offer.venue, take, offer.price, TimeInForce.IOC))
        remaining -= take
    if remaining > 0 and not market and time_in_force not in (TimeInForce.IOC, TimeInForce.FOK):
        rest_venue = priced[0].venue if priced else None
        if rest_venue is None:
            return RoutePlan(
                children=children,
                reject_reason="" if children else "No venue quotes this instrument.",
                compared=compared,
            )
        children.append(PlannedChild(rest_venue, remaining, limit, time_in_force))
    elif remaining > 0 and not children:
        return RoutePlan(kill_reason="No liquidity within the limit.", compared=compared)
    return RoutePlan(children=children, compared=compared)
