"""Catalogue, customers and their addresses, warehouses."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models

from commerce.models.fields import coordinate_field, money_field
from tenancy.models import TenantOwned, currency_validator
from tenancy.scoping import TenantManager

country_field_kwargs = {"max_length": 2, "help_text": "ISO 3166-1 alpha-2 code, e.g. DE."}


def coordinates_paired(name: str) -> models.CheckConstraint:
    """Latitude and longitude both set or both empty: routing measures no distance to half a
    location (the services and admin forms refuse one without the other, naming it)."""
    return models.CheckConstraint(
        condition=models.Q(latitude__isnull=True, longitude__isnull=True)
        | models.Q(latitude__isnull=False, longitude__isnull=False),
        name=name,
    )


class Product(TenantOwned):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    weight_kg = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("0"))
    lead_time_days = models.PositiveIntegerField(
        default=7, help_text="Days from reorder to stock on hand (backorder promise, forecast)."
    )
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Product]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("sku",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_unique_sku"),
            models.CheckConstraint(
                condition=models.Q(weight_kg__gte=0), name="product_weight_gte0"
            ),
        ]

    def __str__(self) -> str:
        return self.sku


class ProductPrice(TenantOwned):
    """The list price of a product in one currency."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    amount = money_field()

    objects: ClassVar[TenantManager[ProductPrice]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("product_id", "currency")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "product", "currency"], name="product_price_unique_currency"
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="product_price_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.amount} {self.currency}"


class Customer(TenantOwned):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    country = models.CharField(**country_field_kwargs)  # type: ignore[arg-type]

    objects: ClassVar[TenantManager[Customer]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=["tenant", "email"], name="customer_tenant_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Address(TenantOwned):
    """A customer's postal address. Missing coordinates are filled from city + country by the
    offline gazetteer (``commerce.geo``), never a network call."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=200, blank=True, default="")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    country = models.CharField(**country_field_kwargs)  # type: ignore[arg-type]
    latitude = coordinate_field()
    longitude = coordinate_field()

    objects: ClassVar[TenantManager[Address]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("customer_id", "id")
        constraints = [coordinates_paired("address_coordinates_paired")]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.country}"


class Warehouse(TenantOwned):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True, default="")
    country = models.CharField(**country_field_kwargs)  # type: ignore[arg-type]
    latitude = coordinate_field()
    longitude = coordinate_field()
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower ships first when two warehouses are equally near."
    )
    daily_capacity = models.PositiveIntegerField(
        default=1000, help_text="Shipments this warehouse can send per day."
    )
    is_store = models.BooleanField(default=False, help_text="A point-of-sale location.")
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Warehouse]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="warehouse_unique_code"),
            coordinates_paired("warehouse_coordinates_paired"),
        ]

    def __str__(self) -> str:
        return self.code
