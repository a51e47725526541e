"""Commerce models: catalogue, stock, channels, sales orders, fulfilment, payments, returns,
invoices."""

from commerce.models.catalog import Address, Customer, Product, ProductPrice, Warehouse
from commerce.models.channels import (
    MARKETPLACE_KINDS,
    Channel,
    ChannelKind,
    SyncRun,
    SyncStatus,
    WebhookEvent,
)
from commerce.models.forecast import ShortageForecast
from commerce.models.fulfilment import (
    Allocation,
    AllocationStatus,
    Fulfilment,
    FulfilmentLine,
    FulfilmentState,
    TrackingEvent,
)
from commerce.models.invoices import (
    INVOICE_PREFIX,
    DocumentKind,
    DocumentSequence,
    Invoice,
    InvoiceKind,
    InvoiceLine,
)
from commerce.models.payments import (
    FxRate,
    Payment,
    PaymentOperation,
    PaymentOperationKind,
    PaymentState,
    Refund,
    RefundLine,
)
from commerce.models.returns import Return, ReturnLine, ReturnState
from commerce.models.sales import (
    AllocationState,
    FulfilmentStatus,
    PaymentStatus,
    SalesOrder,
    SalesOrderLine,
)
from commerce.models.stock import Reservation, ReservationStatus, Stock

__all__ = [
    "INVOICE_PREFIX",
    "MARKETPLACE_KINDS",
    "Address",
    "Allocation",
    "AllocationState",
    "AllocationStatus",
    "Channel",
    "ChannelKind",
    "Customer",
    "DocumentKind",
    "DocumentSequence",
    "Fulfilment",
    "FulfilmentLine",
    "FulfilmentState",
    "FulfilmentStatus",
    "FxRate",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "Payment",
    "PaymentOperation",
    "PaymentOperationKind",
    "PaymentState",
    "PaymentStatus",
    "Product",
    "ProductPrice",
    "Refund",
    "RefundLine",
    "Reservation",
    "ReservationStatus",
    "Return",
    "ReturnLine",
    "ReturnState",
    "SalesOrder",
    "SalesOrderLine",
    "ShortageForecast",
    "Stock",
    "SyncRun",
    "SyncStatus",
    "TrackingEvent",
    "Warehouse",
    "WebhookEvent",
]
