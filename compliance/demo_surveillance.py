"""Planted suspicious activity for the demo (``seed_demo``), so the review queue has real
surveillance alerts: idempotent, a second run changes nothing.

For ``acme-capital`` it books, on the last business day before today (New York time), a
short history of filled and cancelled orders -- positions and cash booked as for any fill --
that contains one case of each pattern below, then runs a surveillance scan, which raises
exactly these alerts:

- wash trade: Northwind's two accounts (same beneficial owner) buy and sell 2,000 AAPL
  20 seconds apart at the same price;
- spoofing: C-1001 offers 3 x 1,500 MSFT, buys 1,000 and cancels the offers a minute later;
- marking the close: C-1002 buys 6,000 AAPL in the last five minutes before the close;
- front running: the proprietary book buys 3,000 MSFT two minutes before a client order of
  50,000 MSFT;
- personal dealing and holding period: the employee buys MSFT without pre-clearance and
  sells it 10 days later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from compliance.services.surveillance import surveillance_scan
from orders.models import Order, OrderKind, OrderStatus
from orders.services import reference_next
from tenancy.models import Tenant
from trading.models import Account, AccountKind, Execution, Instrument, TradeOrder, Venue
from trading.services.booking import trade_book
from trading.services.reference import cash_balance_ensure

TENANT = "acme-capital"
PREFIX = "demo-surv-"
NY = ZoneInfo("America/New_York")
D = Decimal


def _business_day_before(day: date, days: int = 1) -> date:
    while days:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


class _History:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.count = 0
        self.venue = Venue.objects.for_tenant(tenant).get(code="XNYS")
        self.instruments = {i.symbol: i for i in Instrument.objects.for_tenant(tenant)}

    def order(
        self,
        account: Account,
        symbol: str,
        side: str,
        qty: str,
        px: str,
        placed: datetime,
        *,
        fills: tuple[tuple[str, datetime], ...] = (),
        canceled: datetime | None = None,
    ) -> TradeOrder:
        self.count += 1
        quantity = D(qty)
        filled = sum((D(q) for q, _ in fills), D(0))
        status = (
            OrderStatus.CANCELED
            if canceled
            else OrderStatus.COMPLETED
            if filled == quantity
            else OrderStatus.OPEN
        )
        order = Order.objects.create(
            tenant=self.tenant,
            kind=OrderKind.TRADE,
            reference=reference_next(tenant=self.tenant, kind=OrderKind.TRADE),
            client_order_id=f"{PREFIX}{self.count}",
            status=status,
            note="Demo history (planted for surveillance)",
        )
        last = max([placed, canceled or placed, *(at for _, at in fills)])
        Order.objects.for_tenant(self.tenant).filter(pk=order.pk).update(
            created_at=placed, updated_at=last
        )
        trade = TradeOrder.objects.create(
            tenant=self.tenant,
            order=order,
            account=account,
            instrument=self.instruments[symbol],
            side=side,
            quantity=quantity,
            order_type="limit",
            limit_price=D(px),
            time_in_force="day",
            venue=self.venue,
            cum_qty=filled,
            leaves_qty=quantity - filled if status == OrderStatus.OPEN else D(0),
            avg_px=D(px) if filled else D(0),
        )
        for index, (fill_qty, at) in enumerate(fills, start=1):
            execution = Execution.objects.create(
                tenant=self.tenant,
                exec_id=f"DEMO-SURV-{order.reference}-{index}",
                order=trade,
                venue=self.venue,
                last_qty=D(fill_qty),
                last_px=D(px),
                liquidity="removed",
                transacted_at=at,
            )
            trade_book(trade_order=trade, execution=execution)
        return trade


def _ensure_account(tenant: Tenant) -> Account:
    account = Account.objects.for_tenant(tenant).filter(code="C-1002").first()
    if account is None:
        account = Account.objects.create(
            tenant=tenant,
            code="C-1002",
            name="Northwind Pension Fund (second mandate)",
            kind=AccountKind.CLIENT,
            beneficial_owner="Northwind Pension Trust",
            base_currency="USD",
        )
        cash_balance_ensure(
            tenant=tenant, actor=None, account=account, currency="USD", amount=D("10000000")
        )
    return account


def _plant(tenant: Tenant, today: date) -> int:
    accounts = {a.code: a for a in Account.objects.for_tenant(tenant)}
    second = _ensure_account(tenant)
    client, prop, employee = accounts["C-1001"], accounts["PROP-1"], accounts["E-1001"]
    day = _business_day_before(today)

    def ny(hour: int, minute: int, second_: int = 0, on: date = day) -> datetime:
        return datetime.combine(on, time(hour, minute, second_), tzinfo=NY).astimezone(UTC)

    h = _History(tenant)
    # wash trade
    h.order(client, "AAPL", "buy", "2000", "190.00", ny(10, 0), fills=(("2000", ny(10, 0, 5)),))
    h.order(
        second, "AAPL", "sell", "2000", "190.00", ny(10, 0, 20), fills=(("2000", ny(10, 0, 25)),)
    )
    # spoofing / layering
    for i in range(3):
        h.order(client, "MSFT", "sell", "1500", "416.50", ny(11, 0, i), canceled=ny(11, 2))
    h.order(
        client, "MSFT", "buy", "1000", "415.00", ny(11, 0, 30), fills=(("1000", ny(11, 0, 40)),)
    )
    # marking the close
    h.order(
        second,
        "AAPL",
        "buy",
        "6000",
        "190.50",
        ny(15, 55),
        fills=(("3000", ny(15, 56)), ("3000", ny(15, 59, 30))),
    )
    # front running
    h.order(prop, "MSFT", "buy", "3000", "415.10", ny(13, 58), fills=(("3000", ny(13, 58, 10)),))
    h.order(client, "MSFT", "buy", "50000", "415.50", ny(14, 0), fills=(("50000", ny(14, 0, 30)),))
    # personal dealing without pre-clearance, then a sale inside the holding period
    bought = _business_day_before(day, 10)
    h.order(
        employee,
        "MSFT",
        "buy",
        "50",
        "410.00",
        ny(10, 30, on=bought),
        fills=(("50", ny(10, 30, 5, on=bought)),),
    )
    h.order(employee, "MSFT", "sell", "50", "415.00", ny(12, 0), fills=(("50", ny(12, 0, 5)),))
    return h.count  # fmt: skip


def seed(stdout: Any) -> None:
    tenant = Tenant.objects.filter(slug=TENANT).first()
    if tenant is None or not Account.objects.for_tenant(tenant).filter(code="E-1001").exists():
        return
    with transaction.atomic():
        planted = 0
        if not Order.objects.for_tenant(tenant).filter(client_order_id__startswith=PREFIX).exists():
            planted = _plant(tenant, timezone.now().astimezone(NY).date())
        result = surveillance_scan(tenant=tenant, actor=None, settle_seconds=0)
    stdout.write(
        f"Surveillance demo for {TENANT}: {planted} planted orders, "
        f"{len(result.raised)} new alerts."
    )
