"""Derived statuses of a sales order: payment status and fulfilment status.

Both are computed from the rows that own the facts (payments, shipped fulfilment lines,
returns) and stored on ``SalesOrder`` for filtering; every service that changes those rows
calls :func:`sales_order_status_refresh` in the same transaction, holding the order's rows
(``commerce.services.locks.sales_order_lock``), so the refresh writes a row already locked.

Payment status (amounts in the order currency, voided authorisations ignored):
refunded > 0 -> ``refunded`` when everything captured was refunded, else
``partially_refunded``; captured >= grand total -> ``paid``; captured > 0 ->
``partially_paid``; authorised > 0 -> ``authorized``; else ``unpaid``.

An order with nothing to pay (grand total 0: a fully discounted point-of-sale sale, a free
giveaway, an exchange's replacement order, whose goods the original order's payment covers)
is therefore ``paid`` as soon as its status is derived, with no payment row: nothing is owed,
so it never shows up among orders awaiting payment. The rule is the same for every channel;
the exchange service derives it when it creates the replacement, the point of sale when it
hands the goods over.

Fulfilment status (quantities summed over lines): any received return -> ``returned`` when
returned == shipped, else ``partially_returned``; nothing shipped -> ``unfulfilled``; shipped <
ordered -> ``partially_fulfilled``; all shipped and every shipment delivered -> ``delivered``;
else ``fulfilled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from commerce.models import (
    FulfilmentLine,
    FulfilmentState,
    FulfilmentStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    ReturnLine,
    ReturnState,
    SalesOrder,
    SalesOrderLine,
)

ZERO = Decimal("0")
SHIPPED_STATES = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
RETURNED_STATES = (ReturnState.RECEIVED, ReturnState.RESTOCKED, ReturnState.REJECTED)


@dataclass(frozen=True)
class Money:
    authorized: Decimal
    captured: Decimal
    refunded: Decimal


NO_MONEY = Money(authorized=ZERO, captured=ZERO, refunded=ZERO)  # a new order's


@dataclass(frozen=True)
class Goods:
    ordered: Decimal
    shipped: Decimal
    delivered_all: bool
    returned: Decimal


def payment_status_of(*, grand_total: Decimal, money: Money) -> str:
    if money.refunded > 0:
        if money.refunded >= money.captured:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED
    if money.captured >= grand_total:  # nothing to pay is paid too
        return PaymentStatus.PAID
    if money.captured > 0:
        return PaymentStatus.PARTIALLY_PAID
    if money.authorized > 0:
        return PaymentStatus.AUTHORIZED
    return PaymentStatus.UNPAID


def fulfilment_status_of(goods: Goods) -> str:
    if goods.returned > 0:
        if goods.returned >= goods.shipped:
            return FulfilmentStatus.RETURNED
        return FulfilmentStatus.PARTIALLY_RETURNED
    if goods.shipped <= 0:
        return FulfilmentStatus.UNFULFILLED
    if goods.shipped < goods.ordered:
        return FulfilmentStatus.PARTIALLY_FULFILLED
    if goods.delivered_all:
        return FulfilmentStatus.DELIVERED
    return FulfilmentStatus.FULFILLED


def _money(sales_order: SalesOrder) -> Money:
    sums = (
        Payment.objects.for_tenant(sales_order.tenant_id)
        .filter(sales_order=sales_order)
        .exclude(state=PaymentState.VOIDED)
        .aggregate(a=Sum("authorized"), c=Sum("captured"), r=Sum("refunded"))
    )
    return Money(sums["a"] or ZERO, sums["c"] or ZERO, sums["r"] or ZERO)


def _goods(sales_order: SalesOrder) -> Goods:
    tenant_id = sales_order.tenant_id
    ordered = (
        SalesOrderLine.objects.for_tenant(tenant_id)
        .filter(sales_order=sales_order)
        .aggregate(q=Sum("quantity"))["q"]
        or ZERO
    )
    shipped_lines = FulfilmentLine.objects.for_tenant(tenant_id).filter(
        fulfilment__sales_order=sales_order, fulfilment__state__in=SHIPPED_STATES
    )
    sums = shipped_lines.aggregate(
        shipped=Sum("shipped_quantity"),
        undelivered=Sum("shipped_quantity", filter=~Q(fulfilment__state=FulfilmentState.DELIVERED)),
    )
    returned = (
        ReturnLine.objects.for_tenant(tenant_id)
        .filter(return_request__sales_order=sales_order, return_request__state__in=RETURNED_STATES)
        .aggregate(q=Sum("quantity"))["q"]
        or ZERO
    )
    return Goods(
        ordered=ordered,
        shipped=sums["shipped"] or ZERO,
        delivered_all=not (sums["undelivered"] or ZERO),
        returned=returned,
    )


def sales_order_status_refresh(*, sales_order: SalesOrder) -> SalesOrder:
    """Recompute and store both derived statuses (only the columns that changed)."""
    payment = payment_status_of(grand_total=sales_order.grand_total, money=_money(sales_order))
    fulfilment = fulfilment_status_of(_goods(sales_order))
    changed = []
    if payment != sales_order.payment_status:
        sales_order.payment_status = payment
        changed.append("payment_status")
    if fulfilment != sales_order.fulfilment_status:
        sales_order.fulfilment_status = fulfilment
        changed.append("fulfilment_status")
    if changed:
        sales_order.save(update_fields=[*changed, "updated_at"])
    return sales_order
