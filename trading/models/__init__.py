"""Trading models: reference data, market data, orders, venue orders, executions, positions."""

from trading.models.executions import ExecType, Execution, ExecutionReport, Liquidity
from trading.models.marketdata import Quote
from trading.models.orders import (
    FixOrdStatus,
    Handling,
    OrderType,
    PendingAction,
    Side,
    TimeInForce,
    TradeOrder,
    VenueOrder,
    VenueOrderState,
)
from trading.models.positions import Position, Trade
from trading.models.reference import (
    Account,
    AccountKind,
    AssetClass,
    CashBalance,
    Instrument,
    PriceConvention,
    Venue,
    VenueKind,
)

__all__ = [
    "Account",
    "AccountKind",
    "AssetClass",
    "CashBalance",
    "ExecType",
    "Execution",
    "ExecutionReport",
    "FixOrdStatus",
    "Handling",
    "Instrument",
    "Liquidity",
    "OrderType",
    "PendingAction",
    "Position",
    "PriceConvention",
    "Quote",
    "Side",
    "TimeInForce",
    "Trade",
    "TradeOrder",
    "Venue",
    "VenueKind",
    "VenueOrder",
    "VenueOrderState",
]
