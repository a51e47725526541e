"""Factories of trading reference data, market data and positions.

Every related row is created in the same tenant as the row itself (``tenant=`` once is enough).
The public names are typed ``Any``: factory_boy's metaclass makes ``InstrumentFactory(...)``
return an ``Instrument``, which mypy cannot see.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import factory

from tests.factories import TenantFactory
from trading.models import (
    Account,
    AccountKind,
    AssetClass,
    CashBalance,
    Instrument,
    Position,
    Quote,
    Venue,
    VenueKind,
)

SAME_TENANT = factory.SelfAttribute("..tenant")


class _InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument

    tenant = factory.SubFactory(TenantFactory)
    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Inc.")
    asset_class = AssetClass.EQUITY
    currency = "USD"
    tick_size = Decimal("0.01")
    lot_size = Decimal("1")
    multiplier = Decimal("1")


class _AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"ACC-{n}")
    name = factory.LazyAttribute(lambda o: f"Account {o.code}")
    kind = AccountKind.CLIENT
    beneficial_owner = "Jane Client"
    base_currency = "USD"


class _CashBalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CashBalance

    tenant = factory.SubFactory(TenantFactory)
    account = factory.SubFactory(_AccountFactory, tenant=SAME_TENANT)
    currency = "USD"
    amount = Decimal("1000")


class _VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"V{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Venue {o.code}")
    kind = VenueKind.EXCHANGE
    taker_fee_bps = Decimal("3")
    maker_fee_bps = Decimal("-1")
    timezone = "America/New_York"
    session_open = time(9, 30)
    session_close = time(16, 0)
    asset_classes = factory.LazyFunction(lambda: [AssetClass.EQUITY.value])


class _QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    tenant = factory.SubFactory(TenantFactory)
    venue = factory.SubFactory(_VenueFactory, tenant=SAME_TENANT)
    instrument = factory.SubFactory(_InstrumentFactory, tenant=SAME_TENANT)
    bid = Decimal("99.99")
    bid_size = Decimal("100")
    ask = Decimal("100.01")
    ask_size = Decimal("100")
    last = Decimal("100")


class _PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    tenant = factory.SubFactory(TenantFactory)
    account = factory.SubFactory(_AccountFactory, tenant=SAME_TENANT)
    instrument = factory.SubFactory(_InstrumentFactory, tenant=SAME_TENANT)
    quantity = Decimal("100")
    avg_cost = Decimal("90")
    realized_pnl = Decimal("0")


InstrumentFactory: Any = _InstrumentFactory
AccountFactory: Any = _AccountFactory
CashBalanceFactory: Any = _CashBalanceFactory
VenueFactory: Any = _VenueFactory
QuoteFactory: Any = _QuoteFactory
PositionFactory: Any = _PositionFactory
