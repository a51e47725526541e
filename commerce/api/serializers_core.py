"""Output serializers of the commerce core API (input is validated by the services, which
name every bad field the way the client sent it, e.g. ``lines[1].sku``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from commerce.models import (
    Address,
    Allocation,
    Customer,
    Fulfilment,
    FulfilmentLine,
    Payment,
    Product,
    ProductPrice,
    Reservation,
    Return,
    ReturnLine,
    SalesOrder,
    SalesOrderLine,
    Stock,
    Warehouse,
)


class ProductPriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductPrice
        fields = ["currency", "amount"]


class ProductSerializer(serializers.ModelSerializer):
    prices = ProductPriceSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "weight_kg", "lead_time_days", "active", "prices"]


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
        ]


class CustomerSerializer(serializers.ModelSerializer):
    addresses = AddressSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "email", "country", "addresses"]


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = [
            "id",
            "code",
            "name",
            "line1",
            "city",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "priority",
            "daily_capacity",
            "is_store",
            "active",
        ]


class StockSerializer(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    warehouse_id = serializers.IntegerField()
    sku = serializers.CharField(source="product.sku")
    product_id = serializers.IntegerField()
    available = serializers.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
        model = Stock
        fields = [
            "id",
            "warehouse",
            "warehouse_id",
            "sku",
            "product_id",
            "on_hand",
            "allocated",
            "reserved",
            "available",
        ]


class ReservationSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text="active, released or consumed")
    warehouse_id = serializers.IntegerField(source="stock.warehouse_id")
    product_id = serializers.IntegerField(source="stock.product_id")

    class Meta:
        model = Reservation
        fields = [
            "id",
            "warehouse_id",
            "product_id",
            "sales_order",
            "reference",
            "quantity",
            "status",
            "expires_at",
        ]


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesOrderLine
        fields = [
            "id",
            "line_no",
            "sku",
            "product",
            "external_line_id",
            "quantity",
            "unit_price",
            "discount",
            "tax",
            "total",
        ]


class AllocationSerializer(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    status = serializers.CharField(help_text="active, shipped or released")
    line_no = serializers.IntegerField(source="line.line_no")

    class Meta:
        model = Allocation
        fields = ["id", "line_no", "warehouse", "quantity", "distance_km", "status"]


class FulfilmentLineSerializer(serializers.ModelSerializer):
    line_no = serializers.IntegerField(source="line.line_no")

    class Meta:
        model = FulfilmentLine
        fields = ["line_no", "quantity", "shipped_quantity"]


class ShipmentSerializer(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    state = serializers.CharField(
        help_text="pending, picking, packed, shipped, delivered, canceled"
    )
    lines = FulfilmentLineSerializer(many=True, read_only=True)

    class Meta:
        model = Fulfilment
        fields = [
            "id",
            "warehouse",
            "state",
            "carrier",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "lines",
        ]


class PaymentSerializer(serializers.ModelSerializer):
    state = serializers.CharField(
        help_text="authorized, partially_captured, captured, voided, partially_refunded, refunded"
    )

    class Meta:
        model = Payment
        fields = ["id", "method", "currency", "authorized", "captured", "refunded", "state"]


class ReturnLineSerializer(serializers.ModelSerializer):
    line_no = serializers.IntegerField(source="line.line_no")

    class Meta:
        model = ReturnLine
        fields = ["line_no", "quantity", "restock"]


class ReturnSerializer(serializers.ModelSerializer):
    lines = ReturnLineSerializer(many=True, read_only=True)
    state = serializers.CharField(
        help_text="requested, approved, declined, received, restocked, rejected"
    )

    class Meta:
        model = Return
        fields = ["id", "rma_number", "state", "reason", "lines"]


ORDER_FIELDS = [
    "id",
    "reference",
    "status",
    "channel",
    "external_id",
    "customer",
    "currency",
    "subtotal",
    "discount_total",
    "tax_total",
    "shipping_total",
    "grand_total",
    "base_currency",
    "fx_rate",
    "grand_total_base",
    "payment_status",
    "fulfilment_status",
    "allocation_state",
    "promised_date",
    "marketplace_status",
    "placed_at",
    "exchange_of",
    "shipping_address",
    "lines",
    "created_at",
]


class SalesOrderSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField(source="order.reference")
    status = serializers.CharField(source="order.status")
    channel = serializers.CharField(source="channel.code")
    shipping_address = serializers.SerializerMethodField()
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = SalesOrder
        fields = ORDER_FIELDS

    def get_shipping_address(self, obj: SalesOrder) -> dict[str, Any]:
        return {
            "name": obj.ship_name,
            "line1": obj.ship_line1,
            "line2": obj.ship_line2,
            "city": obj.ship_city,
            "region": obj.ship_region,
            "postal_code": obj.ship_postal_code,
            "country": obj.ship_country,
            "latitude": None if obj.ship_latitude is None else str(obj.ship_latitude),
            "longitude": None if obj.ship_longitude is None else str(obj.ship_longitude),
        }


class SalesOrderDetailSerializer(SalesOrderSerializer):
    allocations = AllocationSerializer(many=True, read_only=True)
    shipments = ShipmentSerializer(many=True, read_only=True, source="fulfilments")
    payments = PaymentSerializer(many=True, read_only=True)
    returns = ReturnSerializer(many=True, read_only=True)

    class Meta:
        model = SalesOrder
        fields = [*ORDER_FIELDS, "allocations", "shipments", "payments", "returns"]


# --- request bodies of the hand-validated writes (documentation: the services validate) -------


class AddressInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False)
    postal_code = serializers.CharField(max_length=20, required=False)
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False)


class SalesOrderLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    unit_price = serializers.DecimalField(
        max_digits=20, decimal_places=4, required=False, help_text="Default: the list price."
    )
    tax = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    discount = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    external_line_id = serializers.CharField(max_length=128, required=False)


class SalesOrderCreateInputSerializer(serializers.Serializer[Any]):
    """``POST /orders/``: what a client sends (the answer is the order's detail)."""

    channel = serializers.CharField(help_text="The channel's code.")
    external_id = serializers.CharField(max_length=128)
    currency = serializers.CharField(min_length=3, max_length=3)
    customer = serializers.IntegerField(required=False)
    shipping_address = AddressInputSerializer(required=False)
    shipping_address_id = serializers.IntegerField(required=False)
    lines = SalesOrderLineInputSerializer(many=True)
    shipping_total = serializers.DecimalField(max_digits=20, decimal_places=4, required=False)
    billing_country = serializers.CharField(max_length=2, required=False)
    ip_address = serializers.IPAddressField(required=False)
    ip_country = serializers.CharField(max_length=2, required=False)
    placed_at = serializers.DateTimeField(required=False)
    exchange_of = serializers.IntegerField(required=False)
    note = serializers.CharField(max_length=500, required=False)


class AllocationMoveInputSerializer(serializers.Serializer[Any]):
    warehouse = serializers.IntegerField(help_text="The target warehouse's id.")
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False, help_text="Default: all of it."
    )
    reason = serializers.CharField(max_length=500, required=False)
