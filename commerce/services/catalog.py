"""Catalogue, customers, addresses and warehouses: create and update, tenant-scoped.

Rules shared by the API and the admin:

- A SKU is unique per tenant, a warehouse code too. The unique constraint decides (never a
  pre-check, which is racy): the losing insert answers 400 naming ``sku`` / ``code``.
- Prices are one per currency; a product's ``prices`` given on update replace the whole set.
- Coordinates missing from an address or a warehouse are filled from its city and country by
  the offline gazetteer (:mod:`commerce.geo`). A warehouse that cannot be located is refused
  (400 naming ``city``): routing cannot measure distances to it. A customer's address-book
  entry that cannot be located is stored without coordinates (a billing address in a village
  the gazetteer does not know is still a valid address); an order shipping to such an address
  is refused at entry, naming the address field, because routing needs the coordinates.
  Coordinates are given both or neither (400 naming the missing one); the admin forms check
  them with the same :func:`commerce.services.inputs.location_of`, and the database refuses a
  half-located row.
- Text is refused when it holds a NUL or a lone surrogate (:mod:`commerce.services.inputs`).
- ``PRODUCT_KEYS``, ``CUSTOMER_KEYS`` (+ ``addresses`` on create), ``ADDRESS_KEYS`` and
  ``WAREHOUSE_KEYS`` are the fields a client may send; the API refuses any other key (400
  naming it) before calling a service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from commerce.models import Address, Customer, Product, ProductPrice, Warehouse
from commerce.services.fx import currency_error
from commerce.services.inputs import (
    MONEY_MAX,
    Errors,
    address_clean,
    country_of,
    decimal_of,
    location_of,
    text_of,
)
from commerce.services.inputs import QTY_MAX as QTY_MAX  # the stock services read it here
from oms_site.errors import NotFound, ValidationFailed
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
PRODUCT_KEYS = {"sku", "name", "weight_kg", "lead_time_days", "active", "prices"}
CUSTOMER_KEYS = {"name", "email", "country"}


def _get(model: Any, tenant: Tenant | int, pk: Any, *, for_update: bool = False) -> Any:
    qs = model.objects.for_tenant(tenant)
    if for_update:
        qs = qs.select_for_update()
    obj = qs.filter(pk=pk).first() if isinstance(pk, int) else None
    if obj is None:
        raise NotFound(f"{model._meta.verbose_name.capitalize()} not found.")
    return obj


# --- products -------------------------------------------------------------------------------


def _prices_clean(prices: Any, *, errors: Errors) -> list[tuple[str, Decimal]]:
    if not isinstance(prices, Sequence) or isinstance(prices, str | bytes):
        errors.add("prices", "Must be a list of {currency, amount}.")
        return []
    seen: set[str] = set()
    clean: list[tuple[str, Decimal]] = []
    for index, price in enumerate(prices):
        prefix = f"prices[{index}]."
        if not isinstance(price, Mapping):
            errors.add(f"prices[{index}]", "Must be an object.")
            continue
        for key in price:
            if key not in ("currency", "amount"):
                errors.add(f"{prefix}{key}", "Unknown field.")
        currency = price.get("currency")
        problem = currency_error(currency)
        if problem:
            errors.add(f"{prefix}currency", problem)
        elif currency in seen:
            errors.add(f"{prefix}currency", f"{currency} is given twice.")
        amount = decimal_of(
            price.get("amount"),
            field=f"{prefix}amount",
            errors=errors,
            places=4,
            maximum=MONEY_MAX,
        )
        if amount is not None and amount < 0:
            errors.add(f"{prefix}amount", "Must not be negative.")
        if (
            isinstance(currency, str)
            and not problem
            and amount is not None
            and amount >= 0
            and currency not in seen
        ):
            seen.add(currency)
            clean.append((currency, amount))
    return clean


def _product_fields(data: Mapping[str, Any], *, errors: Errors, partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "sku" in data:
        sku = text_of(data.get("sku"), field="sku", errors=errors, max_length=64)
        if sku and any(ch.isspace() for ch in sku):
            errors.add("sku", "Must not contain whitespace.")
        clean["sku"] = sku
    if not partial or "name" in data:
        clean["name"] = text_of(data.get("name"), field="name", errors=errors, max_length=200)
    if "weight_kg" in data:
        weight = decimal_of(
            data["weight_kg"], field="weight_kg", errors=errors, places=3, maximum=Decimal("1e7")
        )
        if weight is not None and weight < 0:
            errors.add("weight_kg", "Must not be negative.")
        clean["weight_kg"] = weight
    if "lead_time_days" in data:
        days = data["lead_time_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
            errors.add("lead_time_days", "A whole number of days between 0 and 3650.")
        clean["lead_time_days"] = days
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors.add("active", "Must be true or false.")
        clean["active"] = data["active"]
    return clean


def _sku_taken() -> ValidationFailed:
    return ValidationFailed(errors={"sku": ["A product with this SKU already exists."]})


def _prices_replace(*, tenant: Tenant, product: Product, prices: list[tuple[str, Decimal]]) -> None:
    ProductPrice.objects.for_tenant(tenant).filter(product=product).exclude(
        currency__in=[c for c, _ in prices]
    ).delete()
    ProductPrice.objects.bulk_create(
        [ProductPrice(tenant=tenant, product=product, currency=c, amount=a) for c, a in prices],
        update_conflicts=True,
        unique_fields=["tenant", "product", "currency"],
        update_fields=["amount", "updated_at"],
    )


@transaction.atomic
def product_create(*, tenant: Tenant, actor: Actor, **data: Any) -> Product:
    """Create a product with its prices (``prices=[{currency, amount}, ...]``)."""
    errors = Errors()
    fields = _product_fields(data, errors=errors, partial=False)
    prices = _prices_clean(data.get("prices", []), errors=errors)
    for key in data:
        if key not in (*fields, "prices"):
            errors.add(key, "Unknown field.")
    errors.raise_if_any()
    product = Product(tenant=tenant, **fields)
    try:
        with transaction.atomic():
            product.save(force_insert=True)
    except IntegrityError as exc:
        raise _sku_taken() from exc
    _prices_replace(tenant=tenant, product=product, prices=prices)
    return product


@transaction.atomic
def product_update(*, tenant: Tenant, actor: Actor, product_id: int, **data: Any) -> Product:
    """Change the fields given; ``prices``, when given, replace the product's price list."""
    product = _get(Product, tenant, product_id, for_update=True)
    errors = Errors()
    fields = _product_fields(data, errors=errors, partial=True)
    prices = _prices_clean(data["prices"], errors=errors) if "prices" in data else None
    for key in data:
        if key not in (*fields, "prices"):
            errors.add(key, "Unknown field.")
    errors.raise_if_any()
    for name, value in fields.items():
        setattr(product, name, value)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise _sku_taken() from exc
    if prices is not None:
        _prices_replace(tenant=tenant, product=product, prices=prices)
    return product


