from __future__ import annotations

from typing import ClassVar

from django.db import models

from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager
from trading.models.fields import price_field, qty_field
from trading.models.reference import Instrument, Venue


class Quote(TenantOwned):
    """The displayed top of book of one instrument on one venue, and its last trade price.

    Fills against it consume the displayed size (the simulated venues' liquidity).
    """

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="quotes")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="quotes")
    bid = price_field(null=True, blank=True)
    bid_size = qty_field(default=0)
    ask = price_field(null=True, blank=True)
    ask_size = qty_field(default=0)
    last = price_field(null=True, blank=True)

    objects: ClassVar[TenantManager[Quote]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "venue", "instrument"], name="quote_unique_venue_instrument"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id}:{self.instrument_id} {self.bid}x{self.ask}"
