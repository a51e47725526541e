"""Factories of commerce rows; related rows are created in the row's own tenant.

Public names are typed ``Any`` (factory_boy's metaclass hides the model type from mypy).
``sales_order_make`` builds a sales order with lines directly (no allocation, no payment), for
tests of the services that act on an existing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import factory

from commerce.models import (
    Address,
    Channel,
    ChannelKind,
    Customer,
    Product,
    ProductPrice,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)
from orders.models import OrderStatus
from tests.factories import TenantFactory, order_in_status

SAME_TENANT = factory.SelfAttribute("..tenant")


class _ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    weight_kg = Decimal("0.500")
    lead_time_days = 7


class _ProductPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductPrice

    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(_ProductFactory, tenant=SAME_TENANT)
    currency = "USD"
    amount = Decimal("10.00")


class _CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    country = "DE"


class _AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    tenant = factory.SubFactory(TenantFactory)
    customer = factory.SubFactory(_CustomerFactory, tenant=SAME_TENANT)
    line1 = "Unter den Linden 1"
    city = "Berlin"
    postal_code = "10117"
    country = "DE"
    latitude = Decimal("52.520008")
    longitude = Decimal("13.404954")


class _WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    city = "Berlin"
    country = "DE"
    latitude = Decimal("52.520008")
    longitude = Decimal("13.404954")
    priority = 100
    daily_capacity = 1000


class _StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    tenant = factory.SubFactory(TenantFactory)
    warehouse = factory.SubFactory(_WarehouseFactory, tenant=SAME_TENANT)
    product = factory.SubFactory(_ProductFactory, tenant=SAME_TENANT)
    on_hand = Decimal("10")


class _ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"CH{n}")
    name = factory.LazyAttribute(lambda o: f"Channel {o.code}")
    kind = ChannelKind.WEB
    currency = "USD"


ProductFactory: Any = _ProductFactory
ProductPriceFactory: Any = _ProductPriceFactory
CustomerFactory: Any = _CustomerFactory
AddressFactory: Any = _AddressFactory
WarehouseFactory: Any = _WarehouseFactory
StockFactory: Any = _StockFactory
ChannelFactory: Any = _ChannelFactory

_external = iter(range(1, 10**9))


def sales_order_make(
    *,
    tenant: Any,
    lines: Sequence[tuple[Any, Decimal | int | str, Decimal | int | str]] = (),
    status: str = OrderStatus.OPEN,
    channel: Any = None,
    customer: Any = None,
    currency: str = "USD",
    shipping: Decimal = Decimal("0"),
    tax_rate: Decimal = Decimal("0"),
    **fields: Any,
) -> SalesOrder:
    """A sales order in ``status`` with ``lines`` = ``[(product, quantity, unit_price), ...]``.

    Totals are computed from the lines (tax = ``tax_rate`` x line net) so that tests can state
    the expected amounts by hand."""
    channel = channel or ChannelFactory(tenant=tenant, currency=currency)
    external_id = fields.pop("external_id", f"EXT-{next(_external)}")
    order = order_in_status(
        tenant=tenant, status=status, kind="sales", client_order_id=f"{channel.code}:{external_id}"
    )
    sales = SalesOrder.objects.create(
        tenant=tenant,
        order=order,
        channel=channel,
        external_id=external_id,
        customer=customer,
        currency=currency,
        base_currency=tenant.base_currency,
        shipping_total=shipping,
        **fields,
    )
    subtotal = tax_total = Decimal("0")
    for number, (product, quantity, unit_price) in enumerate(lines, start=1):
        qty, price = Decimal(str(quantity)), Decimal(str(unit_price))
        net = qty * price
        tax = (net * tax_rate).quantize(Decimal("0.01"))
        SalesOrderLine.objects.create(
            tenant=tenant,
            sales_order=sales,
            line_no=number,
            product=product,
            sku=product.sku,
            quantity=qty,
            unit_price=price,
            tax=tax,
            total=net + tax,
        )
        subtotal += net
        tax_total += tax
    sales.subtotal = subtotal
    sales.tax_total = tax_total
    sales.grand_total = subtotal + tax_total + shipping
    sales.grand_total_base = sales.grand_total
    sales.save()
    return sales