# --- customers and addresses ----------------------------------------------------------------


def _customer_fields(data: Mapping[str, Any], *, errors: Errors, partial: bool) -> dict[str, Any]:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = text_of(data.get("name"), field="name", errors=errors, max_length=200)
    if not partial or "email" in data:
        email = text_of(data.get("email"), field="email", errors=errors, max_length=254)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.add("email", "Enter a valid email address.")
        clean["email"] = email
    if not partial or "country" in data:
        clean["country"] = country_of(data.get("country"), field="country", errors=errors)
    return clean


@transaction.atomic
def customer_create(*, tenant: Tenant, actor: Actor, **data: Any) -> Customer:
    """A customer with optional ``addresses=[{...}]`` (coordinates filled when locatable)."""
    errors = Errors()
    fields = _customer_fields(data, errors=errors, partial=False)
    raw_addresses = data.get("addresses", [])
    addresses: list[dict[str, Any]] = []
    if not isinstance(raw_addresses, Sequence) or isinstance(raw_addresses, str | bytes):
        errors.add("addresses", "Must be a list of addresses.")
    else:
        addresses = [
            address_clean(a, prefix=f"addresses[{i}].", errors=errors, require_location=False)
            for i, a in enumerate(raw_addresses)
        ]
    for key in data:
        if key not in (*fields, "addresses"):
            errors.add(key, "Unknown field.")
    errors.raise_if_any()
    customer = Customer.objects.create(tenant=tenant, **fields)
    Address.objects.bulk_create(
        [Address(tenant=tenant, customer=customer, **address) for address in addresses]
    )
    return customer


