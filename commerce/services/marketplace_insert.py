"""New marketplace orders, written set-based: a page of new orders in one statement per table.

:func:`market_orders_insert` is step 4-5 of ``orders_upsert`` (see
``commerce.services.marketplace_import``): it validates the page's new orders
(``commerce.services.marketplace_prepare``: SKU, quantity, amounts, currency; a refused order
is an ``error`` with its reason and is not stored), then
writes, for all the accepted ones at once: references (one counter update, gapless), ``Order``
rows (ids allocated from the sequence in one statement on PostgreSQL), ``SalesOrder`` rows,
lines, the marketplace ``Payment`` and its ``capture`` operation, the capture's ``Invoice``
and its lines (numbers reserved from the tenant's gapless invoice counter in one statement),
and the journal; each table is one ``COPY`` on PostgreSQL (``oms_site.rows``).

Invoice: a capture issues an invoice wherever it comes from, so an imported (captured) order
gets the invoice a capture of the whole order gets (``invoices.invoice_issue_for_capture``):
the order lines with their product names, its shipping, totals in the order currency, billed
to the shipping address. Refunds of the order then credit it (their credit notes point to it).

Journal: the import of one marketplace order is one journaled step, so it writes one
``IMPORTED`` row per order, from no status to the status screening put it in (``open``,
``held``, ``rejected``, or ``pending`` when the sales kind waits for acceptance), with
``reason`` = the screening summary, and ``data`` carrying what a hand-entered order journals
over its submit/screen/outcome rows: the submission (channel, external id, marketplace status,
run id), ``submitted: true``, the screening decision (outcome, screens, findings), the
marketplace payment and the invoice (number, total: it is issued by this same step, so it has
no ``INVOICE_ISSUED`` row of its own). Later changes journal their own rows
(``MARKETPLACE_UPDATED``, ``CANCELED``, routing, shipments...).

Screening runs as for any entered order (the screens of ``orders.screening`` that apply to
sales orders, their decisions merged as ``screening_run`` merges them), after the rows are
written (the screens read the sales order and the tenant's other orders) and on the order as
submitted (status ``pending``). A screen with a set-based entry point (registered with ``many``,
e.g. compliance's fraud screen) screens the whole page at once, in a constant number of
statements; any other screen is called per order. The ``Order`` rows are written in the status
of a clean pass (``open``, or ``pending`` when the kind waits for acceptance): nothing outside
the transaction sees them before screening concludes, and only the orders screening holds or
rejects are then moved, status and reason, in one UPDATE (a clean page writes no UPDATE at
all). Routing of the accepted orders is enqueued once per page, after commit, through the sales
kind's set-based hook (``orders.kinds.kind_after_many``), given the page's orders as they now
stand.

Per page, whatever its size: the statements above (one per table, the reference counter, the
id sequences), the product look-up, at most one UPDATE of screened-out orders, the screens'
own (``compliance.services.fraud.sales_screen_many``: none without fraud rules, a handful with
them, plus an alert per order with a warning) and the routing hook's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Case, Value, When
from django.db.models.base import ModelState
from django.utils import timezone

from commerce.marketplaces.base import MarketOrder
from commerce.models import (
    Channel,
    PaymentOperation,
    PaymentState,
    PaymentStatus,
    SalesOrder,
    SalesOrderLine,
)
from commerce.models.payments import Payment
from commerce.services.entry import client_order_id_for
from commerce.services.marketplace_invoices import invoices_write
from commerce.services.marketplace_prepare import (
    ZERO,
    OrderRefused,
    PageContext,
    Prepared,
    line_total,
    order_prepare,
)
from oms_site.rows import db_json, db_time, db_time_converter, rows_insert, rows_insert_with_ids
from orders.kinds import kind_after_many, kind_policy
from orders.models import EventKind, Order, OrderEvent, OrderKind, OrderStatus
from orders.screening import Decision, Outcome, screening_run_many, screens_registered
from orders.services import Actor, references_reserve
from tenancy.models import Tenant

SALES = OrderKind.SALES
# The choices written with every order, as the plain text a COPY line takes as is.
SALES_TEXT = str(OrderKind.SALES)
PAID_TEXT = str(PaymentStatus.PAID)
CAPTURED_TEXT = str(PaymentState.CAPTURED)
IMPORTED_TEXT = str(EventKind.IMPORTED)
json_time = DjangoJSONEncoder().default  # a datetime as JSON stores it


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (external id, why)
    routed_order_ids: list[int] = field(default_factory=list)


def _outcome_known_in_advance() -> Decision | None:
    """The screening decision when no screen applies to sales orders (always accept)."""
    return None if screens_registered(SALES) else Decision()


def _final_status(decision: Decision) -> str:
    if decision.outcome == Outcome.REJECT:
        return OrderStatus.REJECTED
    if decision.outcome == Outcome.HOLD:
        return OrderStatus.HELD
    if not kind_policy(SALES).accept_on_pass:
        return OrderStatus.PENDING
    return OrderStatus.OPEN


# The columns of each table written per order; a page's common values (tenant, time of the
# write, constant choices...) are given once per page (``rows_insert``'s ``common``).
ORDER_COLUMNS = ("reference", "client_order_id", "submission")
SALES_COLUMNS = (
    "order_id",
    "external_id",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_latitude",
    "ship_longitude",
    "billing_country",
    "currency",
    "subtotal",
    "discount_total",
    "tax_total",
    "shipping_total",
    "grand_total",
    "fx_rate",
    "grand_total_base",
    "marketplace_status",
    "marketplace_updated_at",
    "placed_at",
)
LINE_COLUMNS = (
    "sales_order_id",
    "line_no",
    "product_id",
    "sku",
    "external_line_id",
    "quantity",
    "unit_price",
    "discount",
    "tax",
    "total",
)
PAYMENT_COLUMNS = ("sales_order_id", "provider_reference", "currency", "authorized", "captured")
OPERATION_COLUMNS = (
    "payment_id",
    "idempotency_key",
    "amount",
    "currency",
    "fx_rate",
    "amount_base",
)
EVENT_COLUMNS = ("order_id", "to_status", "reason", "data")


@dataclass
class _Page:
    tenant: Tenant
    channel: Channel
    actor_id: int | None
    written_at: datetime
    now: Any  # the database form of ``written_at``
    prepared: list[Prepared]
    references: list[str]
    order_ids: list[int] = field(default_factory=list)
    operation_ids: list[int] = field(default_factory=list)
    invoices: list[tuple[str, Decimal]] = field(default_factory=list)  # (number, total)

    @property
    def stamps(self) -> dict[str, Any]:
        """The common values of every row's tenant and times."""
        return {"tenant_id": self.tenant.pk, "created_at": self.now, "updated_at": self.now}


