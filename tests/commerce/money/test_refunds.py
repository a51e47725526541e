"""Refunds: bounds, shipping, lines, restock rule, idempotency, credit notes."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.models import (
    Invoice,
    InvoiceLine,
    Payment,
    PaymentStatus,
    Refund,
    RefundLine,
    ReturnLine,
    Stock,
)
from commerce.services.payments import payment_authorize, payment_capture
from commerce.services.refunds import RefundLineInput, refund_create
from commerce.services.returns import ReturnLineInput, return_create, return_transition
from oms_site.errors import Conflict, IdempotencyConflict, NotFound, ValidationFailed
from orders.models import OrderEvent
from tests.commerce.factories import StockFactory, WarehouseFactory
from tests.commerce.money.helpers import (
    D,
    events,
    line,
    money_snapshot,
    order_of,
    paid,
    rate,
    reload,
    ship,
)

pytestmark = pytest.mark.django_db


def _refund(sales: Any, key: str = "r1", **kwargs: Any) -> Refund:
    return refund_create(
        tenant=sales.tenant, actor=None, sales_order_id=sales.pk, idempotency_key=key, **kwargs
    )


def test_refund_of_one_unit_with_its_tax_share(tenant):
    # given 2 x 30.00 (+3.00 tax each) + 1 x 40.00 (+4.00) + 5.00 shipping = 115.00, paid
    sales = order_of(tenant)
    paid(sales)
    # when one unit of line 1 and the shipping are refunded
    refund = _refund(sales, lines=[RefundLineInput(line(sales, 1).pk, "1")], shipping="5.00")
    # then 33.00 + 5.00 = 38.00 goes back
    assert (refund.amount, refund.shipping, refund.amount_base, refund.fx_rate) == (
        D("38.00"),
        D("5.00"),
        D("38.00"),
        D("1"),
    )
    assert list(
        RefundLine.objects.for_tenant(tenant).values_list("quantity", "amount", "tax", "restock")
    ) == [(D("1"), D("33.00"), D("3.00"), False)]
    assert Payment.objects.for_tenant(tenant).get().refunded == D("38.00")
    assert reload(sales).payment_status == PaymentStatus.PARTIALLY_REFUNDED
    note = Invoice.objects.for_tenant(tenant).get(kind="credit_note")
    assert (note.subtotal, note.tax_total, note.shipping_total, note.total) == (
        D("30.00"),
        D("3.00"),
        D("5.00"),
        D("38.00"),
    )
    assert note.credited_invoice == Invoice.objects.for_tenant(tenant).get(kind="invoice")
    assert events(sales)[-2:] == ["refunded", "invoice_issued"]


def test_refunding_everything_marks_refunded(tenant):
    sales = order_of(tenant)
    paid(sales)
    _refund(
        sales,
        lines=[RefundLineInput(line(sales, 1).pk, "2"), RefundLineInput(line(sales, 2).pk, "1")],
        shipping="5",
    )
    assert reload(sales).payment_status == PaymentStatus.REFUNDED
    assert Payment.objects.for_tenant(tenant).get().refunded == D("115.00")


def test_the_last_units_take_what_is_left_of_the_line(tenant):
    # given a line of 3 x 10.00 with 10 % tax: total 33.00, tax 3.00
    from tests.commerce.factories import ProductFactory

    sales = order_of(
        tenant, lines=[(ProductFactory(tenant=tenant), 3, "10.00")], tax_rate=D("0.10")
    )
    paid(sales)
    # when refunded one unit at a time
    for n in range(3):
        _refund(sales, key=f"r{n}", lines=[RefundLineInput(line(sales, 1).pk, "1")])
    # then the three refunds add up to the line exactly
    rows = list(RefundLine.objects.for_tenant(tenant).order_by("pk").values_list("amount", "tax"))
    assert rows == [(D("11.00"), D("1.00"))] * 3
    assert sum(a for a, _ in rows) == D("33.00")


def test_never_refund_more_than_captured_minus_refunded(tenant):
    # given 115.00 authorized, only 50.00 captured
    sales = order_of(tenant)
    auth = payment_authorize(
        tenant=tenant, actor=None, sales_order_id=sales.pk, amount="115", idempotency_key="a"
    )
    payment_capture(
        tenant=tenant, actor=None, payment_id=auth.payment_id, amount="50", idempotency_key="c"
    )
    _refund(sales, key="r1", adjustment="30")
    before = money_snapshot(tenant)
    # when 20.01 more is refunded
    with pytest.raises(Conflict) as exc:
        _refund(sales, key="r2", adjustment="20.01")
    # then 409, nothing changed
    assert exc.value.message == "Cannot refund 20.01 USD: only 20.00 captured and not yet refunded."
    assert money_snapshot(tenant) == before


def test_line_quantity_beyond_what_is_left_is_refused(tenant):
    sales = order_of(tenant)
    paid(sales)
    _refund(sales, key="r1", lines=[RefundLineInput(line(sales, 1).pk, "1")])
    before = money_snapshot(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _refund(
            sales,
            key="r2",
            lines=[
                RefundLineInput(line(sales, 2).pk, "1"),
                RefundLineInput(line(sales, 1).pk, "2"),
            ],
        )
    assert exc.value.errors == {"lines[1].quantity": ["At most 1: 2 ordered, 1 refunded already."]}
    assert money_snapshot(tenant) == before


def test_shipping_beyond_the_order_shipping_is_refused(tenant):
    sales = order_of(tenant)
    paid(sales)
    with pytest.raises(ValidationFailed) as exc:
        _refund(sales, shipping="5.01")
    assert exc.value.errors == {"shipping": ["At most 5.00: shipping 5.00, 0.00 refunded."]}


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({}, {"lines": ["Refund something: lines, shipping or an adjustment."]}),
        ({"shipping": "-1"}, {"shipping": ["Must not be negative."]}),
        ({"adjustment": "x"}, {"adjustment": ["A valid number is required."]}),
        (
            {"lines": [RefundLineInput(999999, "1")]},
            {"lines[0].line": ["No line 999999 on this order."]},
        ),
        ({"lines_q": "0"}, {"lines[0].quantity": ["Must be greater than zero."]}),
        ({"lines_q": "1.0001"}, {"lines[0].quantity": ["At most 3 decimal places."]}),
        ({"adjustment": "1", "currency": "EUR"}, {"currency": ["Must be the order currency USD."]}),
        ({"adjustment": "1", "return_id": 999999}, {"return": ["No return 999999 on this order."]}),
        ({"adjustment": "1", "reason": "x" * 501}, {"reason": ["At most 500 characters."]}),
        (
            {"lines_restock": True},
            {
                "lines[0].restock": [
                    "Only goods that came back can be restocked: name a received return."
                ]
            },
        ),
    ],
)
def test_bad_refunds_are_refused_and_store_nothing(tenant, kwargs, errors):
    sales = order_of(tenant)
    paid(sales)
    if "lines_q" in kwargs:
        kwargs = {"lines": [RefundLineInput(line(sales, 1).pk, kwargs.pop("lines_q"))]}
    if "lines_restock" in kwargs:
        kwargs = {"lines": [RefundLineInput(line(sales, 1).pk, "1", restock=True)]}
    before = money_snapshot(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _refund(sales, **kwargs)
    assert exc.value.errors == errors
    assert money_snapshot(tenant) == before


def test_refund_replay_and_conflict(tenant):
    sales = order_of(tenant)
    paid(sales)
    first = _refund(sales, adjustment="10")
    before = money_snapshot(tenant)
    assert _refund(sales, adjustment="10").pk == first.pk
    assert money_snapshot(tenant) == before
    with pytest.raises(IdempotencyConflict) as exc:
        _refund(sales, adjustment="11")
    assert list(exc.value.errors) == ["adjustment"]
    assert money_snapshot(tenant) == before


def test_refund_in_a_foreign_currency_stores_the_base_amount(tenant):
    rate(tenant, "EUR", "USD", "1.10")
    sales = order_of(tenant, currency="EUR")
    paid(sales)
    refund = _refund(sales, adjustment="20.00")
    assert (
        refund.currency,
        refund.amount,
        refund.base_currency,
        refund.fx_rate,
        refund.amount_base,
    ) == (
        "EUR",
        D("20.00"),
        "USD",
        D("1.10"),
        D("22.00"),
    )


def test_another_tenants_order_is_not_found(tenant, other_tenant):
    foreign = order_of(other_tenant)
    paid(foreign)
    with pytest.raises(NotFound):
        refund_create(
            tenant=tenant,
            actor=None,
            sales_order_id=foreign.pk,
            idempotency_key="x",
            adjustment="1",
        )


def test_the_payment_named_must_cover_the_refund(tenant):
    sales = order_of(tenant)
    first = paid(sales, amount="15.00")
    paid(sales, amount="100.00")
    with pytest.raises(Conflict) as exc:
        _refund(sales, adjustment="20", payment_id=first.pk)
    assert (
        exc.value.message == f"Cannot refund 20.00: payment {first.pk} has only 15.00 refundable."
    )
    refund = _refund(sales, key="r2", adjustment="20")
    assert refund.payment_id != first.pk  # the oldest payment that covers it alone


def _received_return(tenant: Any, *, restock: bool = True, on_hand: str = "0") -> tuple[Any, Any]:
    """A paid order whose 2 units of line 1 (and 1 of line 2) shipped from warehouse W, where
    the stock of line 1's product is ``on_hand``; a return of the 2 units of line 1 (marked
    ``restock``), approved and received."""
    warehouse = WarehouseFactory(tenant=tenant, code="W")
    sales = order_of(tenant)
    paid(sales)
    ship(sales, {1: 2, 2: 1}, warehouse=warehouse)
    StockFactory(
        tenant=tenant, warehouse=warehouse, product=line(sales, 1).product, on_hand=D(on_hand)
    )
    ret = return_create(
        tenant=tenant,
        actor=None,
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line(sales, 1).pk, "2", restock=restock)],
    )
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="approve")
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="receive")
    return sales, ret


def _stock_of_line_1(sales: Any) -> tuple[D, D, D]:
    stock = Stock.objects.for_tenant(sales.tenant_id).get(product=line(sales, 1).product)
    return stock.on_hand, stock.allocated, stock.reserved


def test_a_refund_cannot_restock_a_return_line_not_marked_for_restock(tenant):
    # given a received return of 2 units marked not to restock (opened hygiene goods, say)
    sales, ret = _received_return(tenant, restock=False)
    before = money_snapshot(tenant)
    # when a refund asks to restock one of them
    with pytest.raises(ValidationFailed) as exc:
        _refund(
            sales,
            return_id=ret.pk,
            lines=[RefundLineInput(line(sales, 1).pk, "1", restock=True)],
        )
    # then 400, nothing refunded, nothing in stock
    assert exc.value.errors == {
        "lines[0].restock": ["The return line is marked not to restock: these units stay out."]
    }
    assert money_snapshot(tenant) == before
    # and the return's own restock leaves them out too
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="restock")
    assert _stock_of_line_1(sales) == (D("0"), D("0"), D("0"))


def test_each_returned_unit_is_restocked_once(tenant):
    # given a received return of 2 units marked restock, stock 0
    sales, ret = _received_return(tenant)
    # when two refunds restock one unit each
    for key in ("r1", "r2"):
        _refund(
            sales,
            key=key,
            return_id=ret.pk,
            lines=[RefundLineInput(line(sales, 1).pk, "1", restock=True)],
        )
    assert _stock_of_line_1(sales) == (D("2"), D("0"), D("0"))
    # then the return's own restock adds nothing more
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="restock")
    assert _stock_of_line_1(sales) == (D("2"), D("0"), D("0"))
    assert ReturnLine.objects.for_tenant(tenant).get().restocked_quantity == D("2")


def test_a_rejected_return_takes_back_what_a_refund_restocked(tenant):
    # given a received return of 2 units (stock 5), one put back by a refund
    sales, ret = _received_return(tenant, on_hand="5")
    _refund(sales, return_id=ret.pk, lines=[RefundLineInput(line(sales, 1).pk, "1", restock=True)])
    assert _stock_of_line_1(sales) == (D("6"), D("0"), D("0"))
    # when the return is then rejected as damaged
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="reject")
    # then none of its units stay in stock
    assert _stock_of_line_1(sales) == (D("5"), D("0"), D("0"))
    assert ReturnLine.objects.for_tenant(tenant).get().restocked_quantity == D("0")
    journaled = (
        OrderEvent.objects.for_tenant(tenant)
        .filter(order_id=sales.pk, kind="return_updated")
        .order_by("-pk")
        .values_list("data", flat=True)[0]
    )
    assert (journaled["action"], journaled["stock"]) == (
        "reject",
        [{"warehouse": "W", "sku": line(sales, 1).sku, "quantity": "-1.000"}],
    )


def test_a_return_whose_restocked_units_are_taken_cannot_be_rejected(tenant):
    # given a received return of 2 units (stock 0), one put back by a refund and then
    # allocated to another order
    sales, ret = _received_return(tenant)
    _refund(sales, return_id=ret.pk, lines=[RefundLineInput(line(sales, 1).pk, "1", restock=True)])
    Stock.objects.for_tenant(tenant).filter(product=line(sales, 1).product).update(allocated=D("1"))
    before = money_snapshot(tenant)
    # when the return is rejected as damaged
    with pytest.raises(Conflict) as exc:
        return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="reject")
    # then 409 naming what is missing, nothing changed
    assert exc.value.message == (
        f"1.000 of {line(sales, 1).sku} restocked from this return are no longer available "
        "in W (0.000 available): free them first, or restock the return instead."
    )
    assert money_snapshot(tenant) == before


def test_restock_through_a_received_return(tenant):
    # given 2 units of line 1 shipped from W1 (stock 0 on hand there) and returned, received
    warehouse = WarehouseFactory(tenant=tenant)
    sales = order_of(tenant)
    paid(sales)
    ship(sales, {1: 2, 2: 1}, warehouse=warehouse)
    StockFactory(tenant=tenant, warehouse=warehouse, product=line(sales, 1).product, on_hand=D("0"))
    ret = return_create(
        tenant=tenant,
        actor=None,
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line(sales, 1).pk, "2")],
    )
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="approve")
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="receive")
    # when one unit is refunded with restock and the other without (a refund without restock
    # decides nothing about the goods: the return line, marked restock, does)
    _refund(
        sales,
        key="r1",
        return_id=ret.pk,
        lines=[RefundLineInput(line(sales, 1).pk, "1", restock=True)],
    )
    _refund(sales, key="r2", return_id=ret.pk, lines=[RefundLineInput(line(sales, 1).pk, "1")])
    stock = Stock.objects.for_tenant(tenant).get(
        warehouse=warehouse, product=line(sales, 1).product
    )
    assert stock.on_hand == D("1")
    assert ReturnLine.objects.for_tenant(tenant).get().restocked_quantity == D("1")
    # then the return's own restock puts back only the rest: each unit once
    return_transition(tenant=tenant, actor=None, return_id=ret.pk, transition="restock")
    stock.refresh_from_db()
    assert stock.on_hand == D("2")
    # and a third refund of that line on this return is beyond the return's quantity
    with pytest.raises(ValidationFailed) as exc:
        _refund(sales, key="r3", return_id=ret.pk, lines=[RefundLineInput(line(sales, 1).pk, "1")])
    assert exc.value.errors == {"lines[0].quantity": ["At most 0: 2 ordered, 2 refunded already."]}


def test_credit_note_lines_for_goods_shipping_and_adjustment(tenant):
    sales = order_of(tenant)
    paid(sales)
    _refund(
        sales,
        lines=[RefundLineInput(line(sales, 2).pk, "1")],
        shipping="2.50",
        adjustment="1.50",
        reason="late",
    )
    note = Invoice.objects.for_tenant(tenant).get(kind="credit_note")
    assert list(
        InvoiceLine.objects.for_tenant(tenant)
        .filter(invoice=note)
        .values_list("line_no", "description", "quantity", "unit_price", "tax", "total")
    ) == [
        (1, f"Refund: {line(sales, 2).product.name}", D("1"), D("40.00"), D("4.00"), D("44.00")),
        (2, "Refund adjustment: late", D("1"), D("1.50"), D("0"), D("1.50")),
    ]
    assert (note.subtotal, note.tax_total, note.shipping_total, note.total) == (
        D("41.50"),
        D("4.00"),
        D("2.50"),
        D("48.00"),
    )
