"""Sales orders: the commerce detail of ``orders.Order`` (kind ``sales``) and its lines."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import Q

from commerce.models.catalog import Customer, Product
from commerce.models.channels import Channel
from commerce.models.fields import coordinate_field, money_field, qty_field, rate_field
from orders.models import Order
from tenancy.models import Tenant, TenantOwned, currency_validator
from tenancy.scoping import TenantManager


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    AUTHORIZED = "authorized", "Authorized"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class FulfilmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"
    DELIVERED = "delivered", "Delivered"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"


class AllocationState(models.TextChoices):
    PENDING = "pending", "Not yet routed"
    ALLOCATED = "allocated", "Allocated"
    PARTIAL = "partial", "Partly allocated, rest on backorder"
    BACKORDERED = "backordered", "Backordered"


class SalesOrder(TenantOwned):
    """Payment and fulfilment status are derived (``commerce.services.status``) from payments,
    shipments and returns and stored for filtering; the common ``order.status`` carries the
    workflow (pending -> open -> partial -> completed)."""

    # No index of the tenant column alone (one less to write per row): the tenant's rows
    # are found through the leading tenant column of ``sales_order_unique_external`` and
    # ``sales_order_unique_tenant``.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, primary_key=True, related_name="sales"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=128)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    # Shipping address snapshot (the customer's address book may change later).
    ship_name = models.CharField(max_length=200, blank=True, default="")
    ship_line1 = models.CharField(max_length=200, blank=True, default="")
    ship_line2 = models.CharField(max_length=200, blank=True, default="")
    ship_city = models.CharField(max_length=100, blank=True, default="")
    ship_region = models.CharField(max_length=100, blank=True, default="")
    ship_postal_code = models.CharField(max_length=20, blank=True, default="")
    ship_country = models.CharField(max_length=2, blank=True, default="")
    ship_latitude = coordinate_field()
    ship_longitude = coordinate_field()
    billing_country = models.CharField(max_length=2, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    ip_country = models.CharField(max_length=2, blank=True, default="")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal = money_field(default=Decimal("0"))
    discount_total = money_field(default=Decimal("0"))
    tax_total = money_field(default=Decimal("0"))
    shipping_total = money_field(default=Decimal("0"))
    grand_total = money_field(default=Decimal("0"))
    base_currency = models.CharField(max_length=3, validators=[currency_validator])
    fx_rate = rate_field(default=Decimal("1"), help_text="1 order currency in base currency.")
    grand_total_base = money_field(default=Decimal("0"))
    # Indexed for the list filters (equality only: ``Meta.indexes``, no pattern index).
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    fulfilment_status = models.CharField(
        max_length=20, choices=FulfilmentStatus.choices, default=FulfilmentStatus.UNFULFILLED
    )
    allocation_state = models.CharField(
        max_length=12, choices=AllocationState.choices, default=AllocationState.PENDING
    )
    promised_date = models.DateField(null=True, blank=True, help_text="Backorder promise.")
    marketplace_status = models.CharField(max_length=40, blank=True, default="")
    marketplace_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="The marketplace's last-modified time of this order."
    )
    placed_at = models.DateTimeField(null=True, blank=True)
    exchange_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchanges",
        help_text="The original order this one replaces goods for.",
    )

    objects: ClassVar[TenantManager[SalesOrder]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-order_id",)
        indexes = [
            models.Index(fields=["payment_status"], name="sales_order_payment_status"),
            models.Index(fields=["fulfilment_status"], name="sales_order_fulfilment_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "external_id"], name="sales_order_unique_external"
            ),
            # The key of the (tenant, sales order) foreign keys of lines and payments
            # (PostgreSQL: see commerce/migrations/0002_tenant_composite_keys.py).
            models.UniqueConstraint(fields=["tenant", "order"], name="sales_order_unique_tenant"),
            models.CheckConstraint(condition=Q(grand_total__gte=0), name="sales_total_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id}"


class SalesOrderLine(TenantOwned):
    """``total = quantity x unit_price - discount + tax`` (tax and discount are line amounts)."""

    # No index of the tenant column alone (one less to write per row): the tenant's rows
    # are found through the leading tenant column of ``sales_line_unique_no``.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Nor of the creation time (read through its parent, never by time across parents).
    created_at = models.DateTimeField(auto_now_add=True)
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    external_line_id = models.CharField(max_length=128, blank=True, default="")
    quantity = qty_field()
    unit_price = money_field()
    discount = money_field(default=Decimal("0"))
    tax = money_field(default=Decimal("0"))
    total = money_field()

    objects: ClassVar[TenantManager[SalesOrderLine]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sales_order_id", "line_no")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "sales_order", "line_no"], name="sales_line_unique_no"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_line_qty_gt0"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sales_line_price_gte0"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="sales_line_discount_gte0"),
            models.CheckConstraint(condition=Q(tax__gte=0), name="sales_line_tax_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"
