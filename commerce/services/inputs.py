"""Field validation shared by the hand-validated commerce writes (catalogue, order entry, stock).

Each helper checks one value and records what is wrong in an :class:`Errors` under the field
name the client used (``lines[0].sku``, ``shipping_address.city``), so that every problem of an
input is reported at once and nothing is stored.

Text: a string, stripped, within the column's length, and free of NUL and of lone UTF-16
surrogates (``"\\ud800"`` is valid JSON but no database can store it): these are refused
naming the field rather than failing in the database.

Coordinates: both or neither. Neither given: looked up from city and country in the offline
gazetteer (:mod:`commerce.geo`); a place that cannot be located is an error naming the city
only where routing needs the location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from commerce import geo
from oms_site.errors import ValidationFailed

MONEY_MAX = Decimal("1e16")
QTY_MAX = Decimal("1e11")
SURROGATE = re.compile("[\ud800-\udfff]")


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


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (a NUL or a lone surrogate), or ``None``."""
    if "\x00" in value:
        return "Null characters are not allowed."
    surrogate = SURROGATE.search(value)
    if surrogate:
        return f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}."
    return None


def text_of(
    value: Any, *, field: str, errors: Errors, max_length: int, required: bool = True
) -> str:
    """A stripped string of at most ``max_length`` characters (``None`` reads as empty); a
    value that is not text at all reads as empty once its error is recorded."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, "Must be a string.")
        return ""
    value = value.strip()
    problem = text_problem(value)
    if problem:
        errors.add(field, problem)
        return ""  # nothing may be looked up or stored with it
    if required and not value:
        errors.add(field, "This field is required.")
    elif len(value) > max_length:
        errors.add(field, f"Ensure this field has no more than {max_length} characters.")
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


def location_of(
    latitude: Any,
    longitude: Any,
    *,
    city: str,
    country: str,
    prefix: str,
    errors: Errors,
    required: bool,
) -> tuple[Decimal, Decimal] | None:
    """The coordinates given (both or neither), else the gazetteer's for city and country.

    ``required``: a place the gazetteer cannot locate is an error naming ``<prefix>city``."""
    if latitude is not None or longitude is not None:
        return coordinates_of(latitude, longitude, prefix=prefix, errors=errors)
    if not city or not country:
        return None  # the missing city or country is reported by its own check
    coords = geo.coordinates_for(city, country)
    if coords is None and required:
        errors.add(
            f"{prefix}city", f"Cannot locate {city!r} in {country}: give latitude and longitude."
        )
    return coords


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
    coords = location_of(
        data.get("latitude"),
        data.get("longitude"),
        city=clean["city"],
        country=clean["country"],
        prefix=prefix,
        errors=errors,
        required=require_location,
    )
    clean["latitude"], clean["longitude"] = coords if coords else (None, None)
    return clean
