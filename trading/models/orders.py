from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models

from orders.models import Order, OrderStatus
from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager
from trading.models.fields import price_field, qty_field
from trading.models.reference import Account, Instrument, Venue


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    SELL_SHORT = "sell_short", "Sell short"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"
    STOP = "stop", "Stop"
    STOP_LIMIT = "stop_limit", "Stop limit"
    TRAILING_STOP = "trailing_stop", "Trailing stop"


class TimeInForce(models.TextChoices):
    DAY = "day", "Day"
    GTC = "gtc", "Good till canceled"
    IOC = "ioc", "Immediate or cancel"
    FOK = "fok", "Fill or kill"
    GTD = "gtd", "Good till date"
    OPG = "opg", "At the open"
    ATC = "atc", "At the close"


class Handling(models.TextChoices):
    AUTO = "auto", "Automatic"
    CARE = "care", "Care (worked by a trader)"


class PendingAction(models.TextChoices):
    """What a live order waits for: a cancel or a replace the venue has not yet confirmed, or
    (``DONE_FOR_DAY``) the next session of its venues, which all closed with it working."""

    NONE = "", "None"
    CANCEL = "cancel", "Pending cancel"
    REPLACE = "replace", "Pending replace"
    DONE_FOR_DAY = "day", "Done for day"


REQUEST_PENDING = (PendingAction.CANCEL, PendingAction.REPLACE)


class FixOrdStatus(models.TextChoices):
    """FIX 4.4 OrdStatus (tag 39): value = the FIX code."""

    NEW = "0", "New"
    PARTIALLY_FILLED = "1", "PartiallyFilled"
    FILLED = "2", "Filled"
    DONE_FOR_DAY = "3", "DoneForDay"
    CANCELED = "4", "Canceled"
    PENDING_CANCEL = "6", "PendingCancel"
    REJECTED = "8", "Rejected"
    PENDING_NEW = "A", "PendingNew"
    EXPIRED = "C", "Expired"
    PENDING_REPLACE = "E", "PendingReplace"


_STATUS_TO_FIX = {
    OrderStatus.DRAFT: FixOrdStatus.PENDING_NEW,
    OrderStatus.PENDING: FixOrdStatus.PENDING_NEW,
    OrderStatus.HELD: FixOrdStatus.PENDING_NEW,
    OrderStatus.OPEN: FixOrdStatus.NEW,
    OrderStatus.PARTIAL: FixOrdStatus.PARTIALLY_FILLED,
    OrderStatus.COMPLETED: FixOrdStatus.FILLED,
    OrderStatus.CANCELED: FixOrdStatus.CANCELED,
    OrderStatus.REJECTED: FixOrdStatus.REJECTED,
    OrderStatus.EXPIRED: FixOrdStatus.EXPIRED,
}


def fix_ord_status(status: str, pending: str) -> FixOrdStatus:
    """OrdStatus derived from the common status plus the pending flag.

    FIX precedence: PendingCancel (12) > PendingReplace (11) > DoneForDay (10) > Filled (8) >
    PartiallyFilled (4) > New, PendingNew (2): a fill that completes an order whose cancel is
    pending still reports PendingCancel, until the venue rejects the cancel as too late; a
    cancel requested before the venue acknowledged the order reports PendingCancel, not
    PendingNew; a working order whose venues all closed for the day reports DoneForDay until
    its venue restates it at the next open (``pending`` is then ``DONE_FOR_DAY``; a cancel or a
    replace requested meanwhile outranks it, and the flag returns when the request settles
    with the order still done for the day: see ``trading.services.lifecycle``).
    """
    pendable = status in (
        OrderStatus.PENDING,
        OrderStatus.OPEN,
        OrderStatus.PARTIAL,
        OrderStatus.COMPLETED,
    )
    if pendable and pending == PendingAction.CANCEL:
        return FixOrdStatus.PENDING_CANCEL
    if pendable and pending == PendingAction.REPLACE:
        return FixOrdStatus.PENDING_REPLACE
    if pending == PendingAction.DONE_FOR_DAY and status in (OrderStatus.OPEN, OrderStatus.PARTIAL):
        return FixOrdStatus.DONE_FOR_DAY
    return _STATUS_TO_FIX[OrderStatus(status)]


