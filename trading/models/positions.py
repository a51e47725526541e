from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models

from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager
from trading.models.executions import Execution
from trading.models.fields import money_field, price_field, qty_field
from trading.models.orders import Side
from trading.models.reference import Account, Instrument


class Position(TenantOwned):
    """Signed quantity (short < 0), average cost of the open quantity, realized P&L."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    quantity = qty_field(default=Decimal("0"))
    avg_cost = price_field(default=Decimal("0"))
    realized_pnl = money_field(default=Decimal("0"))

    objects: ClassVar[TenantManager[Position]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("account_id", "instrument_id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "instrument"], name="position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.instrument_id}: {self.quantity}"


class Trade(TenantOwned):
    """The booking of one fill: what settles, when, and the P&L it realized."""

    execution = models.OneToOneField(Execution, on_delete=models.PROTECT, related_name="trade")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="trades")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades")
    side = models.CharField(max_length=10, choices=Side.choices)
    quantity = qty_field()
    price = price_field()
    gross = money_field(help_text="Notional in the instrument currency.")
    fee = money_field(default=Decimal("0"))
    realized_pnl = money_field(default=Decimal("0"))
    trade_date = models.DateField()
    settle_date = models.DateField()

    objects: ClassVar[TenantManager[Trade]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.side} {self.quantity}@{self.price}"