def market_orders_insert(
    *,
    tenant: Tenant,
    channel: Channel,
    orders: list[MarketOrder],
    actor: Actor,
    run_id: int | None,
    result: UpsertResult,
) -> None:
    """Validate and write the page's new orders (see the module docstring)."""
    ctx = PageContext(tenant, channel, {line.sku for m in orders for line in m.lines})
    prepared: list[Prepared] = []
    for market in orders:
        try:
            prepared.append(order_prepare(market, ctx))
        except OrderRefused as exc:
            result.errors.append((market.external_id, str(exc)))
    if not prepared:
        return
    known = _outcome_known_in_advance()
    initial = _final_status(known or Decision())
    page = _Page(
        tenant=tenant,
        channel=channel,
        actor_id=actor.pk if actor is not None else None,
        written_at=(written_at := timezone.now()),
        now=db_time(written_at),
        prepared=prepared,
        references=references_reserve(tenant=tenant, kind=SALES, count=len(prepared)),
    )
    written = _orders_write(page, initial)
    _details_write(page)
    page.invoices = invoices_write(
        tenant=tenant,
        issued_at=page.written_at,
        stamps=page.stamps,
        orders=list(zip(page.order_ids, page.operation_ids, page.prepared, strict=True)),
        product_names=ctx.names,
    )
    decisions = [known] * len(prepared) if known is not None else _screen(page, written)
    decided = _decided(decisions)
    _journal_write(page, decided, actor, run_id)
    result.created += len(prepared)
    finals = [final for final, _, _ in decided]
    result.routed_order_ids.extend(
        pk for pk, final in zip(page.order_ids, finals, strict=True) if final == OrderStatus.OPEN
    )
    # The sales kind's set-based "after submit" hook, given the orders as they now stand: one
    # routing task for the page's open orders, enqueued after commit.
    for order, final in zip(written, finals, strict=True):
        order.__dict__["status"] = final  # the FSM field refuses a plain assignment
    kind_after_many(SALES, written, "submit")


