"""Parsing helpers shared by the connectors (timestamps, money, required keys)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from commerce.marketplaces.http import MalformedResponse


class BadOrder(ValueError):
    """One order of a page does not have the documented shape (counted as an error)."""


def iso_utc(value: datetime) -> str:
    """``2024-05-01T12:00:00Z`` (what every marketplace accepts for UTC instants)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, *, what: str) -> datetime:
    """An ISO 8601 instant with an offset (or ``Z``) -> aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise BadOrder(f"{what} is missing.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadOrder(f"{what} {value!r} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        raise BadOrder(f"{what} {value!r} has no time zone offset.")
    return parsed.astimezone(UTC)


def decimal_of(value: Any, *, what: str, default: Decimal | None = None) -> Decimal:
    if value is None or value == "":
        if default is not None:
            return default
        raise BadOrder(f"{what} is missing.")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise BadOrder(f"{what} {value!r} is not a number.")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise BadOrder(f"{what} {value!r} is not a number.") from None
    if not result.is_finite():
        raise BadOrder(f"{what} {value!r} is not a number.")
    return result


def mapping(value: Any, *, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"{what} is not a JSON object.")
    return value


def object_list(container: Mapping[str, Any], key: str, *, what: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"{what}.{key} is not a JSON array.")
    return value


def text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]
