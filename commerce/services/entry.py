"""Sales order entry: validate (400 naming the field, nothing stored), then create through the
common order service, which gives idempotency, the reference, the journal and screening.

Idempotency key: ``Order.client_order_id = "<channel code>:<external id>"``; the same channel
and external id with the same payload answers the stored order (``created=False``), with a
different payload 409 naming the differing fields. When that key would exceed the column (64
characters), the external id part is replaced by ``#`` + the first hex digits of its SHA-256,
so the key stays deterministic; ``SalesOrder``'s own unique (tenant, channel, external id)
constraint backs it. The key is unambiguous because a channel code cannot contain ``:``
(``commerce.services.channels``): otherwise channel ``a:b`` with order ``c`` and channel ``a``
with order ``b:c`` would share the key ``a:b:c``.

Field names in errors follow the input's shape: ``lines[0].sku`` (0-based, like the JSON
array), ``shipping_address.city``, ``currency``.

Totals, computed here and never taken from the client: per line ``net = quantity x unit
price`` (rounded half-up to 4 places), ``total = net - discount + tax`` (tax and discount are
line amounts; a discount may not exceed the net; ``commerce.services.entry_lines``).
``subtotal = sum(net)``, ``grand_total = subtotal - discounts + taxes + shipping``. The
base-currency total uses the tenant's FX rate on the tenant's business day (the date in the
tenant's time zone, like payment operations: ``money_rules.operation_day``) when the order was
placed (no rate -> 400 naming ``currency``), stored with the rate.

Text fields (external id, note, SKUs, address lines) are refused when they hold a NUL or a
lone surrogate, naming the field (``commerce.services.inputs``); so is an IP address that is
not a string, and a ``placed_at`` too close to the ends of the calendar to convert.

A unit price left out is taken from the product's list price in the order currency (none ->
400 naming ``lines[i].unit_price``).

Shipping address: required, except at a point of sale, where it defaults to the store's
address (the goods are handed over there). Coordinates missing from it are looked up offline;
an address that cannot be located is refused (routing needs the distance), naming
``shipping_address.city``. A POS channel must have its store set (else 400 naming
``channel``); its orders are allocated from that store only (``commerce.services.allocation``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.utils import timezone

from commerce.models import (
    Address,
    Channel,
    ChannelKind,
    Customer,
    SalesOrder,
    SalesOrderLine,
)
from commerce.services.entry_lines import CENTS, ZERO, OrderDraft, amount_of, lines_clean
from commerce.services.fx import currency_error, fx_rate
from commerce.services.inputs import MONEY_MAX, Errors, address_clean, country_of, text_of
from commerce.services.money_rules import operation_day
from commerce.services.status import NO_MONEY, payment_status_of
from oms_site.errors import ValidationFailed
from orders.models import EventKind, Order, OrderKind
from orders.services import OrderCreated, event_record, order_create
from tenancy.models import Tenant

Actor = Any
CLIENT_ID_MAX = 64


def client_order_id_for(channel: Channel, external_id: str) -> str:
    key = f"{channel.code}:{external_id}"
    if len(key) <= CLIENT_ID_MAX:
        return key
    digest = hashlib.sha256(external_id.encode()).hexdigest()
    return f"{channel.code}:#{digest[: CLIENT_ID_MAX - len(channel.code) - 2]}"


def _ship_clean(
    *,
    channel: Channel,
    customer: Customer | None,
    shipping_address: Mapping[str, Any] | Address | None,
    errors: Errors,
) -> dict[str, Any]:
    if isinstance(shipping_address, Address):
        if customer is None or shipping_address.customer_id != customer.pk:
            errors.add("shipping_address", "Not an address of this order's customer.")
            return {}
        data: Mapping[str, Any] = {
            "name": shipping_address.name,
            "line1": shipping_address.line1,
            "line2": shipping_address.line2,
            "city": shipping_address.city,
            "region": shipping_address.region,
            "postal_code": shipping_address.postal_code,
            "country": shipping_address.country,
            "latitude": shipping_address.latitude,
            "longitude": shipping_address.longitude,
        }
    elif shipping_address is None:
        store = channel.store if channel.kind == ChannelKind.POS else None
        if store is None:
            errors.add("shipping_address", "This field is required.")
            return {}
        return {
            "ship_name": store.name,
            "ship_line1": store.line1 or store.name,
            "ship_city": store.city,
            "ship_postal_code": store.postal_code,
            "ship_country": store.country,
            "ship_latitude": store.latitude,
            "ship_longitude": store.longitude,
        }
    else:
        data = shipping_address
    clean = address_clean(data, prefix="shipping_address.", errors=errors, require_location=True)
    return {f"ship_{key}": value for key, value in clean.items()}


def _payload(
    *,
    channel: Channel,
    external_id: str,
    currency: str,
    customer: Customer | None,
    draft: OrderDraft,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """What a resubmission is compared with: references by code, amounts as stored."""
    return {
        "channel": channel.code,
        "external_id": external_id,
        "currency": currency,
        "customer": customer.pk if customer else None,
        "lines": [
            {
                "sku": line.product.sku,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "discount": str(line.discount),
                "tax": str(line.tax),
            }
            for line in draft.lines
        ],
        "shipping_total": str(draft.shipping_total),
        "shipping_address": {k: str(v) if v is not None else None for k, v in draft.ship.items()},
        **extra,
    }


def _same_tenant(tenant: Tenant, **refs: Any) -> None:
    errors = {
        name: ["Not found."]
        for name, ref in refs.items()
        if ref is not None and ref.tenant_id != tenant.pk
    }
    if errors:
        raise ValidationFailed(errors=errors)


def _ip_check(value: Any, *, errors: Errors) -> None:
    if value is None:
        return
    try:
        if not isinstance(value, str):
            raise ValidationError("not a string")
        validate_ipv46_address(value)
    except ValidationError:
        errors.add("ip_address", "A valid IP address.")


def _business_day(tenant: Tenant, placed: datetime, *, errors: Errors) -> date | None:
    """The tenant's business day when the order was placed: its FX date."""
    if timezone.is_naive(placed):
        errors.add("placed_at", "Give a time zone (UTC offset).")
        return None
    try:
        placed.astimezone(UTC)  # stored in UTC
        return operation_day(tenant, at=placed)
    except OverflowError:
        errors.add("placed_at", "Out of range.")
        return None


