"""Refunds: money given back on a captured payment, optionally for goods, shipping, and with
or without restocking; each refund issues a credit note.

A refund is ``sum(lines) + shipping + adjustment`` in the order currency:

- ``lines``: ``[{line, quantity, restock}]`` refunds units of order lines; a line's amount is its
  share of the line total (``total x quantity / ordered``, rounded to cents, with its share of
  discount and tax), and the refund that takes the last units of a line takes what is left, so
  refunding a whole line returns exactly its total. Per line, the refunded quantity never
  exceeds the ordered quantity (400 naming ``lines[i].quantity``); with a ``return`` it never
  exceeds that return's quantity for the line either.
- ``shipping``: never more than the order's shipping minus shipping already refunded (400).
- ``adjustment``: an amount refunded without goods (goodwill, price correction).

Money: the total never exceeds captured minus refunded on the order (409, nothing changed);
it is taken from one payment: the one named, else the oldest payment whose captured minus
refunded covers it (409 when none does alone: refund per payment).

Restock rule, one for refunds and returns (``commerce.services.returns``): each returned unit
goes back into stock at most once, only if its return line says ``restock``, and never for a
return rejected as damaged. The return line carries the decision about the goods; a refund
line's ``restock`` only says whether this refund puts its units back now:

- ``restock: true`` needs the refund to name a ``return`` that is ``received`` (the goods are
  back, not yet restocked or rejected) whose line is marked ``restock``, and units of it not
  restocked yet (400 naming ``lines[i].restock`` otherwise). The units are added to
  ``Stock.on_hand`` of the return's warehouse (row lock) and counted in the return line's
  ``restocked_quantity``; the return's own restock later puts back only the rest.
- ``restock: false`` (the default) moves no stock and decides nothing about the goods: a
  refund is often given before the goods are inspected, or as goodwill, so the units of a line
  marked ``restock`` still go back when the return is restocked. Goods that must stay out are
  marked so on the return line, or the return is rejected.
- Rejecting the return as damaged takes back out of stock the units a refund had restocked
  (409 if they were allocated or reserved since).
- A refund without a return (goods not sent back, or not yet) never moves stock.

Restocked units make goods available: the product's backorders are retried after commit.

Idempotent by ``idempotency_key`` like every payment operation (``commerce.services.payments``);
journaled REFUNDED on the order; derived statuses refreshed.

Locks, in the global order of ``commerce.services.locks``: the order and sales order rows
(``sales_order_lock``), the named return and its lines, the order's payments (by pk), the
stock rows of a restock (by pk), then the credit note counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from commerce.models import (
    Payment,
    PaymentOperation,
    PaymentOperationKind,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    ReturnState,
    SalesOrder,
    SalesOrderLine,
)
from commerce.services.invoices import cents, credit_note_issue_for_refund
from commerce.services.locks import sales_order_lock
from commerce.services.money_rules import (
    currency_check,
    decimal_clean,
    key_clean,
    money_text,
    qty_text,
    role_require,
)
from commerce.services.payments import (
    idempotent,
    operation_journal,
    operation_record,
    operation_replay,
    payment_state_of,
    payments_lock,
)
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import Conflict, NotFound, ValidationFailed
from orders.models import EventKind
from tenancy.models import Tenant
from tenancy.roles import SALES_ENTRY

Actor = Any
ZERO = Decimal("0")
QTY_DIGITS, QTY_PLACES = 14, 3


@dataclass(frozen=True)
class RefundLineInput:
    line_id: int
    quantity: Any
    restock: bool = False


def _lines_clean(lines: Sequence[RefundLineInput]) -> list[tuple[int, Decimal, bool]]:
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[int, Decimal, bool]] = []
    seen: set[int] = set()
    for index, item in enumerate(lines):
        if item.line_id in seen:
            errors[f"lines[{index}].line"] = ["This line is listed twice."]
            continue
        seen.add(item.line_id)
        try:
            quantity = decimal_clean(
                item.quantity,
                field=f"lines[{index}].quantity",
                max_digits=QTY_DIGITS,
                places=QTY_PLACES,
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        cleaned.append((item.line_id, quantity, bool(item.restock)))
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


def _payload(
    *,
    sales_order_id: int,
    lines: list[tuple[int, Decimal, bool]],
    shipping: Decimal,
    adjustment: Decimal,
    payment_id: int | None,
    return_id: int | None,
    reason: str,
    currency: str,
) -> dict[str, Any]:
    return {
        "kind": PaymentOperationKind.REFUND,
        "sales_order": sales_order_id,
        "lines": [[line, str(qty), restock] for line, qty, restock in lines],
        "shipping": str(shipping),
        "adjustment": str(adjustment),
        "payment": payment_id,
        "return": return_id,
        "reason": reason,
        "currency": currency,
    }


@dataclass
class _LinePlan:
    index: int
    line: SalesOrderLine
    quantity: Decimal
    restock: bool
    amount: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO


def _plan_lines(
    *,
    tenant: Tenant,
    sales: SalesOrder,
    lines: list[tuple[int, Decimal, bool]],
    return_request: Return | None,
) -> list[_LinePlan]:
    order_lines = {
        line.pk: line
        for line in SalesOrderLine.objects.for_tenant(tenant).filter(
            sales_order=sales, pk__in=[line_id for line_id, _, _ in lines]
        )
    }
    refunded = {
        row["line_id"]: row
        for row in RefundLine.objects.for_tenant(tenant)
        .filter(refund__sales_order=sales)
        .values("line_id")
        .annotate(q=Sum("quantity"), a=Sum("amount"), d=Sum("discount"), t=Sum("tax"))
    }
    return_lines: dict[int, ReturnLine] = {}
    refunded_on_return: dict[int, Decimal] = {}
    if return_request is not None:
        return_lines = {
            rl.line_id: rl
            for rl in ReturnLine.objects.for_tenant(tenant)
            .select_for_update()
            .filter(return_request=return_request)
            .order_by("pk")
        }
        refunded_on_return = {
            row["line_id"]: row["q"]
            for row in RefundLine.objects.for_tenant(tenant)
            .filter(refund__return_request=return_request)
            .values("line_id")
            .annotate(q=Sum("quantity"))
        }
    errors: dict[str, list[str]] = {}
    plans: list[_LinePlan] = []
    for index, (line_id, quantity, restock) in enumerate(lines):
        line = order_lines.get(line_id)
        if line is None:
            errors[f"lines[{index}].line"] = [f"No line {line_id} on this order."]
            continue
        done = refunded.get(line_id, {})
        done_qty = done.get("q") or ZERO
        left = line.quantity - done_qty
        if quantity > left:
            errors[f"lines[{index}].quantity"] = [
                f"At most {qty_text(left)}: {qty_text(line.quantity)} ordered, "
                f"{qty_text(done_qty)} refunded already."
            ]
            continue
        if return_request is not None:
            return_line = return_lines.get(line_id)
            if return_line is None:
                errors[f"lines[{index}].line"] = ["This line is not part of the return."]
                continue
            on_return = return_line.quantity - refunded_on_return.get(line_id, ZERO)
            if quantity > on_return:
                errors[f"lines[{index}].quantity"] = [
                    f"At most {qty_text(on_return)}: the return's quantity not yet refunded."
                ]
                continue
            if restock and not return_line.restock:
                errors[f"lines[{index}].restock"] = [
                    "The return line is marked not to restock: these units stay out."
                ]
                continue
            if restock and quantity > return_line.quantity - return_line.restocked_quantity:
                errors[f"lines[{index}].restock"] = ["These units were restocked already."]
                continue
        if restock and (return_request is None or return_request.state != ReturnState.RECEIVED):
            errors[f"lines[{index}].restock"] = [
                "Only goods that came back can be restocked: name a received return."
            ]
            continue
        plan = _LinePlan(index=index, line=line, quantity=quantity, restock=restock)
        if quantity == left:  # the last units take what is left (no rounding drift)
            plan.amount = line.total - (done.get("a") or ZERO)
            plan.discount = line.discount - (done.get("d") or ZERO)
            plan.tax = line.tax - (done.get("t") or ZERO)
        else:
            share = quantity / line.quantity
            plan.amount = cents(line.total * share)
            plan.discount = cents(line.discount * share)
            plan.tax = cents(line.tax * share)
        plans.append(plan)
    if errors:
        raise ValidationFailed(errors=errors)
    return plans


def _restock(
    *, tenant: Tenant, return_request: Return, plans: list[_LinePlan]
) -> list[dict[str, str]]:
    """Put the restocked units back into the return's warehouse (rows locked by pk)."""
    wanted = [p for p in plans if p.restock]
    if not wanted:
        return []
    warehouse = return_request.warehouse
    if warehouse is None:
        raise ValidationFailed(errors={"return": ["The return has no warehouse to restock into."]})
    from commerce.services.returns import return_lines_add_restocked, stock_add

    moved = stock_add(
        tenant=tenant,
        warehouse=warehouse,
        quantities=[(p.line.product_id, p.quantity) for p in wanted],
    )
    return_lines_add_restocked(
        tenant=tenant,
        return_request=return_request,
        quantities=[(p.line.pk, p.quantity) for p in wanted],
    )
    return moved


