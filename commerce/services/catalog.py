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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from commerce import geo
from commerce.models import Address, Customer, Product, ProductPrice, Warehouse
from commerce.services.fx import currency_error
from oms_site.errors import NotFound, ValidationFailed
from tenancy.models import Tenant

Actor = Any
ZERO = Decimal("0")
MONEY_MAX = Decimal("1e16")
QTY_MAX = Decimal("1e11")


class Errors:
    """Collects field errors so that every problem of an input is reported at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(errors=self.errors)


def decimal_of(
    value: Any, *, field: str, errors: Errors, places: int, maximum: Decimal
) -> Decimal | None:
    """A finite Decimal with at most ``places`` decimals and below ``maximum``, else an error.

    Accepts Decimal, int and numeric strings; a float is taken by its shortest repr (JSON
    numbers), a bool is refused."""
    if isinstance(value, bool) or value is None:
        errors.add(field, "A number is required.")
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(field, "A valid number is required.")
        return None
    if not number.is_finite():
        errors.add(field, "A valid number is required.")
        return None
    if abs(number) >= maximum:
        errors.add(field, f"Must be less than {maximum:,.0f} in absolute value.")
        return None
    rounded = number.quantize(Decimal(1).scaleb(-places))
    if rounded != number:
        errors.add(field, f"Ensure that there are no more than {places} decimal places.")
        return None
    return rounded


def text_of(
    value: Any, *, field: str, errors: Errors, max_length: int, required: bool = True
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, "Must be a string.")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, "This field is required.")
    elif len(value) > max_length:
        errors.add(field, f"Ensure this field has no more than {max_length} characters.")
    elif "\x00" in value:
        errors.add(field, "Null characters are not allowed.")
    return value


def country_of(value: Any, *, field: str, errors: Errors) -> str:
    if not isinstance(value, str) or value not in geo.known_countries():
        errors.add(field, "Use an ISO 3166-1 alpha-2 country code in upper case, e.g. DE.")
        return ""
    return value


def coordinates_of(
    latitude: Any, longitude: Any, *, prefix: str, errors: Errors
) -> tuple[Decimal, Decimal] | None:
    """Both coordinates or neither; latitude within +-90, longitude within +-180."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        errors.add(f"{prefix}{missing}", "Give both latitude and longitude, or neither.")
        return None
    lat = decimal_of(
        latitude, field=f"{prefix}latitude", errors=errors, places=6, maximum=Decimal(1000)
    )
    lon = decimal_of(
        longitude, field=f"{prefix}longitude", errors=errors, places=6, maximum=Decimal(1000)
    )
    if lat is not None and not (-90 <= lat <= 90):
        errors.add(f"{prefix}latitude", "Must be between -90 and 90.")
        lat = None
    if lon is not None and not (-180 <= lon <= 180):
        errors.add(f"{prefix}longitude", "Must be between -180 and 180.")
        lon = None
    return None if lat is None or lon is None else (lat, lon)


ADDRESS_FIELDS = {
    "name": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
}
ADDRESS_OPTIONAL = {"name", "line2", "region", "postal_code"}
ADDRESS_KEYS = {*ADDRESS_FIELDS, "country", "latitude", "longitude"}


def address_clean(
    data: Mapping[str, Any], *, prefix: str, errors: Errors, require_location: bool
) -> dict[str, Any]:
    """Validate an address mapping (unknown keys refused); fills coordinates from the
    gazetteer. ``require_location``: an address that cannot be located is an error naming
    ``<prefix>city``."""
    if not isinstance(data, Mapping):
        errors.add(prefix.rstrip("."), "Must be an object.")
        return {}
    for key in data:
        if key not in ADDRESS_KEYS:
            errors.add(f"{prefix}{key}", "Unknown field.")
    clean: dict[str, Any] = {
        name: text_of(
            data.get(name),
            field=f"{prefix}{name}",
            errors=errors,
            max_length=length,
            required=name not in ADDRESS_OPTIONAL,
        )
        for name, length in ADDRESS_FIELDS.items()
    }
    clean["country"] = country_of(data.get("country"), field=f"{prefix}country", errors=errors)
    coords = coordinates_of(
        data.get("latitude"), data.get("longitude"), prefix=prefix, errors=errors
    )
    if coords is None and clean["city"] and clean["country"]:
        coords = geo.coordinates_for(clean["city"], clean["country"])
        if coords is None and require_location:
            errors.add(
                f"{prefix}city",
                f"Cannot locate {clean['city']!r} in {clean['country']}: "
                "give latitude and longitude.",
            )
    clean["latitude"], clean["longitude"] = coords if coords else (None, None)
    return clean


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
    given = "latitude" in data or "longitude" in data
    coords = coordinates_of(data.get("latitude"), data.get("longitude"), prefix="", errors=errors)
    moved = current is None or any(k in data for k in ("city", "country"))
    if coords is None and not given and current is not None and not moved:
        return clean  # location unchanged
    if coords is None and not errors:
        city = clean.get("city", current.city if current else "")
        country = clean.get("country", current.country if current else "")
        coords = geo.coordinates_for(city, country)
        if coords is None:
            errors.add("city", f"Cannot locate {city!r} in {country}: give latitude and longitude.")
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
