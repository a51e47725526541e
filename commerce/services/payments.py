"""Payments of sales orders: authorize, capture, void, refund; FX rate maintenance.

Rules (all amounts in the order currency; every operation also stores the amount in the
tenant's base currency with the rate used, ``commerce.services.fx`` on the operation day in the
tenant's time zone):

- Each operation carries an ``idempotency_key`` (unique per tenant, ``PaymentOperation``). A
  replay with the same values returns the stored operation and changes nothing; the same key
  with other values (another amount, payment, kind, ...) is a 409 naming the differing fields.
  Concurrent duplicates queue on the row locks, and the unique constraint settles the rest.
- ``currency``, when given, must be the order currency (400 naming ``currency``).
- Authorize: the non-voided authorisations of an order never exceed its grand total (409).
  Authorize and capture are refused (409) on canceled, rejected or expired orders.
- Capture: never more than authorized minus captured (409 with the uncaptured amount; the
  ``payment_capture_le_auth`` check constraint is the last line). A capture issues an invoice.
- Void: releases the uncaptured remainder (authorized becomes captured); nothing left -> 409.
- Refund: see ``commerce.services.refunds`` (``payment_refund`` is its payment-level entry).
- Locks: ``commerce.services.locks.sales_order_lock`` (the order row, then the sales order
  row), then payments ordered by pk; an invoice or credit note number last. Money operations
  on one order are serialised with each other and with every other writer of the order
  (shipments, cancellations, routing), and derived statuses are recomputed on committed facts.
- Roles: ``tenancy.roles.SALES_ENTRY`` (admin, seller, operations) move money; FX rates are
  reference data (``REFERENCE_DATA``: admin, operations).
- Journal: every operation appends an ``OrderEvent`` (PAYMENT; refunds REFUNDED, invoices
  INVOICE_ISSUED) and refreshes the derived statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from commerce.models import (
    Payment,
    PaymentOperation,
    PaymentOperationKind,
    PaymentState,
    SalesOrder,
)
from commerce.services.fx import to_base
from commerce.services.locks import sales_order_lock
from commerce.services.money_rules import (
    currency_check,
    decimal_clean,
    key_clean,
    money_text,
    operation_day,
    role_require,
)
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    ValidationFailed,
)
from orders.models import EventKind, OrderStatus
from orders.services import event_record
from tenancy.models import Tenant
from tenancy.roles import SALES_ENTRY

Actor = Any
ZERO = Decimal("0")
MONEY_MAX_DIGITS, MONEY_PLACES = 20, 4
RATE_MAX_DIGITS, RATE_PLACES = 24, 10
KEY_MAX = 128
CLOSED_ORDER_STATUSES = frozenset({OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


def payments_lock(*, sales_order: SalesOrder) -> list[Payment]:
    """The order's payments locked by pk (the caller holds ``sales_order_lock``)."""
    return list(
        Payment.objects.for_tenant(sales_order.tenant_id)
        .select_for_update()
        .filter(sales_order=sales_order)
        .order_by("pk")
    )


def payment_state_of(payment: Payment) -> str:
    """Derived from the amounts: nothing authorized any more -> voided, etc."""
    if payment.refunded > 0:
        if payment.refunded >= payment.captured:
            return PaymentState.REFUNDED
        return PaymentState.PARTIALLY_REFUNDED
    if payment.authorized <= 0:
        return PaymentState.VOIDED
    if payment.captured <= 0:
        return PaymentState.AUTHORIZED
    if payment.captured < payment.authorized:
        return PaymentState.PARTIALLY_CAPTURED
    return PaymentState.CAPTURED


