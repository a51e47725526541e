"""Returns (RMA): creation with quantity bounds, transitions, restocking.

A return lists order lines and quantities coming back: ``requested`` -> ``approved`` |
``declined``; ``approved`` -> ``received`` (goods arrived) -> ``restocked`` (lines marked
``restock`` go back into ``Stock.on_hand`` of the return's warehouse) or ``rejected`` (damaged:
nothing goes back into stock).

Restock rule (shared with refunds, ``commerce.services.refunds``): each returned unit goes back
into stock at most once, only if its return line says ``restock``, and never for a return
rejected as damaged. A refund naming a received return may put units of a line marked
``restock`` back early (counted in ``ReturnLine.restocked_quantity``); a refund without
``restock`` leaves the decision to the return line. So:

- ``restock`` adds, per line marked ``restock``, its quantity minus ``restocked_quantity``
  (nothing for lines not marked), then ``restocked_quantity = quantity``;
- ``reject`` takes back out of ``Stock.on_hand`` what refunds restocked (``restocked_quantity``
  back to 0), so a rejected return leaves nothing in stock; if those units were allocated or
  reserved since, the reject is refused (409: free them, or restock the return instead);
- every restock retries the backorders of the products after commit
  (``commerce.services.allocation.backorders_retry``).

- Per line, the quantity of every return not declined (open ones included, so two requests
  cannot claim the same units) never exceeds the shipped quantity (fulfilment lines of shipped
  or delivered fulfilments) (400 naming ``lines[i].quantity``). The order is locked while
  this is checked.
- RMA numbers ``RMA-<year>-000001`` are gapless per tenant and year (the ``DocumentSequence``
  counter of kind ``rma``, incremented in the creating transaction).
- The warehouse defaults to the one the goods shipped from (the first shipped fulfilment).
- Restocking and rejecting lock the return lines, then the stock rows (ordered by pk).
- Locks, in the global order of ``commerce.services.locks``: the order and sales order rows
  (``sales_order_lock``), the return, its lines, the stock rows of a restock or reject (by
  pk), then the RMA counter.
- Every change journals RETURN_UPDATED on the order and refreshes the derived statuses.
- Exchanges (a linked replacement order): ``commerce.services.exchanges``.
- Roles: ``SALES_ENTRY`` (admin, seller, operations).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_fsm import can_proceed

from commerce.models import (
    DocumentKind,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    Return,
    ReturnLine,
    ReturnState,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)
from commerce.services.allocation import backorders_retry
from commerce.services.invoices import document_number_next
from commerce.services.locks import sales_order_lock
from commerce.services.money_rules import decimal_clean, qty_text, role_require
from commerce.services.status import sales_order_status_refresh
from oms_site.errors import Conflict, NotFound, TransitionNotAllowed, ValidationFailed
from orders.models import EventKind
from orders.services import event_record
from tenancy.models import Tenant
from tenancy.roles import SALES_ENTRY

Actor = Any
ZERO = Decimal("0")
QTY_DIGITS, QTY_PLACES = 14, 3
SHIPPED_STATES = (FulfilmentState.SHIPPED, FulfilmentState.DELIVERED)
TRANSITIONS = ("approve", "decline", "receive", "restock", "reject")


@dataclass(frozen=True)
class ReturnLineInput:
    line_id: int
    quantity: Any
    restock: bool = True


# --- quantities and stock -------------------------------------------------------------------


def shipped_by_line(*, tenant: Tenant, sales_order: SalesOrder) -> dict[int, Decimal]:
    return {
        row["line_id"]: row["q"] or ZERO
        for row in FulfilmentLine.objects.for_tenant(tenant)
        .filter(fulfilment__sales_order=sales_order, fulfilment__state__in=SHIPPED_STATES)
        .values("line_id")
        .annotate(q=Sum("shipped_quantity"))
    }


def returned_by_line(*, tenant: Tenant, sales_order: SalesOrder) -> dict[int, Decimal]:
    """Units claimed by returns that were not declined (open ones included)."""
    return {
        row["line_id"]: row["q"] or ZERO
        for row in ReturnLine.objects.for_tenant(tenant)
        .filter(return_request__sales_order=sales_order)
        .exclude(return_request__state=ReturnState.DECLINED)
        .values("line_id")
        .annotate(q=Sum("quantity"))
    }


def stock_add(
    *, tenant: Tenant, warehouse: Warehouse, quantities: Sequence[tuple[int, Decimal]]
) -> list[dict[str, str]]:
    """Add units to ``Stock.on_hand`` (rows created if missing, then locked by pk); the
    products' backorders are retried after commit (``backorders_retry``)."""
    by_product: dict[int, Decimal] = {}
    for product_id, quantity in quantities:
        by_product[product_id] = by_product.get(product_id, ZERO) + quantity
    Stock.objects.bulk_create(
        [Stock(tenant=tenant, warehouse=warehouse, product_id=pid) for pid in by_product],
        ignore_conflicts=True,
    )
    rows = list(
        Stock.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("product")
        .filter(warehouse=warehouse, product_id__in=by_product)
        .order_by("pk")
    )
    moved = []
    for row in rows:
        quantity = by_product[row.product_id]
        Stock.objects.for_tenant(tenant).filter(pk=row.pk).update(
            on_hand=F("on_hand") + quantity, updated_at=timezone.now()
        )
        moved.append(
            {"warehouse": warehouse.code, "sku": row.product.sku, "quantity": str(quantity)}
        )
    backorders_retry(tenant_id=tenant.pk, product_ids=list(by_product))
    return moved