def _orders_write(page: _Page, initial: str) -> list[Order]:
    """Write the ``Order`` rows; returns them as model instances as submitted (status
    ``pending``, as screening sees any submitted order), built as a read would build them (no
    re-read)."""
    rows = []
    submissions = []  # as a read gives them back (times in their JSON form)
    for ref, p in zip(page.references, page.prepared, strict=True):
        m = p.market
        submission = {
            "channel": page.channel.code,
            "external_id": m.external_id,
            "marketplace_status": m.marketplace_status,
            "updated_at": json_time(m.updated_at),
            "currency": p.currency,
            "lines": [[ln.sku, str(ln.quantity), str(ln.unit_price)] for _, ln in p.lines],
        }
        submissions.append(submission)
        rows.append((ref, client_order_id_for(page.channel, m.external_id), db_json(submission)))
    common = {
        **page.stamps,
        "kind": SALES_TEXT,
        "status": str(initial),
        "status_reason": "",
        "note": "",
        "created_by_id": page.actor_id,
    }
    page.order_ids = rows_insert_with_ids(
        Order, ORDER_COLUMNS, rows, key="reference", common=common
    )
    names = [f.attname for f in Order._meta.concrete_fields]
    common = dict.fromkeys(names)
    common.update(
        tenant_id=page.tenant.pk,
        created_at=page.written_at,
        updated_at=page.written_at,
        kind=SALES,
        status=OrderStatus.PENDING,
        status_reason="",
        note="",
        created_by_id=page.actor_id,
    )
    # One instance is built as a read builds it (``from_db``); the page's others are copies of
    # its attributes with their own values and a state of their own (what ``from_db`` would
    # give, without running the model's ``__init__`` over every field of every order).
    alias = connection.alias
    first = Order.from_db(alias, names, [common[name] for name in names])
    shared = {name: value for name, value in first.__dict__.items() if name != "_state"}
    cache_tenant = Order.tenant.field.set_cached_value
    blank = Order.__new__
    written = []
    for pk, row, submission in zip(page.order_ids, rows, submissions, strict=True):
        order = blank(Order)
        state = ModelState()
        state.adding = False
        state.db = alias
        order.__dict__.update(
            shared,
            _state=state,
            id=pk,
            reference=row[0],
            client_order_id=row[1],
            submission=submission,
        )
        cache_tenant(order, page.tenant)
        written.append(order)
    return written


