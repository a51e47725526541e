"""Sales order entry: validate (400 naming the field, nothing stored), then create through the
common order service, which gives idempotency, the reference, the journal and screening.

Idempotency key: ``Order.client_order_id = "<channel code>:<external id>"``; the same channel
and external id with the same payload answers the stored order (``created=False``), with a
different payload 409 naming the differing fields. When that key would exceed the column (64
characters), the external id part is replaced by ``#`` + the first hex digits of its SHA-256,
so the key stays deterministic; ``SalesOrder``'s own unique (tenant, channel, external id)
constraint backs it.

Field names in errors follow the input's shape: ``lines[0].sku`` (0-based, like the JSON
array), ``shipping_address.city``, ``currency``.

Totals, computed here and never taken from the client: per line ``net = quantity x unit
price`` (rounded half-up to 4 places), ``total = net - discount + tax`` (tax and discount are
line amounts; a discount may not exceed the net). ``subtotal = sum(net)``, ``grand_total =
subtotal - discounts + taxes + shipping``. The base-currency total uses the tenant's FX rate
on the day the order was placed (no rate -> 400 naming ``currency``), stored with the rate.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from commerce.models import (
    Address,
    Channel,
    ChannelKind,
    Customer,
    Product,
    ProductPrice,
    SalesOrder,
    SalesOrderLine,
)
from commerce.services.catalog import (
    MONEY_MAX,
    QTY_MAX,
    Errors,
    address_clean,
    country_of,
    decimal_of,
    text_of,
)
from commerce.services.fx import currency_error, fx_rate
from oms_site.errors import ValidationFailed
from orders.models import EventKind, Order, OrderKind
from orders.services import OrderCreated, event_record, order_create
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
CENTS = Decimal("0.0001")
LINE_KEYS = {"sku", "quantity", "unit_price", "tax", "discount", "external_line_id"}
CLIENT_ID_MAX = 64


def client_order_id_for(channel: Channel, external_id: str) -> str:
    key = f"{channel.code}:{external_id}"
    if len(key) <= CLIENT_ID_MAX:
        return key
    digest = hashlib.sha256(external_id.encode()).hexdigest()
    return f"{channel.code}:#{digest[: CLIENT_ID_MAX - len(channel.code) - 2]}"


@dataclass
class LineDraft:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    external_line_id: str

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENTS, rounding=ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.net - self.discount + self.tax


@dataclass
class OrderDraft:
    currency: str
    lines: list[LineDraft] = field(default_factory=list)
    ship: dict[str, Any] = field(default_factory=dict)
    shipping_total: Decimal = ZERO
    fx_rate: Decimal = Decimal("1")

    @property
    def subtotal(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.tax_total + self.shipping_total


def _amount(value: Any, *, field: str, errors: Errors, default: Decimal | None) -> Decimal | None:
    if value is None and default is not None:
        return default
    number = decimal_of(value, field=field, errors=errors, places=4, maximum=MONEY_MAX)
    if number is not None and number < 0:
        errors.add(field, "Must not be negative.")
        return None
    return number


def _lines_clean(*, tenant: Tenant, lines: Any, currency: str, errors: Errors) -> list[LineDraft]:
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes):
        errors.add("lines", "Must be a list of lines.")
        return []
    if not lines:
        errors.add("lines", "An order needs at least one line.")
        return []
    skus = {line.get("sku") for line in lines if isinstance(line, Mapping)}
    products = {
        p.sku: p
        for p in Product.objects.for_tenant(tenant).filter(
            sku__in=[s for s in skus if isinstance(s, str)]
        )
    }
    prices = {
        price.product_id: price.amount
        for price in ProductPrice.objects.for_tenant(tenant).filter(
            product__in=list(products.values()), currency=currency
        )
    }
    drafts: list[LineDraft] = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]."
        if not isinstance(line, Mapping):
            errors.add(f"lines[{index}]", "Must be an object.")
            continue
        for key in line:
            if key not in LINE_KEYS:
                errors.add(f"{prefix}{key}", "Unknown field.")
        sku = text_of(line.get("sku"), field=f"{prefix}sku", errors=errors, max_length=64)
        product = products.get(sku)
        if sku and product is None:
            errors.add(f"{prefix}sku", f"Unknown SKU {sku}.")
        elif product is not None and not product.active:
            errors.add(f"{prefix}sku", f"Product {sku} is not active.")
        quantity = decimal_of(
            line.get("quantity"),
            field=f"{prefix}quantity",
            errors=errors,
            places=3,
            maximum=QTY_MAX,
        )
        if quantity is not None and quantity <= 0:
            errors.add(f"{prefix}quantity", "Must be greater than zero.")
        if line.get("unit_price") is None and product is not None:
            unit_price = prices.get(product.pk)
            if unit_price is None:
                errors.add(f"{prefix}unit_price", f"Required: {sku} has no {currency} list price.")
        else:
            unit_price = _amount(
                line.get("unit_price"), field=f"{prefix}unit_price", errors=errors, default=None
            )
        discount = _amount(
            line.get("discount"), field=f"{prefix}discount", errors=errors, default=ZERO
        )
        tax = _amount(line.get("tax"), field=f"{prefix}tax", errors=errors, default=ZERO)
        external = text_of(
            line.get("external_line_id"),
            field=f"{prefix}external_line_id",
            errors=errors,
            max_length=128,
            required=False,
        )
        if (
            product is None
            or quantity is None
            or quantity <= 0
            or unit_price is None
            or discount is None
            or tax is None
        ):
            continue
        draft = LineDraft(product, quantity, unit_price, discount, tax, external)
        if discount > draft.net:
            errors.add(f"{prefix}discount", "Must not exceed quantity x unit price.")
            continue
        drafts.append(draft)
    return drafts


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
    problem = currency_error(currency)
    if problem:
        errors.add("currency", problem)
    elif channel.currency and currency != channel.currency:
        errors.add("currency", f"Channel {channel.code} sells in {channel.currency}.")
    draft = OrderDraft(currency=currency if not problem else "")
    draft.lines = _lines_clean(tenant=tenant, lines=lines, currency=currency, errors=errors)
    draft.ship = _ship_clean(
        channel=channel, customer=customer, shipping_address=shipping_address, errors=errors
    )
    draft.shipping_total = (
        _amount(shipping_total, field="shipping_total", errors=errors, default=ZERO) or ZERO
    )
    if billing_country:
        country_of(billing_country, field="billing_country", errors=errors)
    if ip_country:
        country_of(ip_country, field="ip_country", errors=errors)
    if placed_at is not None and timezone.is_naive(placed_at):
        errors.add("placed_at", "Give a time zone (UTC offset).")
    if draft.grand_total >= MONEY_MAX:
        errors.add("lines", "The order total is too large.")
    if not problem and not errors:
        placed_day = (placed_at or timezone.now()).astimezone(UTC).date()
        try:
            draft.fx_rate = fx_rate(
                tenant=tenant,
                from_currency=currency,
                to_currency=tenant.base_currency,
                on=placed_day,
            )
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    errors.add(name, message)
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
                "placed_at": placed_at or timezone.now(),
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
        note=note[:500],
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