def return_lines_add_restocked(
    *, tenant: Tenant, return_request: Return, quantities: Sequence[tuple[int, Decimal]]
) -> None:
    for line_id, quantity in quantities:
        ReturnLine.objects.for_tenant(tenant).filter(
            return_request=return_request, line_id=line_id
        ).update(restocked_quantity=F("restocked_quantity") + quantity)


# --- create ---------------------------------------------------------------------------------


def return_journal(
    *, sales: SalesOrder, ret: Return, actor: Actor, action: str, **data: Any
) -> None:
    event_record(
        order=sales.order,
        kind=EventKind.RETURN_UPDATED,
        actor=actor,
        data={
            "return_id": ret.pk,
            "rma": ret.rma_number,
            "action": action,
            "state": ret.state,
            **data,
        },
    )


def _lines_clean(lines: Sequence[ReturnLineInput]) -> list[tuple[int, Decimal, bool]]:
    if not lines:
        raise ValidationFailed(errors={"lines": ["At least one line is required."]})
    errors: dict[str, list[str]] = {}
    cleaned = []
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


@transaction.atomic
def return_create(
    *,
    tenant: Tenant,
    actor: Actor,
    sales_order_id: int,
    lines: Sequence[ReturnLineInput],
    reason: str = "",
    warehouse_id: int | None = None,
) -> Return:
    """Open an RMA for shipped units of the order (see the module docstring)."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="handle returns")
    cleaned = _lines_clean(lines)
    if not isinstance(reason, str) or len(reason) > 500:
        raise ValidationFailed(errors={"reason": ["At most 500 characters."]})
    sales = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    warehouse = _warehouse_of(tenant=tenant, sales=sales, warehouse_id=warehouse_id)
    order_lines = {
        line.pk: line
        for line in SalesOrderLine.objects.for_tenant(tenant).filter(sales_order=sales)
    }
    shipped = shipped_by_line(tenant=tenant, sales_order=sales)
    returned = returned_by_line(tenant=tenant, sales_order=sales)
    errors: dict[str, list[str]] = {}
    for index, (line_id, quantity, _) in enumerate(cleaned):
        if line_id not in order_lines:
            errors[f"lines[{index}].line"] = [f"No line {line_id} on this order."]
            continue
        sent, back = shipped.get(line_id, ZERO), returned.get(line_id, ZERO)
        if quantity > sent - back:
            errors[f"lines[{index}].quantity"] = [
                f"At most {qty_text(sent - back)}: {qty_text(sent)} shipped, "
                f"{qty_text(back)} returned or requested already."
            ]
    if errors:
        raise ValidationFailed(errors=errors)
    now = timezone.now()
    year = timezone.localtime(now, zoneinfo.ZoneInfo(tenant.timezone)).year
    number = document_number_next(tenant=tenant, kind=DocumentKind.RMA, year=year)
    ret = Return(
        tenant=tenant,
        sales_order=sales,
        rma_number=f"RMA-{year}-{number:06d}",
        reason=reason,
        warehouse=warehouse,
    )
    ret.save(force_insert=True)
    ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                tenant=tenant,
                return_request=ret,
                line=order_lines[line_id],
                quantity=quantity,
                restock=restock,
            )
            for line_id, quantity, restock in cleaned
        ]
    )
    return_journal(
        sales=sales,
        ret=ret,
        actor=actor,
        action="requested",
        lines=[[order_lines[lid].sku, str(q), r] for lid, q, r in cleaned],
    )
    sales_order_status_refresh(sales_order=sales)
    return ret


def _warehouse_of(
    *, tenant: Tenant, sales: SalesOrder, warehouse_id: int | None
) -> Warehouse | None:
    if warehouse_id is not None:
        warehouse = Warehouse.objects.for_tenant(tenant).filter(pk=warehouse_id).first()
        if warehouse is None:
            raise ValidationFailed(errors={"warehouse": [f"No warehouse {warehouse_id}."]})
        return warehouse
    shipped_from = (
        Fulfilment.objects.for_tenant(tenant)
        .filter(sales_order=sales, state__in=SHIPPED_STATES)
        .select_related("warehouse")
        .order_by("pk")
        .first()
    )
    return shipped_from.warehouse if shipped_from else None


# --- transitions ----------------------------------------------------------------------------


def return_lock(*, tenant: Tenant, return_id: int) -> tuple[SalesOrder, Return]:
    """Lock the return's order (``sales_order_lock``), then the return (404 for another
    tenant's id)."""
    sales_order_id = (
        Return.objects.for_tenant(tenant)
        .filter(pk=return_id)
        .values_list("sales_order_id", flat=True)
        .first()
    )
    if sales_order_id is None:
        raise NotFound("Return not found.")
    sales = sales_order_lock(tenant=tenant, sales_order_id=sales_order_id)
    ret = (
        Return.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("warehouse")
        .get(pk=return_id)
    )
    return sales, ret