def _rate_on(tenant: Tenant, currency: str, day: date, *, errors: Errors) -> Decimal:
    try:
        return fx_rate(
            tenant=tenant, from_currency=currency, to_currency=tenant.base_currency, on=day
        )
    except ValidationFailed as exc:
        for name, messages in exc.errors.items():
            for message in messages:
                errors.add(name, message)
        return Decimal("1")


def sales_order_create(
    *,
    tenant: Tenant,
    actor: Actor,
    channel: Channel,
    external_id: str,
    currency: str,
    lines: Sequence[Mapping[str, Any]],
    customer: Customer | None = None,
    shipping_address: Mapping[str, Any] | Address | None = None,
    shipping_total: Any = ZERO,
    billing_country: str = "",
    ip_address: str | None = None,
    ip_country: str = "",
    placed_at: datetime | None = None,
    marketplace_status: str = "",
    marketplace_updated_at: datetime | None = None,
    exchange_of: SalesOrder | None = None,
    note: str = "",
    submit: bool = True,
) -> OrderCreated:
    """Enter a sales order with its lines (module docstring: rules, totals, idempotency).

    ``exchange_of`` makes it the replacement order of an exchange: the original order's
    journal gets ``EXCHANGE_CREATED`` naming the new order. Returns ``OrderCreated`` (the
    common order; ``order.sales`` is the detail).
    """
    _same_tenant(tenant, channel=channel, customer=customer, exchange_of=exchange_of)
    errors = Errors()
    if not channel.active:
        errors.add("channel", f"Channel {channel.code} is not active.")
    if channel.kind == ChannelKind.POS and channel.store_id is None:
        errors.add("channel", f"Point-of-sale channel {channel.code} has no store set.")
    external_id = text_of(external_id, field="external_id", errors=errors, max_length=128)
    note = text_of(note, field="note", errors=errors, max_length=500, required=False)
    problem = currency_error(currency)
    if problem:
        errors.add("currency", problem)
    elif channel.currency and currency != channel.currency:
        errors.add("currency", f"Channel {channel.code} sells in {channel.currency}.")
    draft = OrderDraft(currency=currency if not problem else "")
    draft.lines = lines_clean(
        tenant=tenant, lines=lines, currency=None if problem else currency, errors=errors
    )
    draft.ship = _ship_clean(
        channel=channel, customer=customer, shipping_address=shipping_address, errors=errors
    )
    draft.shipping_total = (
        amount_of(shipping_total, field="shipping_total", errors=errors, default=ZERO) or ZERO
    )
    if billing_country:
        country_of(billing_country, field="billing_country", errors=errors)
    if ip_country:
        country_of(ip_country, field="ip_country", errors=errors)
    _ip_check(ip_address, errors=errors)
    placed = placed_at or timezone.now()
    placed_day = _business_day(tenant, placed, errors=errors)
    if draft.grand_total >= MONEY_MAX:
        errors.add("lines", "The order total is too large.")
    if placed_day is not None and not problem and not errors:
        draft.fx_rate = _rate_on(tenant, currency, placed_day, errors=errors)
    errors.raise_if_any()
    extra = {
        "billing_country": billing_country,
        "ip_address": ip_address,
        "ip_country": ip_country,
        "placed_at": placed_at,
        "exchange_of": exchange_of.pk if exchange_of else None,
        "note": note,
    }
    payload = _payload(
        channel=channel,
        external_id=external_id,
        currency=currency,
        customer=customer,
        draft=draft,
        extra=extra,
    )

    def detail_create(order: Order) -> None:
        _detail_create(
            tenant=tenant,
            order=order,
            channel=channel,
            external_id=external_id,
            customer=customer,
            draft=draft,
            fields={
                "billing_country": billing_country,
                "ip_address": ip_address,
                "ip_country": ip_country,
                "placed_at": placed,
                "marketplace_status": marketplace_status,
                "marketplace_updated_at": marketplace_updated_at,
                "exchange_of": exchange_of,
            },
        )
        if exchange_of is not None:
            event_record(
                order=exchange_of.order,
                kind=EventKind.EXCHANGE_CREATED,
                actor=actor,
                data={"exchange_order_id": order.pk, "exchange_reference": order.reference},
            )

    return order_create(
        tenant=tenant,
        actor=actor,
        kind=OrderKind.SALES,
        client_order_id=client_order_id_for(channel, external_id),
        payload=payload,
        note=note,
        submit=submit,
        detail_create=detail_create,
    )


