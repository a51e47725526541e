"""Demo commerce data for ``seed_demo``: idempotent, a second run changes nothing.

For the seller tenant ``globex-goods`` (base currency EUR): a small catalogue priced in EUR,
USD and GBP, five warehouses in real cities (Berlin, Hamburg, Munich, Paris, Milan) plus a
Berlin store, stock in each, FX rates, customers with addresses across Europe, a ``web``
channel and a ``pos`` channel (the Berlin store), and a few orders routed to the nearest
warehouse that can ship them (one split, one backordered), and after-sale activity entered
as the seller would through the services (every step journaled on the order):

- ``WEB-1001`` paid (authorized and captured), picked, packed, shipped and delivered; the
  customer sends one T-shirt back (return approved, its unit refunded) and asks to return the
  mug (return requested, awaiting a decision);
- a web-shop cart holding two mugs in Berlin (an active reservation for a week).

Existing rows are never changed, so whatever the demo user did to them survives a re-seed: the
after-sale story runs only on an order that has no fulfilment yet, the cart only when no
reservation carries its reference. Marketplace channels come from the marketplace demo.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from commerce.models import (
    Channel,
    ChannelKind,
    Customer,
    Fulfilment,
    FxRate,
    Product,
    Reservation,
    SalesOrder,
    Stock,
    Warehouse,
)
from commerce.services import catalog
from commerce.services.allocation import sales_orders_route
from commerce.services.entry import sales_order_create
from commerce.services.fulfilment import (
    fulfilment_deliver,
    fulfilment_pack,
    fulfilment_pick,
    fulfilment_ship,
    fulfilments_create_for_order,
)
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.refunds import RefundLineInput, refund_create
from commerce.services.returns import ReturnLineInput, return_create, return_transition
from commerce.services.stock import reservation_create, stock_lock
from orders.models import OrderStatus
from tenancy.models import Tenant

TENANT = "globex-goods"
SELLER = "globex.seller"
D = Decimal

PRODUCTS = [
    # sku, name, weight, lead time days, EUR price
    ("TSHIRT-M", "Organic T-shirt (M)", "0.200", 5, "19.90"),
    ("HOODIE-L", "Hoodie (L)", "0.600", 10, "49.00"),
    ("MUG-BLK", "Enamel mug, black", "0.300", 3, "12.50"),
    ("BOTTLE-1L", "Steel bottle 1 l", "0.400", 7, "24.00"),
    ("LAMP-DESK", "Desk lamp", "1.800", 21, "79.00"),
]
WAREHOUSES = [
    # code, name, city, country, priority, capacity, is_store
    ("BER", "Berlin DC", "Berlin", "DE", 10, 800, False),
    ("HAM", "Hamburg DC", "Hamburg", "DE", 20, 500, False),
    ("MUC", "Munich DC", "Munich", "DE", 20, 500, False),
    ("PAR", "Paris DC", "Paris", "FR", 30, 400, False),
    ("MIL", "Milan DC", "Milan", "IT", 30, 300, False),
    ("STORE-BER", "Berlin Mitte store", "Berlin", "DE", 100, 100, True),
]
STOCK = {
    "BER": {"TSHIRT-M": 40, "HOODIE-L": 5, "MUG-BLK": 60, "BOTTLE-1L": 0},
    "HAM": {"TSHIRT-M": 20, "HOODIE-L": 15, "BOTTLE-1L": 12},
    "MUC": {"MUG-BLK": 25, "BOTTLE-1L": 30, "LAMP-DESK": 2},
    "PAR": {"TSHIRT-M": 30, "HOODIE-L": 8, "LAMP-DESK": 1},
    "MIL": {"MUG-BLK": 10, "BOTTLE-1L": 6},
    "STORE-BER": {"TSHIRT-M": 6, "MUG-BLK": 8},
}
CUSTOMERS = [
    ("Lena Schmidt", "lena@example.com", "DE", "Sonnenallee 12", "Berlin"),
    ("Jonas Weber", "jonas@example.com", "DE", "Leopoldstr. 3", "München"),
    ("Camille Martin", "camille@example.com", "FR", "12 rue Oberkampf", "Paris"),
    ("Giulia Rossi", "giulia@example.com", "IT", "Via Torino 5", "Milano"),
    ("Oliver Smith", "oliver@example.com", "GB", "1 Deansgate", "Manchester"),
]
RATES = [("USD", "EUR", "0.92"), ("GBP", "EUR", "1.17")]
# external id, channel code, customer index, [(sku, qty)], currency
ORDERS = [
    ("WEB-1001", "WEB", 0, [("TSHIRT-M", 2), ("MUG-BLK", 1)], "EUR"),
    ("WEB-1002", "WEB", 1, [("BOTTLE-1L", 3)], "EUR"),
    ("WEB-1003", "WEB", 2, [("HOODIE-L", 10), ("TSHIRT-M", 1)], "EUR"),  # split
    ("WEB-1004", "WEB", 3, [("LAMP-DESK", 5)], "EUR"),  # short: partly backordered
    ("POS-0001", "POS", None, [("TSHIRT-M", 1)], "EUR"),
]
# The after-sale story: (order, carrier, tracking number, [(sku, qty, approve?, reason)])
AFTER_SALE = (
    "WEB-1001",
    "DHL",
    "00340434161094042557",
    [
        ("TSHIRT-M", 1, True, "Too small: the customer asks for her money back."),
        ("MUG-BLK", 1, False, "Arrived with a chipped rim."),
    ],
)
# (reference, warehouse, sku, quantity, days until it lapses)
CART = ("demo-cart-1", "BER", "MUG-BLK", 2, 7)


def _products(tenant: Tenant) -> dict[str, Product]:
    existing = {p.sku: p for p in Product.objects.for_tenant(tenant)}
    for sku, name, weight, lead, eur in PRODUCTS:
        if sku not in existing:
            existing[sku] = catalog.product_create(
                tenant=tenant,
                actor=None,
                sku=sku,
                name=name,
                weight_kg=weight,
                lead_time_days=lead,
                prices=[
                    {"currency": "EUR", "amount": eur},
                    {"currency": "USD", "amount": str((D(eur) * D("1.09")).quantize(D("0.01")))},
                    {"currency": "GBP", "amount": str((D(eur) * D("0.86")).quantize(D("0.01")))},
                ],
            )
    return existing


def _warehouses(tenant: Tenant) -> dict[str, Warehouse]:
    existing = {w.code: w for w in Warehouse.objects.for_tenant(tenant)}
    for code, name, city, country, priority, capacity, store in WAREHOUSES:
        if code not in existing:
            existing[code] = catalog.warehouse_create(
                tenant=tenant,
                actor=None,
                code=code,
                name=name,
                city=city,
                country=country,
                priority=priority,
                daily_capacity=capacity,
                is_store=store,
            )
    return existing


@transaction.atomic  # stock_lock locks the row: on PostgreSQL only inside a transaction
def _stock(tenant: Tenant, warehouses: dict[str, Warehouse], products: dict[str, Product]) -> None:
    have = set(Stock.objects.for_tenant(tenant).values_list("warehouse__code", "product__sku"))
    for code, rows in STOCK.items():
        for sku, quantity in rows.items():
            if (code, sku) in have:
                continue
            row = stock_lock(tenant=tenant, warehouse=warehouses[code], product=products[sku])
            row.on_hand = D(quantity)
            row.save(update_fields=["on_hand", "updated_at"])


def _customers(tenant: Tenant) -> list[Customer]:
    existing = {c.email: c for c in Customer.objects.for_tenant(tenant)}
    for name, email, country, line1, city in CUSTOMERS:
        if email not in existing:
            existing[email] = catalog.customer_create(
                tenant=tenant,
                actor=None,
                name=name,
                email=email,
                country=country,
                addresses=[{"name": name, "line1": line1, "city": city, "country": country}],
            )
    return [existing[email] for _, email, *_ in CUSTOMERS]


def _channels(tenant: Tenant, store: Warehouse) -> dict[str, Channel]:
    wanted = [
        ("WEB", "Web shop", ChannelKind.WEB, None),
        ("POS", "Berlin Mitte store", ChannelKind.POS, store),
    ]
    existing = {c.code: c for c in Channel.objects.for_tenant(tenant)}
    for code, name, kind, warehouse in wanted:
        if code not in existing:
            existing[code] = Channel.objects.create(
                tenant=tenant,
                code=code,
                name=name,
                kind=kind,
                currency="EUR",
                store=warehouse,
                sync_enabled=False,
            )
    return existing


def _rates(tenant: Tenant) -> None:
    FxRate.objects.bulk_create(
        [
            FxRate(tenant=tenant, date=date(2024, 1, 1), from_currency=a, to_currency=b, rate=D(r))
            for a, b, r in RATES
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def _after_sale(tenant: Tenant, seller: Any, channel: Channel) -> bool:
    """Pay, ship and deliver the story's order, then open its returns and refund; True if it
    ran (False when the order is gone, no longer open, or already has fulfilments)."""
    external_id, carrier, tracking, returns = AFTER_SALE
    sales = (
        SalesOrder.objects.for_tenant(tenant)
        .select_related("order")
        .filter(channel=channel, external_id=external_id)
        .first()
    )
    if sales is None or sales.order.status not in (OrderStatus.OPEN, OrderStatus.PARTIAL):
        return False
    if Fulfilment.objects.for_tenant(tenant).filter(sales_order=sales).exists():
        return False
    common: dict[str, Any] = {"tenant": tenant, "actor": seller}
    key = f"demo-{external_id}"
    authorized = payment_authorize(
        **common,
        sales_order_id=sales.pk,
        amount=sales.grand_total,
        idempotency_key=f"{key}-authorize",
        provider_reference=f"{key}-card",
    )
    payment_capture(
        **common,
        payment_id=authorized.payment_id,
        amount=sales.grand_total,
        idempotency_key=f"{key}-capture",
    )
    for fulfilment in fulfilments_create_for_order(**common, sales_order_id=sales.pk):
        fulfilment_pick(**common, fulfilment_id=fulfilment.pk)
        fulfilment_pack(**common, fulfilment_id=fulfilment.pk)
        fulfilment_ship(
            **common, fulfilment_id=fulfilment.pk, carrier=carrier, tracking_number=tracking
        )
        fulfilment_deliver(**common, fulfilment_id=fulfilment.pk)
    lines = {line.sku: line for line in sales.lines.order_by("pk")}
    for sku, quantity, approve, reason in returns:
        line = lines[sku]
        ret = return_create(
            **common,
            sales_order_id=sales.pk,
            lines=[ReturnLineInput(line_id=line.pk, quantity=D(quantity))],
            reason=reason,
        )
        if not approve:
            continue
        return_transition(
            **common, return_id=ret.pk, transition="approve", note="Refund on approval."
        )
        refund_create(
            **common,
            sales_order_id=sales.pk,
            idempotency_key=f"{key}-refund-{sku}",
            lines=[RefundLineInput(line_id=line.pk, quantity=D(quantity))],
            return_id=ret.pk,
            reason=reason,
        )
    return True


def _cart(tenant: Tenant, seller: Any, warehouses: dict[str, Warehouse]) -> bool:
    """A web-shop cart's hold on stock (no order yet); True if it was created."""
    reference, code, sku, quantity, days = CART
    if Reservation.objects.for_tenant(tenant).filter(reference=reference).exists():
        return False
    product = Product.objects.for_tenant(tenant).filter(sku=sku).first()
    stock = Stock.objects.for_tenant(tenant).filter(warehouse__code=code, product=product).first()
    if product is None or stock is None or stock.available < quantity:
        return False
    reservation_create(
        tenant=tenant,
        actor=seller,
        warehouse_id=warehouses[code].pk,
        product_id=product.pk,
        quantity=D(quantity),
        expires_at=timezone.now() + timedelta(days=days),
        reference=reference,
    )
    return True