@transaction.atomic
def customer_update(*, tenant: Tenant, actor: Actor, customer_id: int, **data: Any) -> Customer:
    customer = _get(Customer, tenant, customer_id, for_update=True)
    errors = Errors()
    fields = _customer_fields(data, errors=errors, partial=True)
    for key in data:
        if key not in fields:
            errors.add(key, "Unknown field.")
    errors.raise_if_any()
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save()
    return customer


@transaction.atomic
def address_create(*, tenant: Tenant, actor: Actor, customer_id: int, **data: Any) -> Address:
    customer = _get(Customer, tenant, customer_id)
    errors = Errors()
    clean = address_clean(data, prefix="", errors=errors, require_location=False)
    errors.raise_if_any()
    return Address.objects.create(tenant=tenant, customer=customer, **clean)


# --- warehouses -----------------------------------------------------------------------------

WAREHOUSE_TEXT = {"code": 32, "name": 200, "line1": 200, "city": 100, "postal_code": 20}
WAREHOUSE_OPTIONAL = {"line1", "postal_code"}
WAREHOUSE_KEYS = {
    *WAREHOUSE_TEXT,
    "country",
    "latitude",
    "longitude",
    "priority",
    "daily_capacity",
    "is_store",
    "active",
}


def _warehouse_fields(
    data: Mapping[str, Any], *, errors: Errors, current: Warehouse | None
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in data:
        if key not in WAREHOUSE_KEYS:
            errors.add(key, "Unknown field.")
    for name, length in WAREHOUSE_TEXT.items():
        if current is None or name in data:
            clean[name] = text_of(
                data.get(name),
                field=name,
                errors=errors,
                max_length=length,
                required=name not in WAREHOUSE_OPTIONAL,
            )
    if current is None or "country" in data:
        clean["country"] = country_of(data.get("country"), field="country", errors=errors)
    for name, maximum in (("priority", 32767), ("daily_capacity", 10**9)):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
                errors.add(name, f"A whole number between 0 and {maximum}.")
            clean[name] = value
    for name in ("is_store", "active"):
        if name in data:
            if not isinstance(data[name], bool):
                errors.add(name, "Must be true or false.")
            clean[name] = data[name]
    moved = current is None or any(k in data for k in ("city", "country"))
    if not moved and "latitude" not in data and "longitude" not in data:
        return clean  # location unchanged
    latitude, longitude = data.get("latitude"), data.get("longitude")
    if latitude is None and longitude is None and errors:
        return clean  # a look-up of a city that failed its own checks would say nothing new
    coords = location_of(
        latitude,
        longitude,
        city=clean.get("city", current.city if current else ""),
        country=clean.get("country", current.country if current else ""),
        prefix="",
        errors=errors,
        required=True,
    )
    if coords is not None:
        clean["latitude"], clean["longitude"] = coords
    return clean


def _code_taken() -> ValidationFailed:
    return ValidationFailed(errors={"code": ["A warehouse with this code already exists."]})


@transaction.atomic
def warehouse_create(*, tenant: Tenant, actor: Actor, **data: Any) -> Warehouse:
    errors = Errors()
    fields = _warehouse_fields(data, errors=errors, current=None)
    errors.raise_if_any()
    warehouse = Warehouse(tenant=tenant, **fields)
    try:
        with transaction.atomic():
            warehouse.save(force_insert=True)
    except IntegrityError as exc:
        raise _code_taken() from exc
    return warehouse


@transaction.atomic
def warehouse_update(*, tenant: Tenant, actor: Actor, warehouse_id: int, **data: Any) -> Warehouse:
    warehouse = _get(Warehouse, tenant, warehouse_id, for_update=True)
    errors = Errors()
    fields = _warehouse_fields(data, errors=errors, current=warehouse)
    errors.raise_if_any()
    for name, value in fields.items():
        setattr(warehouse, name, value)
    try:
        with transaction.atomic():
            warehouse.save()
    except IntegrityError as exc:
        raise _code_taken() from exc
    return warehouse