def operation_replay(
    *, tenant: Tenant, idempotency_key: str, payload: Mapping[str, Any]
) -> PaymentOperation | None:
    """The stored operation of this key if the request matches it; 409 if it differs."""
    stored = (
        PaymentOperation.objects.for_tenant(tenant)
        .select_related("payment")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if stored is None:
        return None
    differing = sorted(
        key
        for key in set(stored.payload) | set(payload)
        if stored.payload.get(key) != payload.get(key)
    )
    if differing:
        raise IdempotencyConflict(
            errors={
                key: ["Differs from the original request with this idempotency_key."]
                for key in differing
            },
            extra={"operation_id": stored.pk},
        )
    return stored


def idempotent(
    *,
    tenant: Tenant,
    idempotency_key: str,
    payload: Mapping[str, Any],
    run: Callable[[], PaymentOperation],
) -> PaymentOperation:
    """Run ``run`` once per key: ``run`` locks its rows and then calls ``operation_replay``;
    a concurrent insert of the same key loses on the unique constraint and replays."""
    try:
        with transaction.atomic():
            return run()
    except IntegrityError:
        stored = operation_replay(tenant=tenant, idempotency_key=idempotency_key, payload=payload)
        if stored is None:
            raise
        return stored


def operation_record(
    *,
    tenant: Tenant,
    payment: Payment,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    payload: Mapping[str, Any],
) -> PaymentOperation:
    converted = to_base(
        tenant=tenant, amount=amount, currency=payment.currency, on=operation_day(tenant)
    )
    operation = PaymentOperation(
        tenant=tenant,
        payment=payment,
        kind=kind,
        idempotency_key=idempotency_key,
        amount=amount,
        currency=payment.currency,
        base_currency=converted.base_currency,
        fx_rate=converted.rate,
        amount_base=converted.amount_base,
        payload=dict(payload),
    )
    operation.save(force_insert=True)
    return operation


def operation_journal(
    *, sales_order: SalesOrder, operation: PaymentOperation, actor: Actor, kind: str
) -> None:
    payment = operation.payment
    event_record(
        order=sales_order.order,
        kind=kind,
        actor=actor,
        data={
            "operation": operation.kind,
            "operation_id": operation.pk,
            "payment_id": payment.pk,
            "amount": str(operation.amount),
            "currency": operation.currency,
            "amount_base": str(operation.amount_base),
            "base_currency": operation.base_currency,
            "fx_rate": str(operation.fx_rate),
            "payment_state": payment.state,
        },
    )


def _payment_for(*, tenant: Tenant, payment_id: int) -> tuple[SalesOrder, Payment]:
    """Lock the payment's order (``sales_order_lock``), then the payment (404 for another
    tenant's id)."""
    sales_order_id = (
        Payment.objects.for_tenant(tenant)
        .filter(pk=payment_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if sales_order_id is None:
        raise NotFound("Payment not found.")
    sales = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    payment = Payment.objects.for_tenant(tenant).select_for_update().get(pk=payment_id)
    payment.sales_order = sales
    return sales, payment


def _refuse_closed(sales: SalesOrder, what: str) -> None:
    status = sales.order.status
    if status in CLOSED_ORDER_STATUSES:
        raise Conflict(f"Cannot {what} on an order that is {status}.", extra={"status": status})


# --- authorize / capture / void -------------------------------------------------------------


@transaction.atomic
def payment_authorize(
    *,
    tenant: Tenant,
    actor: Actor,
    sales_order_id: int,
    amount: Any,
    idempotency_key: str,
    currency: str | None = None,
    method: str = "card",
    provider_reference: str = "",
) -> PaymentOperation:
    """Authorize ``amount`` on a new payment of the order (its AUTHORIZE operation)."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="move money")
    key = key_clean(idempotency_key)
    value = decimal_clean(amount, field="amount")
    if not method or len(method) > 32:
        raise ValidationFailed(errors={"method": ["Use 1-32 characters."]})
    if len(provider_reference) > 128:
        raise ValidationFailed(errors={"provider_reference": ["At most 128 characters."]})

    order_currency = (
        SalesOrder.objects.for_tenant(tenant)
        .filter(pk=sales_order_id)
        .values_list("currency", flat=True)
        .first()
    )
    if order_currency is None:
        raise NotFound("Sales order not found.")
    payload = {
        "kind": PaymentOperationKind.AUTHORIZE,
        "sales_order": sales_order_id,
        "amount": str(value),
        "currency": currency or order_currency,
        "method": method,
        "provider_reference": provider_reference,
    }

    def run() -> PaymentOperation:
        sales = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
        stored = operation_replay(tenant=tenant, idempotency_key=key, payload=payload)
        if stored is not None:
            return stored
        currency_check(currency=currency, order_currency=sales.currency)
        _refuse_closed(sales, "authorize a payment")
        payments = payments_lock(sales_order=sales)
        authorized = sum((p.authorized for p in payments), ZERO)
        if authorized + value > sales.grand_total:
            raise Conflict(
                f"Authorizations would exceed the order total {money_text(sales.grand_total)} "
                f"(already authorized {money_text(authorized)}).",
                errors={"amount": [f"At most {money_text(sales.grand_total - authorized)}."]},
            )
        payment = Payment(
            tenant=tenant,
            sales_order=sales,
            method=method,
            provider_reference=provider_reference,
            currency=sales.currency,
            authorized=value,
        )
        payment.state = payment_state_of(payment)
        payment.save(force_insert=True)
        operation = operation_record(
            tenant=tenant,
            payment=payment,
            kind=PaymentOperationKind.AUTHORIZE,
            amount=value,
            idempotency_key=key,
            payload=payload,
        )
        operation_journal(
            sales_order=sales, operation=operation, actor=actor, kind=EventKind.PAYMENT
        )
        sales_order_status_refresh(sales_order=sales)
        return operation

    return idempotent(tenant=tenant, idempotency_key=key, payload=payload, run=run)


@transaction.atomic
def payment_capture(
    *,
    tenant: Tenant,
    actor: Actor,
    payment_id: int,
    amount: Any,
    idempotency_key: str,
    currency: str | None = None,
) -> PaymentOperation:
    """Capture ``amount`` of the payment's uncaptured authorisation and issue the invoice."""
    from commerce.services.invoices import invoice_issue_for_capture

    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="move money")
    key = key_clean(idempotency_key)
    value = decimal_clean(amount, field="amount")

    payload = _replay_payload(tenant, payment_id, PaymentOperationKind.CAPTURE, value, currency)

    def run() -> PaymentOperation:
        sales, payment = _payment_for(tenant=tenant, payment_id=payment_id)
        stored = operation_replay(tenant=tenant, idempotency_key=key, payload=payload)
        if stored is not None:
            return stored
        currency_check(currency=currency, order_currency=payment.currency)
        _refuse_closed(sales, "capture a payment")
        uncaptured = payment.authorized - payment.captured
        if payment.state == PaymentState.VOIDED:
            raise Conflict("The payment is voided: nothing to capture.")
        if value > uncaptured:
            raise Conflict(
                f"Cannot capture {money_text(value)}: only {money_text(uncaptured)} "
                f"{payment.currency} of the authorisation is uncaptured.",
                errors={"amount": [f"At most {money_text(uncaptured)}."]},
                extra={"uncaptured": money_text(uncaptured)},
            )
        payment.captured += value
        payment.state = payment_state_of(payment)
        payment.save(update_fields=["captured", "state", "updated_at"])
        operation = operation_record(
            tenant=tenant,
            payment=payment,
            kind=PaymentOperationKind.CAPTURE,
            amount=value,
            idempotency_key=key,
            payload=payload,
        )
        operation_journal(
            sales_order=sales, operation=operation, actor=actor, kind=EventKind.PAYMENT
        )
        sales_order_status_refresh(sales_order=sales)
        invoice_issue_for_capture(
            tenant=tenant, actor=actor, operation=operation, sales_order=sales
        )
        return operation

    return idempotent(tenant=tenant, idempotency_key=key, payload=payload, run=run)


@transaction.atomic
def payment_void(
    *,
    tenant: Tenant,
    actor: Actor,
    payment_id: int,
    idempotency_key: str,
    currency: str | None = None,
) -> PaymentOperation:
    """Release the uncaptured remainder of the authorisation (a fully uncaptured payment
    becomes ``voided``); with nothing uncaptured -> 409."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="move money")
    key = key_clean(idempotency_key)

    payload = _replay_payload(tenant, payment_id, PaymentOperationKind.VOID, None, currency)

    def run() -> PaymentOperation:
        sales, payment = _payment_for(tenant=tenant, payment_id=payment_id)
        stored = operation_replay(tenant=tenant, idempotency_key=key, payload=payload)
        if stored is not None:
            return stored
        currency_check(currency=currency, order_currency=payment.currency)
        uncaptured = payment.authorized - payment.captured
        if uncaptured <= 0:
            raise Conflict("Nothing uncaptured to void.", extra={"payment_state": payment.state})
        payment.authorized = payment.captured
        payment.state = payment_state_of(payment)
        payment.save(update_fields=["authorized", "state", "updated_at"])
        operation = operation_record(
            tenant=tenant,
            payment=payment,
            kind=PaymentOperationKind.VOID,
            amount=uncaptured,
            idempotency_key=key,
            payload=payload,
        )
        operation_journal(
            sales_order=sales, operation=operation, actor=actor, kind=EventKind.PAYMENT
        )
        sales_order_status_refresh(sales_order=sales)
        return operation

    return idempotent(tenant=tenant, idempotency_key=key, payload=payload, run=run)


def payment_refund(
    *,
    tenant: Tenant,
    actor: Actor,
    payment_id: int,
    amount: Any,
    idempotency_key: str,
    reason: str = "",
    currency: str | None = None,
) -> PaymentOperation:
    """Refund ``amount`` on this payment without goods (a goodwill or price adjustment): the
    refund flow of ``commerce.services.refunds`` with ``adjustment=amount``."""
    from commerce.services.refunds import refund_create

    sales_order_id = (
        Payment.objects.for_tenant(tenant)
        .filter(pk=payment_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if sales_order_id is None:
        raise NotFound("Payment not found.")
    refund = refund_create(
        tenant=tenant,
        actor=actor,
        sales_order_id=sales_order_id,
        payment_id=payment_id,
        adjustment=amount,
        idempotency_key=idempotency_key,
        reason=reason,
        currency=currency,
    )
    return refund.operation


def _replay_payload(
    tenant: Tenant, payment_id: int, kind: str, amount: Decimal | None, currency: str | None
) -> dict[str, Any]:
    payment_currency = (
        Payment.objects.for_tenant(tenant)
        .filter(pk=payment_id)
        .values_list("currency", flat=True)
        .first()
    )
    if payment_currency is None:
        raise NotFound("Payment not found.")
    payload: dict[str, Any] = {
        "kind": kind,
        "payment": payment_id,
        "currency": currency or payment_currency,
    }
    if amount is not None:
        payload["amount"] = str(amount)
    return payload


def order_money(*, sales_order: SalesOrder) -> dict[str, Decimal]:
    """Authorized (non-voided), captured and refunded sums of an order."""
    sums = (
        Payment.objects.for_tenant(sales_order.tenant_id)
        .filter(sales_order=sales_order)
        .aggregate(a=Sum("authorized"), c=Sum("captured"), r=Sum("refunded"))
    )
    return {
        "authorized": sums["a"] or ZERO,
        "captured": sums["c"] or ZERO,
        "refunded": sums["r"] or ZERO,
    }