def seed(*, stdout: Any) -> None:
    tenant = Tenant.objects.filter(slug=TENANT).first()
    seller = get_user_model().objects.filter(username=SELLER).first()
    if tenant is None or seller is None:
        return
    products = _products(tenant)
    warehouses = _warehouses(tenant)
    _stock(tenant, warehouses, products)
    customers = _customers(tenant)
    channels = _channels(tenant, warehouses["STORE-BER"])
    _rates(tenant)
    created, ids = 0, []
    for external_id, channel_code, who, lines, currency in ORDERS:
        customer = customers[who] if who is not None else None
        address = customer.addresses.order_by("id").first() if customer else None
        result = sales_order_create(
            tenant=tenant,
            actor=seller,
            channel=channels[channel_code],
            external_id=external_id,
            currency=currency,
            customer=customer,
            shipping_address=address,
            lines=[{"sku": sku, "quantity": qty} for sku, qty in lines],
        )
        created += int(result.created)
        ids.append(result.order.pk)
    sales_orders_route(tenant_id=tenant.pk, order_ids=ids)
    after_sale = _after_sale(tenant, seller, channels["WEB"])
    cart = _cart(tenant, seller, warehouses)
    stdout.write(
        f"Commerce demo ready for {TENANT}: {len(products)} products, {len(warehouses)} "
        f"warehouses, {len(customers)} customers, {created} new orders"
        f"{', after-sale story' if after_sale else ''}{', a cart' if cart else ''}."
    )