def _details_write(page: _Page) -> None:
    """SalesOrder, lines, the marketplace payment and its capture operation."""
    tenant, stamps = page.tenant, page.stamps
    as_db = db_time_converter()
    sales_rows, line_rows, payment_rows = [], [], []
    for order_id, p in zip(page.order_ids, page.prepared, strict=True):
        m = p.market
        lat, lon = p.coordinates or (None, None)
        sales_rows.append(
            (
                *(order_id, m.external_id, m.ship_name, m.ship_line1, m.ship_line2),
                *(m.ship_city, m.ship_region, m.ship_postal_code, m.ship_country, lat, lon),
                *(m.ship_country, p.currency, p.subtotal, p.discount, p.tax, m.shipping_total),
                *(p.grand, p.rate, p.grand_base, m.marketplace_status),
                *(as_db(m.updated_at), as_db(m.placed_at)),
            )
        )
        for number, (product_id, ln) in enumerate(p.lines, start=1):
            line_rows.append(
                (
                    *(order_id, number, product_id, ln.sku, ln.external_line_id, ln.quantity),
                    *(ln.unit_price, ln.discount, ln.tax, line_total(ln)),
                )
            )
        payment_rows.append((order_id, m.external_id, p.currency, p.grand, p.grand))
    rows_insert(
        SalesOrder,
        SALES_COLUMNS,
        sales_rows,
        {
            **stamps,
            "channel_id": page.channel.pk,
            "ip_country": "",
            "base_currency": tenant.base_currency,
            "payment_status": PAID_TEXT,
            "fulfilment_status": "unfulfilled",
            "allocation_state": "pending",
        },
    )
    rows_insert(SalesOrderLine, LINE_COLUMNS, line_rows, stamps)
    payment_ids = rows_insert_with_ids(
        Payment,
        PAYMENT_COLUMNS,
        payment_rows,
        key="sales_order_id",
        common={**stamps, "method": "marketplace", "refunded": ZERO, "state": CAPTURED_TEXT},
    )
    key_prefix = f"mkt:{page.channel.pk}:"
    page.operation_ids = rows_insert_with_ids(
        PaymentOperation,
        OPERATION_COLUMNS,
        [
            (
                payment_id,
                f"{key_prefix}{p.market.external_id}:capture"[:128],
                *(p.grand, p.currency, p.rate, p.grand_base),
            )
            for payment_id, p in zip(payment_ids, page.prepared, strict=True)
        ],
        key="idempotency_key",
        common={**stamps, "kind": "capture", "base_currency": tenant.base_currency},
    )


def _screen(page: _Page, orders: list[Order]) -> list[Decision]:
    """Screen the submitted orders and move those held or rejected out of the clean pass they
    were written in, with the screening summary as their status reason: one
    UPDATE for all of them, none for a clean page."""
    decisions = screening_run_many(orders, SALES)
    moved = [
        (pk, _final_status(decision), decision.summary())
        for pk, decision in zip(page.order_ids, decisions, strict=True)
        if decision.outcome != Outcome.ACCEPT
    ]
    if moved:
        Order.objects.for_tenant(page.tenant).filter(pk__in=[pk for pk, _, _ in moved]).update(
            status=Case(*[When(pk=pk, then=Value(status)) for pk, status, _ in moved]),
            status_reason=Case(*[When(pk=pk, then=Value(reason)) for pk, _, reason in moved]),
        )
    return decisions


def _decided(decisions: list[Decision]) -> list[tuple[str, str, dict[str, Any]]]:
    """(final status, summary, journal form) of each decision, worked out once per distinct
    decision (a clean page's decisions are all equal)."""
    seen: dict[Any, tuple[str, str, dict[str, Any]]] = {}
    result = []
    for decision in decisions:
        key: Any = decision
        try:
            hash(decision)
        except TypeError:  # findings carry data dicts: compare by identity
            key = id(decision)
        found = seen.get(key)
        if found is None:
            found = (_final_status(decision), decision.summary(), decision.as_dict())
            seen[key] = found
        result.append(found)
    return result


def _journal_write(
    page: _Page, decided: list[tuple[str, str, dict[str, Any]]], actor: Actor, run_id: int | None
) -> None:
    actor_name = actor.get_username() if actor is not None else "system"
    rows = []
    for order_id, ref, p, (final, summary, screening), (invoice_no, total) in zip(
        page.order_ids, page.references, page.prepared, decided, page.invoices, strict=True
    ):
        m = p.market
        data = {
            "reference": ref,
            "channel": page.channel.code,
            "external_id": m.external_id,
            "marketplace_status": m.marketplace_status,
            "run_id": run_id,
            "submitted": True,
            "screening": screening,
            "payment": {"method": "marketplace", "captured": p.grand, "currency": p.currency},
            "invoice": {"number": invoice_no, "total": total, "currency": p.currency},
        }
        rows.append((order_id, str(final), summary, db_json(data)))
    common = {
        "tenant_id": page.tenant.pk,
        "created_at": page.now,
        "kind": IMPORTED_TEXT,
        "from_status": "",
        "actor_id": page.actor_id,
        "actor_name": actor_name,
    }
    rows_insert(OrderEvent, EVENT_COLUMNS, rows, common)