def _detail_create(
    *,
    tenant: Tenant,
    order: Order,
    channel: Channel,
    external_id: str,
    customer: Customer | None,
    draft: OrderDraft,
    fields: dict[str, Any],
) -> SalesOrder:
    grand_total = draft.grand_total
    sales = SalesOrder(
        tenant=tenant,
        order=order,
        channel=channel,
        external_id=external_id,
        customer=customer,
        currency=draft.currency,
        subtotal=draft.subtotal,
        discount_total=draft.discount_total,
        tax_total=draft.tax_total,
        shipping_total=draft.shipping_total,
        grand_total=grand_total,
        base_currency=tenant.base_currency,
        fx_rate=draft.fx_rate,
        grand_total_base=(grand_total * draft.fx_rate).quantize(CENTS, rounding=ROUND_HALF_UP),
        # derived as every refresh derives it: an order with nothing to pay is paid at once
        payment_status=payment_status_of(grand_total=grand_total, money=NO_MONEY),
        **draft.ship,
        **fields,
    )
    sales.save(force_insert=True)
    SalesOrderLine.objects.bulk_create(
        [
            SalesOrderLine(
                tenant=tenant,
                sales_order=sales,
                line_no=number,
                product=line.product,
                sku=line.product.sku,
                external_line_id=line.external_line_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
                total=line.total,
            )
            for number, line in enumerate(draft.lines, start=1)
        ]
    )
    order.sales = sales
    return sales