class TradeOrder(TenantOwned):
    """The securities detail of an ``orders.Order`` (kind ``trade``), one-to-one.

    Quantities: ``cum_qty + leaves_qty == quantity`` while live, ``leaves_qty == 0`` once
    terminal, ``avg_px == sum(last_qty * last_px) / cum_qty``.
    """

    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, primary_key=True, related_name="trade"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=10, choices=Side.choices)
    quantity = qty_field()
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    limit_price = price_field(null=True, blank=True)
    stop_price = price_field(null=True, blank=True)
    trail_amount = price_field(null=True, blank=True)
    trail_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    time_in_force = models.CharField(max_length=4, choices=TimeInForce.choices)
    venue = models.ForeignKey(
        Venue,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directed_orders",
        help_text="Empty: smart routing; set: directed to this venue only.",
    )
    handling = models.CharField(max_length=8, choices=Handling.choices, default=Handling.AUTO)
    cum_qty = qty_field(default=Decimal("0"))
    leaves_qty = qty_field(default=Decimal("0"))
    avg_px = price_field(default=Decimal("0"))
    pending = models.CharField(
        max_length=8, choices=PendingAction.choices, default=PendingAction.NONE, blank=True
    )
    pending_quantity = qty_field(null=True, blank=True)
    pending_limit_price = price_field(null=True, blank=True)
    pending_stop_price = price_field(null=True, blank=True)
    triggered = models.BooleanField(default=False, help_text="A stop that has triggered.")
    trail_watermark = price_field(null=True, blank=True)
    exec_seq = models.PositiveIntegerField(default=0, help_text="Last execution report number.")

    objects: ClassVar[TenantManager[TradeOrder]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "instrument"], name="trade_order_instrument"),
            # (account, instrument) histories: positions, surveillance's per-account scans
            models.Index(
                fields=["tenant", "account", "instrument"], name="trade_order_account_instr"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="trade_qty_gt0"),
            models.CheckConstraint(condition=models.Q(cum_qty__gte=0), name="trade_cum_gte0"),
            models.CheckConstraint(
                condition=models.Q(cum_qty__lte=models.F("quantity")), name="trade_no_overfill"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.instrument_id}"

    @property
    def is_smart(self) -> bool:
        return self.venue_id is None

    @property
    def ord_status(self) -> FixOrdStatus:
        return fix_ord_status(self.order.status, self.pending)

    @property
    def request_pending(self) -> bool:
        """A cancel or a replace awaits the venue's answer (a second one is refused)."""
        return self.pending in REQUEST_PENDING


class VenueOrderState(models.TextChoices):
    PENDING_NEW = "pending_new", "Pending new"
    NEW = "new", "New (resting)"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELED = "canceled", "Canceled"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    DONE_FOR_DAY = "done_for_day", "Done for day (rests until the next open)"


# A child done for the day is still live: it rests at its venue (which restates it at the next
# open), can be canceled or replaced meanwhile, and a GTD one can still expire.
VENUE_ORDER_LIVE = (
    VenueOrderState.PENDING_NEW,
    VenueOrderState.NEW,
    VenueOrderState.PARTIALLY_FILLED,
    VenueOrderState.DONE_FOR_DAY,
)


class VenueOrder(TenantOwned):
    """A child order sent to one venue by the router (or the whole order, when directed)."""

    order = models.ForeignKey(TradeOrder, on_delete=models.PROTECT, related_name="venue_orders")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="venue_orders")
    cl_ord_id = models.CharField(max_length=40)
    venue_order_id = models.CharField(max_length=64, blank=True, default="")
    side = models.CharField(max_length=10, choices=Side.choices)
    quantity = qty_field()
    limit_price = price_field(null=True, blank=True)
    time_in_force = models.CharField(max_length=4, choices=TimeInForce.choices)
    state = models.CharField(
        max_length=20, choices=VenueOrderState.choices, default=VenueOrderState.PENDING_NEW
    )
    cum_qty = qty_field(default=Decimal("0"))
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it left for the venue.")
    auction = models.BooleanField(default=False, help_text="Waits for an opening/closing auction.")

    objects: ClassVar[TenantManager[VenueOrder]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "cl_ord_id"], name="venue_order_unique_clid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "venue", "state"], name="venue_order_resting"),
        ]

    def __str__(self) -> str:
        return self.cl_ord_id

    @property
    def leaves_qty(self) -> Decimal:
        if self.state not in VENUE_ORDER_LIVE:
            return Decimal("0")
        return self.quantity - self.cum_qty
