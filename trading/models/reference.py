from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import ClassVar

from django.db import models

from tenancy.models import TenantOwned, currency_validator, validate_timezone
from tenancy.scoping import TenantManager
from trading.models.fields import money_field, price_field, qty_field


class AssetClass(models.TextChoices):
    EQUITY = "equity", "Equity"
    BOND = "bond", "Bond"
    FX = "fx", "FX"
    COMMODITY = "commodity", "Commodity"
    LOAN = "loan", "Loan"
    CASH = "cash", "Cash"
    OPTION = "option", "Option"
    FUTURE = "future", "Future"


class PriceConvention(models.TextChoices):
    PER_UNIT = "per_unit", "Per unit (x contract multiplier)"
    PERCENT_OF_PAR = "percent_of_par", "Percent of par"


# Settlement lag in business days by asset class; others use the instrument's own.
DEFAULT_SETTLEMENT_DAYS: dict[str, int] = {AssetClass.EQUITY: 1, AssetClass.FX: 2}


class Instrument(TenantOwned):
    symbol = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    asset_class = models.CharField(max_length=16, choices=AssetClass.choices)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    tick_size = price_field(default=Decimal("0.01"))
    lot_size = qty_field(default=Decimal("1"))
    multiplier = qty_field(default=Decimal("1"))
    price_convention = models.CharField(
        max_length=16, choices=PriceConvention.choices, default=PriceConvention.PER_UNIT
    )
    issuer = models.CharField(max_length=200, blank=True, default="")
    sector = models.CharField(max_length=100, blank=True, default="")
    settlement_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Used for asset classes without a market default."
    )
    average_daily_volume = qty_field(null=True, blank=True)
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Instrument]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("symbol",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "symbol"], name="instrument_unique_symbol"),
            models.CheckConstraint(condition=models.Q(tick_size__gt=0), name="instrument_tick_gt0"),
            models.CheckConstraint(condition=models.Q(lot_size__gt=0), name="instrument_lot_gt0"),
            models.CheckConstraint(
                condition=models.Q(multiplier__gt=0), name="instrument_multiplier_gt0"
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    def notional(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Cash value of ``quantity`` at ``price`` in the instrument currency."""
        if self.price_convention == PriceConvention.PERCENT_OF_PAR:
            return quantity * price / Decimal(100)
        return quantity * price * self.multiplier

    @property
    def settlement_lag(self) -> int:
        if self.asset_class in DEFAULT_SETTLEMENT_DAYS:
            return DEFAULT_SETTLEMENT_DAYS[self.asset_class]
        return self.settlement_days if self.settlement_days is not None else 2


class AccountKind(models.TextChoices):
    CLIENT = "client", "Client"
    PROPRIETARY = "proprietary", "Proprietary"
    EMPLOYEE = "employee", "Employee"


class Account(TenantOwned):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    beneficial_owner = models.CharField(max_length=200)
    base_currency = models.CharField(max_length=3, validators=[currency_validator])
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Account]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="account_unique_code"),
        ]

    def __str__(self) -> str:
        return self.code


class CashBalance(TenantOwned):
    """Cash per (account, currency); trades move it in the same transaction as the fill."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_balances")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    amount = money_field(default=Decimal("0"))

    objects: ClassVar[TenantManager[CashBalance]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("account_id", "currency")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "currency"], name="cash_unique_account_currency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency} {self.amount}"


class VenueKind(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    ECN = "ecn", "ECN"
    BROKER = "broker", "Broker"
    DARK = "dark", "Dark pool"


class Venue(TenantOwned):
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=VenueKind.choices)
    taker_fee_bps = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0"))
    maker_fee_bps = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0"))
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    session_open = models.TimeField(default=time(9, 30))
    session_close = models.TimeField(default=time(16, 0))
    asset_classes = models.JSONField(default=list, help_text="Asset classes traded here.")
    simulated = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    session_is_open = models.BooleanField(default=True, editable=False)

    objects: ClassVar[TenantManager[Venue]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="venue_unique_code"),
        ]

    def __str__(self) -> str:
        return self.code

    def trades(self, asset_class: str) -> bool:
        return asset_class in (self.asset_classes or [])
