"""Exchanges: a linked replacement order for a return (``Return.exchange_order``,
``SalesOrder.exchange_of``) with the returned products and quantities, or the replacement SKUs
asked for; same channel, customer, address and currency; priced at zero (the original payment
covers it; a price difference is charged or refunded separately), hence ``paid`` from the start
(nothing to pay: ``commerce.services.status``). Allowed once the return is approved (approved,
received or restocked); one exchange per return; journaled EXCHANGE_CREATED on both orders and
RETURN_UPDATED on the original. Roles: ``SALES_ENTRY``.

Locks, in the global order of ``commerce.services.locks``: the original order and sales order
rows, then the return (``return_lock``); the replacement order is created in the same
transaction (its rows are new: no other writer sees them before the commit), and its reference
counter is taken last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from commerce.models import Product, Return, ReturnLine, ReturnState, SalesOrder
from commerce.services.money_rules import decimal_clean, qty_text, role_require
from commerce.services.returns import QTY_DIGITS, QTY_PLACES, return_journal, return_lock
from oms_site.errors import Conflict, TransitionNotAllowed, ValidationFailed
from orders.models import EventKind
from orders.services import event_record
from tenancy.models import Tenant
from tenancy.roles import SALES_ENTRY

Actor = Any
EXCHANGE_STATES = (ReturnState.APPROVED, ReturnState.RECEIVED, ReturnState.RESTOCKED)


@dataclass(frozen=True)
class ReplacementInput:
    """A replacement of ``quantity`` for an order line; ``sku`` asks for another product."""

    line_id: int
    quantity: Any = None
    sku: str = ""


@transaction.atomic
def return_exchange_create(
    *,
    tenant: Tenant,
    actor: Actor,
    return_id: int,
    replacements: Sequence[ReplacementInput] = (),
) -> SalesOrder:
    """Create the replacement order of a return (see the module docstring). Without
    ``replacements``, every returned line is replaced by the same product and quantity."""
    role_require(tenant=tenant, actor=actor, roles=SALES_ENTRY, what="handle returns")
    sales, ret = return_lock(tenant=tenant, return_id=return_id)
    if ret.exchange_order_id is not None:
        raise Conflict(
            "This return has an exchange order already.",
            extra={"exchange_order_id": ret.exchange_order_id},
        )
    if ret.state not in EXCHANGE_STATES:
        raise TransitionNotAllowed(
            f"Cannot exchange a return that is {ret.state}.", extra={"state": ret.state}
        )
    items = _replacement_items(tenant=tenant, ret=ret, replacements=replacements)
    replacement = _exchange_order_create(
        tenant=tenant, actor=actor, original=sales, rma_number=ret.rma_number, items=items
    )
    ret.exchange_order = replacement
    ret.save(update_fields=["exchange_order", "updated_at"])
    lines = [[product.sku, str(quantity)] for product, quantity in items]
    return_journal(
        sales=sales, ret=ret, actor=actor, action="exchange", exchange_order_id=replacement.pk
    )
    event_record(
        order=replacement.order,
        kind=EventKind.EXCHANGE_CREATED,
        actor=actor,
        data={"rma": ret.rma_number, "exchange_of": sales.pk, "lines": lines},
    )
    return replacement


def _replacement_items(
    *, tenant: Tenant, ret: Return, replacements: Sequence[ReplacementInput]
) -> list[tuple[Product, Decimal]]:
    return_lines = {
        rl.line_id: rl
        for rl in ReturnLine.objects.for_tenant(tenant)
        .select_related("line__product")
        .filter(return_request=ret)
    }
    if not replacements:
        return [(rl.line.product, rl.quantity) for rl in return_lines.values()]
    errors: dict[str, list[str]] = {}
    items: list[tuple[Product, Decimal]] = []
    for index, item in enumerate(replacements):
        rl = return_lines.get(item.line_id)
        if rl is None:
            errors[f"replacements[{index}].line"] = ["This line is not part of the return."]
            continue
        quantity = rl.quantity
        if item.quantity is not None:
            try:
                quantity = decimal_clean(
                    item.quantity,
                    field=f"replacements[{index}].quantity",
                    max_digits=QTY_DIGITS,
                    places=QTY_PLACES,
                )
            except ValidationFailed as exc:
                errors.update(exc.errors)
                continue
            if quantity > rl.quantity:
                errors[f"replacements[{index}].quantity"] = [
                    f"At most {qty_text(rl.quantity)}: the returned quantity."
                ]
                continue
        product = rl.line.product
        if item.sku:
            found = Product.objects.for_tenant(tenant).filter(sku=item.sku, active=True).first()
            if found is None:
                errors[f"replacements[{index}].sku"] = [f"No active product {item.sku}."]
                continue
            product = found
        items.append((product, quantity))
    if errors:
        raise ValidationFailed(errors=errors)
    return items


def _exchange_order_create(
    *,
    tenant: Tenant,
    actor: Actor,
    original: SalesOrder,
    rma_number: str,
    items: list[tuple[Product, Decimal]],
) -> SalesOrder:
    """The replacement order, entered through ``commerce.services.entry.sales_order_create``
    (validation, idempotency, journal, screening; it journals EXCHANGE_CREATED on the original
    order): same channel, customer, address and currency, zero-priced lines, external id
    ``<original external id>/<RMA>``."""
    from commerce.services.entry import sales_order_create

    address = {
        "name": original.ship_name,
        "line1": original.ship_line1,
        "line2": original.ship_line2,
        "city": original.ship_city,
        "region": original.ship_region,
        "postal_code": original.ship_postal_code,
        "country": original.ship_country,
        "latitude": original.ship_latitude,
        "longitude": original.ship_longitude,
    }
    created = sales_order_create(
        tenant=tenant,
        actor=actor,
        channel=original.channel,
        external_id=f"{original.external_id}/{rma_number}"[:128],
        currency=original.currency,
        lines=[
            {"sku": product.sku, "quantity": str(quantity), "unit_price": "0"}
            for product, quantity in items
        ],
        customer=original.customer,
        shipping_address=address,
        billing_country=original.billing_country,
        exchange_of=original,
        note=f"Exchange for {original.order.reference} ({rma_number})",
    )
    return SalesOrder.objects.for_tenant(tenant).select_related("order").get(pk=created.order.pk)
