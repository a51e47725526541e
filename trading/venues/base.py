"""The venue adapter interface.

The OMS calls ``send`` / ``cancel`` / ``replace`` on a child order's adapter; the venue answers
with :class:`VenueReport` objects delivered to ``trading.services.venue_reports.venue_report_apply``
(immediately for the in-process simulator, from a session thread for a FIX adapter). The OMS
knows nothing else of a venue: whether it is simulated is the adapter's business.

An adapter may declare ``sends_in_transaction = True``: its venue answers in process, on the
caller's thread and inside the caller's transaction (as the simulator does). The router then
sends an order's lone new child in the very transaction that creates it, with the parent and
the child in hand (``trading.services.venue_reports.children_in_hand``). Any other adapter
(the default) gets its children only once they are committed, from the ``venue_order_send``
task, so that reports arriving on another connection find them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from django.utils import timezone

from trading.models import Venue, VenueOrder


class ReportKind(StrEnum):
    ACK = "ack"
    FILL = "fill"
    CANCELED = "canceled"
    CANCEL_REJECTED = "cancel_rejected"
    REPLACED = "replaced"
    REPLACE_REJECTED = "replace_rejected"
    REJECTED = "rejected"
    EXPIRED = "expired"
    # FIX ExecType DoneForDay (3): the venue closed with the order still working (GTC, GTD);
    # Restated (D) with ExecRestatementReason GT renewal (1): it works again at the next open.
    DONE_FOR_DAY = "done_for_day"
    RESTATED = "restated"


@dataclass(frozen=True)
class VenueReport:
    kind: ReportKind
    tenant_id: int
    cl_ord_id: str
    venue_order_id: str = ""
    exec_id: str = ""
    last_qty: Decimal = Decimal("0")
    last_px: Decimal = Decimal("0")
    liquidity: str = "removed"
    fee: Decimal = Decimal("0")
    text: str = ""
    transacted_at: datetime = field(default_factory=timezone.now)


class VenueAdapter(Protocol):
    def send(self, child: VenueOrder) -> None: ...

    def cancel(self, child: VenueOrder) -> None: ...

    def replace(
        self, child: VenueOrder, quantity: Decimal, limit_price: Decimal | None
    ) -> None: ...


_factories: dict[str, Callable[[Venue], VenueAdapter]] = {}


def adapter_register(name: str, factory: Callable[[Venue], VenueAdapter]) -> None:
    """Register an adapter factory; ``simulated`` venues use the one named "simulated"."""
    _factories[name] = factory


def sends_in_transaction(venue: Venue) -> bool:
    """Whether the venue's adapter answers in process, inside the caller's transaction (False
    too when the venue has no adapter: its send task reports that)."""
    try:
        adapter = adapter_for(venue)
    except LookupError:
        return False
    return bool(getattr(adapter, "sends_in_transaction", False))


def adapter_for(venue: Venue) -> VenueAdapter:
    name = "simulated" if venue.simulated else f"fix:{venue.code}"
    factory = _factories.get(name)
    if factory is None:
        raise LookupError(f"No adapter for venue {venue.code} ({name}).")
    return factory(venue)
