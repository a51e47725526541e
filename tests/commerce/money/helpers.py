"""Shared builders and snapshots for the money tests (payments, refunds, returns, invoices)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from commerce.models import (
    DocumentSequence,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    FxRate,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentOperation,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    SalesOrder,
    Stock,
)
from commerce.services.payments import payment_authorize, payment_capture
from orders.models import OrderEvent
from tests.commerce.factories import ProductFactory, WarehouseFactory, sales_order_make

D = Decimal


def today() -> date:
    return timezone.now().date()


def rate(tenant: Any, from_currency: str, to_currency: str, value: str, on: date | None = None):
    return FxRate.objects.create(
        tenant=tenant,
        date=on or today(),
        from_currency=from_currency,
        to_currency=to_currency,
        rate=D(value),
    )


def order_of(tenant: Any, *, lines: Any = None, **kwargs: Any) -> SalesOrder:
    """Default: 2 x 30.00 + 1 x 40.00, 10 % tax, 5.00 shipping = 115.00."""
    if lines is None:
        lines = [
            (ProductFactory(tenant=tenant), 2, "30.00"),
            (ProductFactory(tenant=tenant), 1, "40.00"),
        ]
        kwargs.setdefault("tax_rate", D("0.10"))
        kwargs.setdefault("shipping", D("5.00"))
    with transaction.atomic():  # the factory locks the order (also in transactional tests)
        return sales_order_make(tenant=tenant, lines=lines, **kwargs)


def paid(sales: SalesOrder, *, actor: Any = None, amount: str | None = None) -> Payment:
    """Authorize and capture the whole order (or ``amount``)."""
    total = str(amount or sales.grand_total)
    auth = payment_authorize(
        tenant=sales.tenant,
        actor=actor,
        sales_order_id=sales.pk,
        amount=total,
        idempotency_key=f"auth-{sales.pk}-{total}",
    )
    payment_capture(
        tenant=sales.tenant,
        actor=actor,
        payment_id=auth.payment_id,
        amount=total,
        idempotency_key=f"cap-{sales.pk}-{total}",
    )
    return Payment.objects.for_tenant(sales.tenant_id).get(pk=auth.payment_id)


def ship(sales: SalesOrder, quantities: dict[int, Any], *, warehouse: Any = None) -> Fulfilment:
    """A shipped fulfilment of ``{line_no: quantity}``."""
    tenant = sales.tenant
    warehouse = warehouse or WarehouseFactory(tenant=tenant)
    fulfilment = Fulfilment.objects.create(tenant=tenant, sales_order=sales, warehouse=warehouse)
    Fulfilment.objects.for_tenant(tenant).filter(pk=fulfilment.pk).update(
        state=FulfilmentState.SHIPPED
    )
    for line_no, quantity in quantities.items():
        line = sales.lines.get(line_no=line_no)
        FulfilmentLine.objects.create(
            tenant=tenant,
            fulfilment=fulfilment,
            line=line,
            quantity=D(str(quantity)),
            shipped_quantity=D(str(quantity)),
        )
    return Fulfilment.objects.for_tenant(tenant).get(pk=fulfilment.pk)


def line(sales: SalesOrder, line_no: int) -> Any:
    return sales.lines.get(line_no=line_no)


def reload(sales: SalesOrder) -> SalesOrder:
    return SalesOrder.objects.for_tenant(sales.tenant_id).get(pk=sales.pk)


def events(sales: SalesOrder) -> list[str]:
    return list(
        OrderEvent.objects.for_tenant(sales.tenant_id)
        .filter(order_id=sales.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def money_snapshot(tenant: Any) -> dict[str, Any]:
    """Every money, return, stock and journal row of the tenant: compare around a refusal."""
    models = {
        "payments": (Payment, ("pk", "authorized", "captured", "refunded", "state", "updated_at")),
        "operations": (PaymentOperation, ("pk", "kind", "amount")),
        "refunds": (Refund, ("pk", "amount")),
        "refund_lines": (RefundLine, ("pk", "quantity")),
        "returns": (Return, ("pk", "state", "rma_number", "warehouse_id", "exchange_order_id")),
        "return_lines": (ReturnLine, ("pk", "quantity", "restocked_quantity")),
        "invoices": (Invoice, ("pk", "number")),
        "invoice_lines": (InvoiceLine, ("pk",)),
        "sequences": (DocumentSequence, ("pk", "kind", "year", "last_value")),
        "stock": (Stock, ("pk", "on_hand", "allocated", "reserved")),
        "orders": (SalesOrder, ("pk", "payment_status", "fulfilment_status")),
        "events": (OrderEvent, ("pk", "kind")),
    }
    return {
        name: list(model.objects.for_tenant(tenant).order_by("pk").values_list(*fields))
        for name, (model, fields) in models.items()
    }
