"""The shortage forecast's place in the admin: a proxy of ``Stock`` (no table of its own;
the figures are computed on request by ``commerce.services.forecast``)."""

from __future__ import annotations

from commerce.models.stock import Stock


class ShortageForecast(Stock):
    class Meta:
        proxy = True
        verbose_name = "shortage forecast"
        verbose_name_plural = "shortage forecast"
