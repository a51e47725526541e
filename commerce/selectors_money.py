"""Reads of payments, refunds, returns, invoices and FX rates, and the sales report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from commerce.models import (
    FxRate,
    Invoice,
    Payment,
    PaymentOperation,
    PaymentOperationKind,
    Refund,
    Return,
    SalesOrder,
)
from oms_site.errors import NotFound
from orders.models import OrderStatus
from tenancy.models import Tenant

ZERO = Decimal("0")
PLACES = Decimal("0.0001")
# Orders that were never a sale: left out of the report's order counts and totals.
REPORT_EXCLUDED = (
    OrderStatus.DRAFT,
    OrderStatus.REJECTED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
)


def sales_order_get(*, tenant: Tenant, sales_order_id: int) -> SalesOrder:
    sales = (
        SalesOrder.objects.for_tenant(tenant)
        .select_related("order", "channel")
        .filter(pk=sales_order_id)
        .first()
    )
    if sales is None:
        raise NotFound("Sales order not found.")
    return sales


def payments_visible(*, tenant: Tenant) -> QuerySet[Payment]:
    return Payment.objects.for_tenant(tenant).select_related("sales_order__order")


def payment_operations_of(*, tenant: Tenant, payment: Payment) -> QuerySet[PaymentOperation]:
    return PaymentOperation.objects.for_tenant(tenant).filter(payment=payment).order_by("pk")


def refunds_visible(*, tenant: Tenant) -> QuerySet[Refund]:
    return (
        Refund.objects.for_tenant(tenant)
        .select_related("sales_order__order", "payment", "operation", "return_request")
        .prefetch_related("lines__line")
    )


def returns_visible(*, tenant: Tenant) -> QuerySet[Return]:
    return (
        Return.objects.for_tenant(tenant)
        .select_related("sales_order__order", "warehouse", "exchange_order__order")
        .prefetch_related("lines__line")
    )


def invoices_visible(*, tenant: Tenant) -> QuerySet[Invoice]:
    return (
        Invoice.objects.for_tenant(tenant)
        .select_related("sales_order__order", "credited_invoice", "operation")
        .prefetch_related("lines")
    )


def fx_rates_visible(*, tenant: Tenant) -> QuerySet[FxRate]:
    return FxRate.objects.for_tenant(tenant)


# --- sales report ---------------------------------------------------------------------------


@dataclass
class SalesReportRow:
    channel: str
    currency: str
    orders: int = 0
    order_total: Decimal = ZERO
    order_total_base: Decimal = ZERO
    captured: Decimal = ZERO
    captured_base: Decimal = ZERO
    refunded: Decimal = ZERO
    refunded_base: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.captured - self.refunded

    @property
    def net_base(self) -> Decimal:
        return self.captured_base - self.refunded_base


@dataclass
class SalesReport:
    base_currency: str
    date_from: date | None
    date_to: date | None
    rows: list[SalesReportRow] = field(default_factory=list)

    def total(self, name: str) -> Decimal:
        return sum((getattr(row, name) for row in self.rows), ZERO)

    def as_dict(self) -> dict[str, Any]:
        money = ("order_total", "captured", "refunded", "net")
        return {
            "base_currency": self.base_currency,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "rows": [
                {
                    "channel": row.channel,
                    "currency": row.currency,
                    "orders": row.orders,
                    **{name: _text(getattr(row, name)) for name in money},
                    **{f"{name}_base": _text(getattr(row, f"{name}_base")) for name in money},
                }
                for row in self.rows
            ],
            "totals_base": {
                "orders": sum(row.orders for row in self.rows),
                **{name: _text(self.total(f"{name}_base")) for name in money},
            },
        }


def _text(value: Decimal) -> str:
    return str(value.quantize(PLACES))


def sales_report(
    *,
    tenant: Tenant,
    date_from: date | None = None,
    date_to: date | None = None,
    channel: str | None = None,
) -> SalesReport:
    """Per channel and order currency: orders, order totals, captured, refunded and net
    (captured - refunded), each in the order currency and in the tenant's base currency, plus
    totals in the base currency.

    The orders are those created between ``date_from`` and ``date_to`` (inclusive, UTC days).
    Orders and order totals count the sales: drafts, rejected, canceled and expired orders are
    left out (``REPORT_EXCLUDED``; an order whose unshipped remainder was closed is
    ``completed`` and counts). Captured and refunded count real money movements: every capture
    and refund made on any order of the period, whatever its status, so the money of an order
    paid and then canceled (and refunded) is in the report, and net is what the seller kept. A
    channel and currency with money but no counted order is a row with 0 orders.
    Base amounts are the ones stored with each order and operation (the rate of its day), so a
    later rate change does not rewrite history.
    """
    scope = SalesOrder.objects.for_tenant(tenant)
    if date_from is not None:
        scope = scope.filter(created_at__date__gte=date_from)
    if date_to is not None:
        scope = scope.filter(created_at__date__lte=date_to)
    if channel:
        scope = scope.filter(channel__code=channel)
    orders = scope.exclude(order__status__in=REPORT_EXCLUDED)
    rows: dict[tuple[str, str], SalesReportRow] = {}
    for item in (
        orders.values("channel__code", "currency")
        .annotate(n=Count("pk"), total=Sum("grand_total"), total_base=Sum("grand_total_base"))
        .order_by()
    ):
        key = (item["channel__code"], item["currency"])
        rows[key] = SalesReportRow(
            channel=key[0],
            currency=key[1],
            orders=item["n"],
            order_total=item["total"] or ZERO,
            order_total_base=item["total_base"] or ZERO,
        )
    operations = (
        PaymentOperation.objects.for_tenant(tenant)
        .filter(
            payment__sales_order__in=scope.values("pk"),
            kind__in=(PaymentOperationKind.CAPTURE, PaymentOperationKind.REFUND),
        )
        .values("payment__sales_order__channel__code", "currency", "kind")
        .annotate(amount=Sum("amount"), amount_base=Sum("amount_base"))
        .order_by()
    )
    for item in operations:
        key = (item["payment__sales_order__channel__code"], item["currency"])
        row = rows.setdefault(key, SalesReportRow(channel=key[0], currency=key[1]))
        if item["kind"] == PaymentOperationKind.CAPTURE:
            row.captured += item["amount"] or ZERO
            row.captured_base += item["amount_base"] or ZERO
        else:
            row.refunded += item["amount"] or ZERO
            row.refunded_base += item["amount_base"] or ZERO
    return SalesReport(
        base_currency=tenant.base_currency,
        date_from=date_from,
        date_to=date_to,
        rows=[rows[key] for key in sorted(rows)],
    )
