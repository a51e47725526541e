"""Decimal field shapes shared by every trading model (money and quantities are Decimal)."""

from __future__ import annotations

from typing import Any

from django.db import models

PRICE_DIGITS, PRICE_PLACES = 20, 8
QTY_DIGITS, QTY_PLACES = 20, 6
MONEY_DIGITS, MONEY_PLACES = 24, 6


def price_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def qty_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=QTY_DIGITS, decimal_places=QTY_PLACES, **kwargs)


def money_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)
