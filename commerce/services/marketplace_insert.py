"""New marketplace orders, written set-based: a page of new orders in one statement per table.

:func:`market_orders_insert` is step 4-5 of ``orders_upsert`` (see
``commerce.services.marketplace_import``): it validates the page's new orders
(``commerce.services.marketplace_prepare``: SKU, quantity, amounts, currency; a refused order
is an ``error`` with its reason and is not stored), then
writes, for all the accepted ones at once: references (one counter update, gapless), ``Order``
rows (ids allocated from the sequence in one statement on PostgreSQL), ``SalesOrder`` rows,
lines, the marketplace ``Payment`` and its ``capture`` operation, and the journal; each table
is one ``COPY`` on PostgreSQL (``commerce.services.import_rows``).

Journal: the import of one marketplace order is one journaled step, so it writes one
``IMPORTED`` row per order, from no status to the status screening put it in (``open``,
``held``, ``rejected``, or ``pending`` when the sales kind waits for acceptance), with
``reason`` = the screening summary, and ``data`` carrying what a hand-entered order journals
over its submit/screen/outcome rows: the submission (channel, external id, marketplace status,
run id), ``submitted: true``, the screening decision (outcome, screens, findings) and the
marketplace payment. Later changes journal their own rows (``MARKETPLACE_UPDATED``, ``CANCELED``,
routing, shipments...).

Screening runs as for any entered order (``orders.screening``), after the rows are written (the
screens read the sales order and the tenant's other orders) and on the order as submitted
(status ``pending``). The ``Order`` rows are written in the status of a clean pass (``open``, or
``pending`` when the kind waits for acceptance): nothing outside the transaction sees them
before screening concludes, and only the orders screening holds or rejects are then moved, with
one UPDATE per outcome (a clean page writes no UPDATE at all). Routing of the accepted orders
is enqueued once per page, after commit, through the sales kind's set-based hook
(``orders.kinds.kind_after_many``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP
from typing import Any

from django.db import connection
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
from commerce.services.import_rows import (
    db_json,
    db_time,
    references_allocate,
    rows_insert,
    rows_insert_with_ids,
)
from commerce.services.marketplace_prepare import (
    MONEY,
    ZERO,
    OrderRefused,
    PageContext,
    Prepared,
    order_prepare,
)
from orders.kinds import kind_after_many, kind_policy
from orders.models import EventKind, Order, OrderEvent, OrderKind, OrderStatus
from orders.screening import Decision, Outcome, screening_run, screens_registered
from orders.services import Actor
from tenancy.models import Tenant

SALES = OrderKind.SALES


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (external id, why)
    routed_order_ids: list[int] = field(default_factory=list)


def _outcome_known_in_advance() -> Decision | None:
    """The screening decision when no screen applies to sales orders (always accept)."""
    from orders import screening

    applicable = [
        name
        for name in screens_registered()
        if (kinds := screening._registry[name].kinds) is None or SALES in kinds
    ]
    return None if applicable else Decision()


def _final_status(decision: Decision) -> str:
    if decision.outcome == Outcome.REJECT:
        return OrderStatus.REJECTED
    if decision.outcome == Outcome.HOLD:
        return OrderStatus.HELD
    if not kind_policy(SALES).accept_on_pass:
        return OrderStatus.PENDING
    return OrderStatus.OPEN


ORDER_COLUMNS = (
    "tenant_id",
    "created_at",
    "updated_at",
    "kind",
    "reference",
    "client_order_id",
    "status",
    "status_reason",
    "note",
    "submission",
    "created_by_id",
)
SALES_COLUMNS = (
    "tenant_id",
    "created_at",
    "updated_at",
    "order_id",
    "channel_id",
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
    "ip_country",
    "currency",
    "subtotal",
    "discount_total",
    "tax_total",
    "shipping_total",
    "grand_total",
    "base_currency",
    "fx_rate",
    "grand_total_base",
    "payment_status",
    "fulfilment_status",
    "allocation_state",
    "marketplace_status",
    "marketplace_updated_at",
    "placed_at",
)
LINE_COLUMNS = (
    "tenant_id",
    "created_at",
    "updated_at",
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
PAYMENT_COLUMNS = (
    "tenant_id",
    "created_at",
    "updated_at",
    "sales_order_id",
    "method",
    "provider_reference",
    "currency",
    "authorized",
    "captured",
    "refunded",
    "state",
)
OPERATION_COLUMNS = (
    "tenant_id",
    "created_at",
    "updated_at",
    "payment_id",
    "kind",
    "idempotency_key",
    "amount",
    "currency",
    "base_currency",
    "fx_rate",
    "amount_base",
)
EVENT_COLUMNS = (
    "tenant_id",
    "created_at",
    "order_id",
    "kind",
    "from_status",
    "to_status",
    "actor_id",
    "actor_name",
    "reason",
    "data",
)


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
        references=references_allocate(tenant=tenant, kind=SALES, count=len(prepared)),
    )
    submitted = _orders_write(page, initial)
    _details_write(page)
    decisions = [known] * len(prepared) if known is not None else _screen(page, submitted, initial)
    _journal_write(page, decisions, actor, run_id)
    result.created += len(prepared)
    finals = [_final_status(decision) for decision in decisions]
    result.routed_order_ids.extend(
        pk for pk, final in zip(page.order_ids, finals, strict=True) if final == OrderStatus.OPEN
    )
    # The sales kind's set-based "after submit" hook: one routing task for the page's open
    # orders, enqueued after commit.
    kind_after_many(
        SALES,
        [
            Order(pk=pk, tenant_id=tenant.pk, kind=SALES, status=final)
            for pk, final in zip(page.order_ids, finals, strict=True)
        ],
        "submit",
    )


def _orders_write(page: _Page, initial: str) -> list[Order]:
    """Write the ``Order`` rows; returns them as model instances (for screening: no re-read)."""
    rows = []
    for ref, p in zip(page.references, page.prepared, strict=True):
        m = p.market
        submission = {
            "channel": page.channel.code,
            "external_id": m.external_id,
            "marketplace_status": m.marketplace_status,
            "updated_at": m.updated_at,
            "currency": p.currency,
            "lines": [[ln.sku, str(ln.quantity), str(ln.unit_price)] for _, ln in p.lines],
        }
        rows.append(
            (
                page.tenant.pk,
                page.now,
                page.now,
                SALES,
                ref,
                client_order_id_for(page.channel, m.external_id),
                initial,
                "",
                "",
                db_json(submission),
                page.actor_id,
            )
        )
    page.order_ids = rows_insert_with_ids(Order, ORDER_COLUMNS, rows, key="reference")
    written = []
    for pk, row in zip(page.order_ids, rows, strict=True):
        values = dict(zip(ORDER_COLUMNS[1:], row[1:], strict=True))
        values["status"] = OrderStatus.PENDING  # as screening sees any submitted order
        order = Order(pk=pk, tenant=page.tenant, **values)
        order.created_at = order.updated_at = page.written_at
        order.submission = json.loads(order.submission)
        order._state.adding = False
        order._state.db = connection.alias
        written.append(order)
    return written


def _details_write(page: _Page) -> None:
    """SalesOrder, lines, the marketplace payment and its capture operation."""
    tenant, now = page.tenant, page.now
    sales_rows, line_rows, payment_rows = [], [], []
    for order_id, p in zip(page.order_ids, page.prepared, strict=True):
        m = p.market
        lat, lon = p.coordinates or (None, None)
        sales_rows.append(
            (
                *(tenant.pk, now, now, order_id, page.channel.pk, m.external_id),
                *(m.ship_name, m.ship_line1, m.ship_line2, m.ship_city, m.ship_region),
                *(m.ship_postal_code, m.ship_country, lat, lon, m.ship_country, ""),
                *(p.currency, p.subtotal, p.discount, p.tax, m.shipping_total, p.grand),
                *(tenant.base_currency, p.rate, p.grand_base, PaymentStatus.PAID),
                *("unfulfilled", "pending", m.marketplace_status),
                *(db_time(m.updated_at), db_time(m.placed_at)),
            )
        )
        for number, (product_id, ln) in enumerate(p.lines, start=1):
            net = (ln.quantity * ln.unit_price).quantize(MONEY, ROUND_HALF_UP)
            line_rows.append(
                (
                    *(tenant.pk, now, now, order_id, number, product_id, ln.sku),
                    *(ln.external_line_id, ln.quantity, ln.unit_price, ln.discount, ln.tax),
                    (net - ln.discount + ln.tax).quantize(MONEY, ROUND_HALF_UP),
                )
            )
        payment_rows.append(
            (
                *(tenant.pk, now, now, order_id, "marketplace", m.external_id, p.currency),
                *(p.grand, p.grand, ZERO, PaymentState.CAPTURED),
            )
        )
    rows_insert(SalesOrder, SALES_COLUMNS, sales_rows)
    rows_insert(SalesOrderLine, LINE_COLUMNS, line_rows)
    payment_ids = rows_insert_with_ids(Payment, PAYMENT_COLUMNS, payment_rows, key="sales_order_id")
    rows_insert(
        PaymentOperation,
        OPERATION_COLUMNS,
        [
            (
                *(tenant.pk, now, now, payment_id, "capture"),
                f"mkt:{page.channel.pk}:{p.market.external_id}:capture"[:128],
                *(p.grand, p.currency, tenant.base_currency, p.rate, p.grand_base),
            )
            for payment_id, p in zip(payment_ids, page.prepared, strict=True)
        ],
    )


def _screen(page: _Page, orders: list[Order], written: str) -> list[Decision]:
    """Screen the submitted orders and move those whose outcome is not the clean pass they
    were written in (one UPDATE per outcome)."""
    tenant = page.tenant
    decisions = [screening_run(order) for order in orders]
    by_status: dict[str, list[int]] = {}
    for pk, decision in zip(page.order_ids, decisions, strict=True):
        by_status.setdefault(_final_status(decision), []).append(pk)
    for status, pks in by_status.items():
        if status != written:
            Order.objects.for_tenant(tenant).filter(pk__in=pks).update(status=status)
    for pk, decision in zip(page.order_ids, decisions, strict=True):
        if decision.outcome != Outcome.ACCEPT:
            Order.objects.for_tenant(tenant).filter(pk=pk).update(status_reason=decision.summary())
    return decisions


def _journal_write(
    page: _Page, decisions: list[Decision], actor: Actor, run_id: int | None
) -> None:
    actor_name = actor.get_username() if actor is not None else "system"
    rows = []
    for order_id, ref, p, decision in zip(
        page.order_ids, page.references, page.prepared, decisions, strict=True
    ):
        m = p.market
        data = {
            "reference": ref,
            "channel": page.channel.code,
            "external_id": m.external_id,
            "marketplace_status": m.marketplace_status,
            "run_id": run_id,
            "submitted": True,
            "screening": decision.as_dict(),
            "payment": {"method": "marketplace", "captured": p.grand, "currency": p.currency},
        }
        rows.append(
            (
                *(page.tenant.pk, page.now, order_id, EventKind.IMPORTED, ""),
                _final_status(decision),
                *(page.actor_id, actor_name, decision.summary(), db_json(data)),
            )
        )
    rows_insert(OrderEvent, EVENT_COLUMNS, rows)
