"""Decimal field shapes shared by the commerce models (money and quantities are Decimal)."""

from __future__ import annotations

from typing import Any

from django.db import models


def money_field(**kwargs: Any) -> models.DecimalField:
    """An amount in one currency (4 places: enough for every ISO 4217 minor unit)."""
    return models.DecimalField(max_digits=20, decimal_places=4, **kwargs)


def qty_field(**kwargs: Any) -> models.DecimalField:
    """Units of a product (3 places: goods sold by weight or length, not only by the piece)."""
    return models.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def rate_field(**kwargs: Any) -> models.DecimalField:
    """An exchange rate: 1 unit of one currency in another."""
    return models.DecimalField(max_digits=24, decimal_places=10, **kwargs)


def coordinate_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, **kwargs)
