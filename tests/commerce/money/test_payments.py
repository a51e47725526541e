"""Payment operations: authorize, capture, void; idempotency; currencies; roles."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.models import Invoice, Payment, PaymentOperation, PaymentState, PaymentStatus
from commerce.services.payments import (
    payment_authorize,
    payment_capture,
    payment_refund,
    payment_void,
)
from oms_site.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.commerce.money.helpers import D, events, money_snapshot, order_of, rate, reload
from tests.conftest import member

pytestmark = pytest.mark.django_db


def _auth(sales: Any, amount: str = "115.00", key: str = "a1", actor: Any = None, **kw: Any):
    return payment_authorize(
        tenant=sales.tenant,
        actor=actor,
        sales_order_id=sales.pk,
        amount=amount,
        idempotency_key=key,
        **kw,
    )


def test_authorize_then_capture_in_full_issues_an_invoice_and_marks_paid(tenant, seller):
    # given an order of 115.00 USD
    sales = order_of(tenant)
    # when the seller authorizes and captures it
    auth = _auth(sales, actor=seller)
    capture = payment_capture(
        tenant=tenant,
        actor=seller,
        payment_id=auth.payment_id,
        amount="115.00",
        idempotency_key="c1",
    )
    # then the payment, its operations and the derived status say so
    payment = Payment.objects.for_tenant(tenant).get()
    assert (payment.authorized, payment.captured, payment.refunded, payment.state) == (
        D("115.00"),
        D("115.00"),
        D("0"),
        PaymentState.CAPTURED,
    )
    assert list(
        PaymentOperation.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("kind", "amount", "currency", "base_currency", "fx_rate", "amount_base")
    ) == [
        ("authorize", D("115.00"), "USD", "USD", D("1"), D("115.00")),
        ("capture", D("115.00"), "USD", "USD", D("1"), D("115.00")),
    ]
    assert reload(sales).payment_status == PaymentStatus.PAID
    invoice = Invoice.objects.for_tenant(tenant).get()
    assert invoice.operation == capture
    assert events(sales)[-3:] == ["payment", "payment", "invoice_issued"]


def test_operations_store_the_base_amount_with_the_rate_of_the_day(tenant):
    # given a EUR order, base USD, 1 EUR = 1.0850 USD today
    rate(tenant, "EUR", "USD", "1.0850")
    sales = order_of(tenant, currency="EUR")
    # when 100.00 EUR are authorized
    auth = _auth(sales, amount="100.00")
    # then the operation stores 108.50 USD at 1.0850
    assert (auth.amount, auth.currency, auth.base_currency, auth.fx_rate, auth.amount_base) == (
        D("100.00"),
        "EUR",
        "USD",
        D("1.0850"),
        D("108.50"),
    )


def test_operation_with_an_inverse_rate_only(tenant):
    rate(tenant, "USD", "GBP", "0.8000")  # 1 GBP = 1.25 USD
    sales = order_of(tenant, currency="GBP")
    auth = _auth(sales, amount="80.00")
    assert (auth.fx_rate, auth.amount_base) == (D("1.25"), D("100.00"))


def test_no_rate_refuses_naming_currency_and_stores_nothing(tenant):
    sales = order_of(tenant, currency="EUR")
    before = money_snapshot(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _auth(sales, amount="10.00")
    assert list(exc.value.errors) == ["currency"]
    assert money_snapshot(tenant) == before


def test_currency_must_be_the_order_currency(tenant):
    sales = order_of(tenant)
    before = money_snapshot(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _auth(sales, currency="EUR")
    assert exc.value.errors == {"currency": ["Must be the order currency USD."]}
    assert money_snapshot(tenant) == before


def test_replay_returns_the_stored_operation_and_changes_nothing(tenant):
    sales = order_of(tenant)
    first = _auth(sales)
    before = money_snapshot(tenant)
    again = _auth(sales)
    assert again.pk == first.pk
    assert money_snapshot(tenant) == before


def test_same_key_other_values_is_a_conflict(tenant):
    sales = order_of(tenant)
    _auth(sales)
    before = money_snapshot(tenant)
    with pytest.raises(IdempotencyConflict) as exc:
        _auth(sales, amount="100.00")
    assert exc.value.errors == {
        "amount": ["Differs from the original request with this idempotency_key."]
    }
    assert money_snapshot(tenant) == before


def test_a_capture_key_reused_for_a_void_is_a_conflict(tenant):
    sales = order_of(tenant)
    auth = _auth(sales)
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="15", idempotency_key="k"
    )
    with pytest.raises(IdempotencyConflict):
        payment_void(tenant=tenant, actor=None, payment_id=auth.payment_id, idempotency_key="k")


def test_never_capture_more_than_authorized(tenant):
    # given 115.00 authorized and 100.00 captured
    sales = order_of(tenant)
    auth = _auth(sales)
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="100.00", idempotency_key="c1"
    )
    before = money_snapshot(tenant)
    # when 15.01 more is captured
    with pytest.raises(Conflict) as exc:
        payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=auth.payment_id,
            amount="15.01",
            idempotency_key="c2",
        )
    # then 409 with the reason, nothing changed
    assert (
        exc.value.message
        == "Cannot capture 15.01: only 15.00 USD of the authorisation is uncaptured."
    )
    assert exc.value.errors == {"amount": ["At most 15.00."]}
    assert money_snapshot(tenant) == before


def test_partial_captures_then_void_of_the_remainder(tenant):
    sales = order_of(tenant)
    auth = _auth(sales)
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="60", idempotency_key="c1"
    )
    assert reload(sales).payment_status == PaymentStatus.PARTIALLY_PAID
    void = payment_void(tenant=tenant, actor=None, payment_id=auth.payment_id, idempotency_key="v1")
    payment = Payment.objects.for_tenant(tenant).get()
    assert (void.amount, payment.authorized, payment.captured, payment.state) == (
        D("55.00"),
        D("60"),
        D("60"),
        PaymentState.CAPTURED,
    )
    with pytest.raises(Conflict):
        payment_void(tenant=tenant, actor=None, payment_id=auth.payment_id, idempotency_key="v2")


def test_void_of_an_uncaptured_payment_voids_it(tenant):
    sales = order_of(tenant)
    auth = _auth(sales)
    payment_void(tenant=tenant, actor=None, payment_id=auth.payment_id, idempotency_key="v1")
    payment = Payment.objects.for_tenant(tenant).get()
    assert (payment.authorized, payment.state) == (D("0"), PaymentState.VOIDED)
    assert reload(sales).payment_status == PaymentStatus.UNPAID
    with pytest.raises(Conflict) as exc:
        payment_capture(
            tenant=tenant, actor=None, payment_id=auth.payment_id, amount="1", idempotency_key="c"
        )
    assert exc.value.message == "The payment is voided: nothing to capture."


def test_authorizations_never_exceed_the_order_total(tenant):
    sales = order_of(tenant)
    _auth(sales, amount="100.00", key="a1")
    before = money_snapshot(tenant)
    with pytest.raises(Conflict) as exc:
        _auth(sales, amount="15.01", key="a2")
    assert exc.value.errors == {"amount": ["At most 15.00."]}
    assert money_snapshot(tenant) == before


def test_canceled_orders_take_no_authorization(tenant):
    sales = order_of(tenant, status="canceled")
    with pytest.raises(Conflict):
        _auth(sales)


@pytest.mark.parametrize(
    ("amount", "field", "message"),
    [
        ("0", "amount", "Must be greater than zero."),
        ("-1", "amount", "Must be greater than zero."),
        ("abc", "amount", "A valid number is required."),
        ("NaN", "amount", "A valid number is required."),
        ("1.00001", "amount", "At most 4 decimal places."),
        ("1e30", "amount", "The number is too large."),
        (None, "amount", "A valid number is required."),
        (True, "amount", "A valid number is required."),
    ],
)
def test_bad_amounts_are_refused(tenant, amount, field, message):
    sales = order_of(tenant)
    before = money_snapshot(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _auth(sales, amount=amount)
    assert exc.value.errors == {field: [message]}
    assert money_snapshot(tenant) == before


@pytest.mark.parametrize("key", ["", "   ", "x" * 129, None, "a\nb"])
def test_bad_keys_are_refused(tenant, key):
    sales = order_of(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _auth(sales, key=key)
    assert list(exc.value.errors) == ["idempotency_key"]


def test_another_tenants_order_or_payment_is_not_found(tenant, other_tenant):
    foreign = order_of(other_tenant)
    foreign_auth = _auth(foreign)
    with pytest.raises(NotFound):
        payment_authorize(
            tenant=tenant, actor=None, sales_order_id=foreign.pk, amount="1", idempotency_key="x"
        )
    with pytest.raises(NotFound):
        payment_capture(
            tenant=tenant,
            actor=None,
            payment_id=foreign_auth.payment_id,
            amount="1",
            idempotency_key="x",
        )
    with pytest.raises(NotFound):
        payment_void(
            tenant=tenant, actor=None, payment_id=foreign_auth.payment_id, idempotency_key="x"
        )


def test_the_same_key_in_two_tenants_is_two_operations(tenant, other_tenant):
    a = _auth(order_of(tenant), key="same")
    b = _auth(order_of(other_tenant), key="same")
    assert a.pk != b.pk


@pytest.mark.parametrize("role", ["viewer", "trader", "compliance_officer"])
def test_roles_outside_sales_entry_move_no_money(tenant, role):
    user = member(tenant, role)
    sales = order_of(tenant)
    with pytest.raises(PermissionDenied):
        _auth(sales, actor=user)


@pytest.mark.parametrize("role", ["admin", "seller", "operations"])
def test_sales_entry_roles_move_money(tenant, role):
    user = member(tenant, role)
    assert _auth(order_of(tenant), actor=user).amount == D("115.00")


def test_payment_refund_gives_money_back_and_issues_a_credit_note(tenant):
    sales = order_of(tenant)
    auth = _auth(sales)
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="115", idempotency_key="c"
    )
    op = payment_refund(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="15.00", idempotency_key="r"
    )
    payment = Payment.objects.for_tenant(tenant).get()
    assert (op.kind, op.amount, payment.refunded, payment.state) == (
        "refund",
        D("15.00"),
        D("15.00"),
        PaymentState.PARTIALLY_REFUNDED,
    )
    assert reload(sales).payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert list(Invoice.objects.for_tenant(tenant).order_by("pk").values_list("kind", "total")) == [
        ("invoice", D("115.00")),
        ("credit_note", D("15.00")),
    ]