@transaction.atomic
def return_transition(
    *,
    tenant: Tenant,
    actor: Actor,
    return_id: int,
    transition: str,
    note: str = "",
    warehouse_id: int | None = None,
) -> Return:
    """approve / decline / receive / restock / reject (409 from a state that does not allow
    it). ``receive`` may name the warehouse the goods arrived at; ``restock`` needs one."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="handle returns")
    if transition not in TRANSITIONS:
        raise ValidationFailed(errors={"transition": [f"Use one of {', '.join(TRANSITIONS)}."]})
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationFailed(errors={"note": ["At most 500 characters."]})
    sales, ret = return_lock(tenant=tenant, return_id=return_id)
    method = getattr(ret, transition)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {transition} a return that is {ret.state}.", extra={"state": ret.state}
        )
    from_state = ret.state
    if warehouse_id is not None:
        if transition != "receive":
            raise ValidationFailed(errors={"warehouse": ["Only set when receiving."]})
        ret.warehouse = _warehouse_of(tenant=tenant, sales=sales, warehouse_id=warehouse_id)
    restocked: list[dict[str, str]] = []
    if transition == "restock":
        if ret.warehouse is None:
            raise ValidationFailed(
                errors={"warehouse": ["The return has no warehouse to restock into."]}
            )
        restocked = _restock_rest(tenant=tenant, ret=ret)
    elif transition == "reject":
        restocked = _take_back(tenant=tenant, ret=ret)
    method()
    if note:
        ret.resolution_note = note
    ret.save(update_fields=["state", "warehouse", "resolution_note", "updated_at"])
    return_journal(
        sales=sales,
        ret=ret,
        actor=actor,
        action=transition,
        from_state=from_state,
        note=note,
        stock=restocked,
    )
    sales_order_status_refresh(sales_order=sales)
    return ret


def _restock_rest(*, tenant: Tenant, ret: Return) -> list[dict[str, str]]:
    """Lines marked restock, minus what a refund put back already."""
    lines = list(
        ReturnLine.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("line")
        .filter(return_request=ret, restock=True)
        .order_by("pk")
    )
    wanted = [(rl, rl.quantity - rl.restocked_quantity) for rl in lines]
    wanted = [(rl, q) for rl, q in wanted if q > 0]
    if not wanted:
        return []
    assert ret.warehouse is not None
    moved = stock_add(
        tenant=tenant,
        warehouse=ret.warehouse,
        quantities=[(rl.line.product_id, q) for rl, q in wanted],
    )
    for rl, _ in wanted:
        ReturnLine.objects.for_tenant(tenant).filter(pk=rl.pk).update(
            restocked_quantity=F("quantity")
        )
    return moved


def _take_back(*, tenant: Tenant, ret: Return) -> list[dict[str, str]]:
    """A return rejected as damaged keeps nothing in stock: the units a refund restocked go
    out of ``Stock.on_hand`` again (409 when they are no longer available: allocated or
    reserved since). Returns the stock moved, as negative quantities."""
    lines = list(
        ReturnLine.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .filter(return_request=ret, restocked_quantity__gt=0)
        .select_related("line")
        .order_by("pk")
    )
    if not lines:
        return []
    assert ret.warehouse is not None  # a refund restocked into it
    by_product: dict[int, Decimal] = {}
    for rl in lines:
        product_id = rl.line.product_id
        by_product[product_id] = by_product.get(product_id, ZERO) + rl.restocked_quantity
    rows = {
        row.product_id: row
        for row in Stock.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("product")
        .filter(warehouse=ret.warehouse, product_id__in=by_product)
        .order_by("pk")
    }
    moved = []
    for product_id, quantity in sorted(by_product.items()):
        row = rows[product_id]
        if row.available < quantity:
            raise Conflict(
                f"{quantity} of {row.product.sku} restocked from this return are no longer "
                f"available in {ret.warehouse.code} ({row.available} available): free them "
                "first, or restock the return instead.",
                extra={"sku": row.product.sku, "available": str(row.available)},
            )
        Stock.objects.for_tenant(tenant).filter(pk=row.pk).update(
            on_hand=F("on_hand") - quantity, updated_at=timezone.now()
        )
        moved.append(
            {"warehouse": ret.warehouse.code, "sku": row.product.sku, "quantity": str(-quantity)}
        )
    ReturnLine.objects.for_tenant(tenant).filter(pk__in=[rl.pk for rl in lines]).update(
        restocked_quantity=ZERO
    )
    return moved