@transaction.atomic
def refund_create(
    *,
    tenant: Tenant,
    actor: Actor,
    sales_order_id: int,
    idempotency_key: str,
    lines: Sequence[RefundLineInput] = (),
    shipping: Any = ZERO,
    adjustment: Any = ZERO,
    payment_id: int | None = None,
    return_id: int | None = None,
    reason: str = "",
    currency: str | None = None,
) -> Refund:
    """Refund goods, shipping and/or an adjustment on an order (see the module docstring)."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="move money")
    key = key_clean(idempotency_key)
    cleaned = _lines_clean(lines)
    shipping_value = decimal_clean(shipping, field="shipping", positive=False)
    adjustment_value = decimal_clean(adjustment, field="adjustment", positive=False)
    if not isinstance(reason, str) or len(reason) > 500:
        raise ValidationFailed(errors={"reason": ["At most 500 characters."]})
    if not cleaned and shipping_value == 0 and adjustment_value == 0:
        raise ValidationFailed(
            errors={"lines": ["Refund something: lines, shipping or an adjustment."]}
        )
    order_currency = (
        SalesOrder.objects.for_tenant(tenant)
        .filter(pk=sales_order_id)
        .values_list("currency", flat=True)
        .first()
    )
    if order_currency is None:
        raise NotFound("Sales order not found.")
    payload = _payload(
        sales_order_id=sales_order_id,
        lines=cleaned,
        shipping=shipping_value,
        adjustment=adjustment_value,
        payment_id=payment_id,
        return_id=return_id,
        reason=reason,
        currency=currency or order_currency,
    )

    def run() -> PaymentOperation:
        sales = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
        stored = operation_replay(tenant=tenant, idempotency_key=key, payload=payload)
        if stored is not None:
            return stored
        currency_check(currency=currency, order_currency=sales.currency)
        return_request = _return_of(tenant=tenant, sales=sales, return_id=return_id)
        plans = _plan_lines(
            tenant=tenant, sales=sales, lines=cleaned, return_request=return_request
        )
        _shipping_check(tenant=tenant, sales=sales, shipping=shipping_value)
        total = sum((p.amount for p in plans), ZERO) + shipping_value + adjustment_value
        if total <= 0:
            raise ValidationFailed(errors={"lines": ["The refund amounts to nothing."]})
        payment = _payment_choose(sales=sales, payment_id=payment_id, total=total)
        payment.refunded += total
        payment.state = payment_state_of(payment)
        payment.save(update_fields=["refunded", "state", "updated_at"])
        operation = operation_record(
            tenant=tenant,
            payment=payment,
            kind=PaymentOperationKind.REFUND,
            amount=total,
            idempotency_key=key,
            payload=payload,
        )
        refund = Refund(
            tenant=tenant,
            sales_order=sales,
            payment=payment,
            operation=operation,
            return_request=return_request,
            amount=total,
            shipping=shipping_value,
            currency=operation.currency,
            base_currency=operation.base_currency,
            fx_rate=operation.fx_rate,
            amount_base=operation.amount_base,
            reason=reason,
        )
        refund.save(force_insert=True)
        RefundLine.objects.bulk_create(
            [
                RefundLine(
                    tenant=tenant,
                    refund=refund,
                    line=p.line,
                    quantity=p.quantity,
                    amount=p.amount,
                    discount=p.discount,
                    tax=p.tax,
                    restock=p.restock,
                )
                for p in plans
            ]
        )
        restocked = (
            _restock(tenant=tenant, return_request=return_request, plans=plans)
            if return_request is not None
            else []
        )
        operation_journal(
            sales_order=sales, operation=operation, actor=actor, kind=EventKind.REFUNDED
        )
        if restocked:
            from orders.services import event_record

            event_record(
                order=sales.order,
                kind=EventKind.RETURN_UPDATED,
                actor=actor,
                data={
                    "return": return_request.rma_number if return_request else "",
                    "restocked_by_refund": refund.pk,
                    "stock": restocked,
                },
            )
        sales_order_status_refresh(sales_order=sales)
        credit_note_issue_for_refund(tenant=tenant, actor=actor, refund=refund)
        return operation

    operation = idempotent(tenant=tenant, idempotency_key=key, payload=payload, run=run)
    return (
        Refund.objects.for_tenant(tenant)
        .select_related("operation", "payment")
        .get(operation=operation)
    )


def _return_of(*, tenant: Tenant, sales: SalesOrder, return_id: int | None) -> Return | None:
    if return_id is None:
        return None
    found = (
        Return.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .filter(pk=return_id, sales_order=sales)
        .first()
    )
    if found is None:
        raise ValidationFailed(errors={"return": [f"No return {return_id} on this order."]})
    if found.state in (ReturnState.REQUESTED, ReturnState.DECLINED):
        raise ValidationFailed(
            errors={"return": [f"The return is {found.state}: approve it before refunding."]}
        )
    return found


def _shipping_check(*, tenant: Tenant, sales: SalesOrder, shipping: Decimal) -> None:
    if shipping == 0:
        return
    done = (
        Refund.objects.for_tenant(tenant)
        .filter(sales_order=sales)
        .aggregate(s=Sum("shipping"))["s"]
        or ZERO
    )
    left = sales.shipping_total - done
    if shipping > left:
        raise ValidationFailed(
            errors={
                "shipping": [
                    f"At most {money_text(left)}: shipping {money_text(sales.shipping_total)}, "
                    f"{money_text(done)} refunded."
                ]
            }
        )


def _payment_choose(*, sales: SalesOrder, payment_id: int | None, total: Decimal) -> Payment:
    payments = payments_lock(sales_order=sales)
    refundable = sum((p.captured - p.refunded for p in payments), ZERO)
    if total > refundable:
        raise Conflict(
            f"Cannot refund {money_text(total)} {sales.currency}: only {money_text(refundable)} "
            "captured and not yet refunded.",
            extra={"refundable": money_text(refundable)},
        )
    if payment_id is not None:
        chosen = next((p for p in payments if p.pk == payment_id), None)
        if chosen is None:
            raise ValidationFailed(errors={"payment": [f"No payment {payment_id} on this order."]})
        left = chosen.captured - chosen.refunded
        if total > left:
            raise Conflict(
                f"Cannot refund {money_text(total)}: payment {payment_id} has only "
                f"{money_text(left)} refundable.",
                extra={"refundable": money_text(left)},
            )
        return chosen
    for payment in payments:
        if payment.captured - payment.refunded >= total:
            return payment
    raise Conflict(
        f"No single payment covers {money_text(total)}: refund per payment (name `payment`).",
        extra={"refundable": money_text(refundable)},
    )
