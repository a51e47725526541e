"""Races on PostgreSQL with real threads (each on its own connection, released together by a
barrier): captures racing on one authorisation, refunds racing on one capture, the same
idempotency key sent at once, and invoice numbers issued concurrently across orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.models import DocumentSequence, Invoice, Payment, PaymentOperation, Refund, Return
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.refunds import refund_create
from commerce.services.returns import ReturnLineInput, return_create
from oms_site.errors import Conflict, ValidationFailed
from tests.commerce.money.helpers import line, order_of, paid, ship
from tests.orders.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
D = Decimal
YEAR = timezone.now().year


def test_concurrent_captures_never_exceed_the_authorisation(tenant):
    # given 115.00 authorized and ten captures of 30.00 racing: only three fit
    sales = order_of(tenant)
    auth = payment_authorize(
        tenant=tenant, actor=None, sales_order_id=sales.pk, amount="115", idempotency_key="a"
    )
    results = run_in_threads(
        10,
        lambda i: payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auth.payment_id,
            amount="30",
            idempotency_key=f"c{i}",
        ),
    )
    captured = [r for r in results if isinstance(r, PaymentOperation)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(captured), len(refused)) == (3, 7)
    payment = Payment.objects.for_tenant(tenant).get()
    assert (payment.authorized, payment.captured) == (D("115"), D("90"))
    # and each capture issued one invoice, numbered without gap or duplicate
    numbers = sorted(Invoice.objects.for_tenant(tenant).values_list("number", flat=True))
    assert numbers == [f"INV-{YEAR}-{n:06d}" for n in (1, 2, 3)]


def test_the_same_key_at_once_captures_once(tenant):
    sales = order_of(tenant)
    auth = payment_authorize(
        tenant=tenant, actor=None, sales_order_id=sales.pk, amount="115", idempotency_key="a"
    )
    results = run_in_threads(
        6,
        lambda i: payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auth.payment_id,
            amount="40",
            idempotency_key="same",
        ),
    )
    assert all(isinstance(r, PaymentOperation) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Payment.objects.for_tenant(tenant).get().captured == D("40")


def test_concurrent_refunds_never_exceed_captured(tenant):
    sales = order_of(tenant)
    paid(sales)
    results = run_in_threads(
        8,
        lambda i: refund_create(
            tenant=tenant,
            actor=None,
            sales_order_id=sales.pk,
            idempotency_key=f"r{i}",
            adjustment="40",
        ),
    )
    assert sum(isinstance(r, Refund) for r in results) == 2
    assert sum(isinstance(r, Conflict) for r in results) == 6
    assert Payment.objects.for_tenant(tenant).get().refunded == D("80")


def test_concurrent_invoices_across_orders_have_no_gap_and_no_duplicate(tenant):
    # given twelve orders authorized, captured at the same moment by twelve threads
    orders = [order_of(tenant) for _ in range(12)]
    auths = [
        payment_authorize(
            tenant=tenant, actor=None, sales_order_id=s.pk, amount="115", idempotency_key=f"a{s.pk}"
        )
        for s in orders
    ]
    results = run_in_threads(
        12,
        lambda i: payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auths[i].payment_id,
            amount="115",
            idempotency_key=f"c{i}",
        ),
    )
    assert all(isinstance(r, PaymentOperation) for r in results), results
    sequences = sorted(Invoice.objects.for_tenant(tenant).values_list("sequence", flat=True))
    assert sequences == list(range(1, 13))
    counter = DocumentSequence.objects.for_tenant(tenant).get(kind="invoice", year=YEAR)
    assert counter.last_value == 12


def test_concurrent_return_requests_never_claim_more_than_shipped(tenant):
    # given 2 units shipped and five requests of 1 unit racing: two fit
    sales = order_of(tenant)
    ship(sales, {1: 2})
    line_id = line(sales, 1).pk
    results = run_in_threads(
        5,
        lambda i: return_create(
            tenant=tenant,
            actor=None,
            sales_order_id=sales.pk,
            lines=[ReturnLineInput(line_id, "1")],
        ),
    )
    assert sum(isinstance(r, Return) for r in results) == 2
    assert sum(isinstance(r, ValidationFailed) for r in results) == 3
    numbers = sorted(Return.objects.for_tenant(tenant).values_list("rma_number", flat=True))
    assert numbers == [f"RMA-{YEAR}-000001", f"RMA-{YEAR}-000002"]
