"""Surveillance fixtures as direct rows: orders (common order + trade detail) placed, filled
and cancelled at given times, without the routing machinery in between."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from compliance.models import Alert
from compliance.services.surveillance import surveillance_scan
from compliance.surveillance.runner import ScanResult
from orders.models import Order, OrderKind, OrderStatus
from tenancy.models import Tenant
from tests.trading.factories import AccountFactory, InstrumentFactory, VenueFactory
from trading.models import Account, Execution, Instrument, TradeOrder, Venue

D = Decimal
# Tuesday 4 March 2025, 14:00 UTC = 09:00 in New York (EST): the market opens at 09:30.
T0 = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
_seq = itertools.count(1)


def at(seconds: float = 0, *, days: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds, days=days)


@dataclass
class Book:
    """One tenant's accounts, instruments and venue, and a way to write order history."""

    tenant: Tenant
    instrument: Instrument
    other_instrument: Instrument
    venue: Venue
    accounts: dict[str, Account] = field(default_factory=dict)

    def account(self, code: str, kind: str = "client", owner: str | None = None) -> Account:
        if code not in self.accounts:
            self.accounts[code] = AccountFactory(
                tenant=self.tenant, code=code, kind=kind, beneficial_owner=owner or f"{code} owner"
            )
        return self.accounts[code]

    def order(
        self,
        account: Account,
        side: str,
        quantity: str | int,
        placed: datetime,
        *,
        instrument: Instrument | None = None,
        canceled: datetime | None = None,
        price: str = "10.00",
    ) -> TradeOrder:
        n = next(_seq)
        status = OrderStatus.CANCELED if canceled else OrderStatus.OPEN
        order = Order.objects.create(
            tenant=self.tenant,
            kind=OrderKind.TRADE,
            reference=f"T-S{n:06d}",
            client_order_id=f"surv-{n}",
            status=status,
        )
        Order.objects.for_tenant(self.tenant).filter(pk=order.pk).update(
            created_at=placed, updated_at=canceled or placed
        )
        return TradeOrder.objects.create(
            tenant=self.tenant,
            order=order,
            account=account,
            instrument=instrument or self.instrument,
            side=side,
            quantity=D(quantity),
            order_type="limit",
            limit_price=D(price),
            time_in_force="day",
            leaves_qty=D(0) if canceled else D(quantity),
        )

    def fill(
        self, trade: TradeOrder, qty: str | int, px: str, when: datetime, *, venue: Any = True
    ) -> Execution:
        execution = Execution.objects.create(
            tenant=self.tenant,
            exec_id=f"E-{next(_seq)}",
            order=trade,
            venue=self.venue if venue is True else venue,
            last_qty=D(qty),
            last_px=D(px),
            liquidity="removed",
            transacted_at=when,
        )
        TradeOrder.objects.for_tenant(self.tenant).filter(pk=trade.pk).update(
            cum_qty=trade.cum_qty + D(qty)
        )
        trade.cum_qty += D(qty)
        return execution

    def trade(
        self,
        account: Account,
        side: str,
        qty: str | int,
        px: str,
        when: datetime,
        *,
        placed: datetime | None = None,
        instrument: Instrument | None = None,
    ) -> tuple[TradeOrder, Execution]:
        """An order placed (a second before, by default) and filled in full."""
        trade = self.order(
            account,
            side,
            qty,
            placed or when - timedelta(seconds=1),
            instrument=instrument,
            price=px,
        )
        return trade, self.fill(trade, qty, px, when)


def book_create(tenant: Tenant) -> Book:
    return Book(
        tenant=tenant,
        instrument=InstrumentFactory(tenant=tenant, symbol="ACME", issuer="Acme Corp"),
        other_instrument=InstrumentFactory(tenant=tenant, symbol="INIT", issuer="Initech"),
        venue=VenueFactory(tenant=tenant, code="XNYS", timezone="America/New_York"),
    )


def scan(tenant: Tenant, **kwargs: Any) -> ScanResult:
    return surveillance_scan(tenant=tenant, actor=None, settle_seconds=0, **kwargs)


def alert_rows(tenant: Tenant) -> list[tuple[Any, ...]]:
    """(rule, account codes, order ids, execution ids) of every alert, oldest first."""
    return [
        (a.rule, a.account_codes, a.order_ids, a.execution_ids)
        for a in Alert.objects.for_tenant(tenant).order_by("id")
    ]


def clean_day(book: Book) -> None:
    """A normal day: clients and the house trading both ways at market prices, far apart,
    nothing cancelled, nothing near the close, no employee dealing."""
    alice = book.account("C-ALICE", "client", "Alice")
    bob = book.account("C-BOB", "client", "Bob")
    prop = book.account("PROP", "proprietary", "The Firm")
    book.trade(alice, "buy", 300, "10.00", at(3600))
    book.trade(bob, "sell", 300, "10.00", at(3600))  # another owner on the other side
    book.trade(alice, "sell", 100, "10.40", at(7200))  # same owner, opposite side, hours later
    book.trade(prop, "buy", 200, "10.10", at(5400))
    book.trade(bob, "buy", 500, "20.00", at(5000), instrument=book.other_instrument)
    for minute in range(10):  # a busy but ordinary client: every order trades
        book.trade(alice, "buy", 10, "10.05", at(9000 + 60 * minute))
