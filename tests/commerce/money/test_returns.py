"""Returns (RMA): quantities, numbering, transitions, restock, exchanges."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from commerce.models import FulfilmentStatus, Return, SalesOrder, Stock
from commerce.services.exchanges import ReplacementInput, return_exchange_create
from commerce.services.returns import ReturnLineInput, return_create, return_transition
from oms_site.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from orders.models import OrderEvent
from tests.commerce.factories import ProductFactory, StockFactory, WarehouseFactory
from tests.commerce.money.helpers import D, events, line, money_snapshot, order_of, reload, ship
from tests.conftest import member

pytestmark = pytest.mark.django_db
YEAR = timezone.now().year
ADDRESS = {
    "ship_name": "Ada",
    "ship_line1": "Unter den Linden 1",
    "ship_city": "Berlin",
    "ship_postal_code": "10117",
    "ship_country": "DE",
    "ship_latitude": D("52.520008"),
    "ship_longitude": D("13.404954"),
}


def _create(sales: Any, *items: tuple[int, Any], **kwargs: Any) -> Return:
    return return_create(
        tenant=sales.tenant,
        actor=kwargs.pop("actor", None),
        sales_order_id=sales.pk,
        lines=[ReturnLineInput(line(sales, n).pk, q, **kwargs) for n, q in items],
    )


def _go(ret: Return, *transitions: str) -> Return:
    for name in transitions:
        ret = return_transition(tenant=ret.tenant, actor=None, return_id=ret.pk, transition=name)
    return ret


@pytest.fixture
def shipped(tenant):
    """Order of 2 x line 1 + 1 x line 2, all shipped from warehouse W (stock rows at 5)."""
    warehouse = WarehouseFactory(tenant=tenant, code="W")
    sales = order_of(tenant, **ADDRESS)
    ship(sales, {1: 2, 2: 1}, warehouse=warehouse)
    for n in (1, 2):
        StockFactory(
            tenant=tenant, warehouse=warehouse, product=line(sales, n).product, on_hand=D("5")
        )
    return sales


def _on_hand(sales: Any, n: int) -> D:
    return Stock.objects.for_tenant(sales.tenant_id).get(product=line(sales, n).product).on_hand


def test_create_numbers_rmas_gaplessly_and_defaults_the_warehouse(shipped):
    a = _create(shipped, (1, 1))
    b = _create(shipped, (1, 1))
    assert (a.rma_number, b.rma_number) == (f"RMA-{YEAR}-000001", f"RMA-{YEAR}-000002")
    assert a.warehouse is not None
    assert a.warehouse.code == "W"
    assert a.state == "requested"
    assert events(shipped)[-2:] == ["return_updated", "return_updated"]


def test_never_more_than_shipped_minus_already_returned(shipped):
    _create(shipped, (1, 1))
    before = money_snapshot(shipped.tenant)
    with pytest.raises(ValidationFailed) as exc:
        _create(shipped, (2, 1), (1, 2))
    assert exc.value.errors == {
        "lines[1].quantity": ["At most 1: 2 shipped, 1 returned or requested already."]
    }
    assert money_snapshot(shipped.tenant) == before


def test_a_declined_return_frees_its_units(shipped):
    _go(_create(shipped, (1, 2)), "decline")
    assert _create(shipped, (1, 2)).state == "requested"


def test_unshipped_goods_cannot_be_returned(tenant):
    sales = order_of(tenant)
    with pytest.raises(ValidationFailed) as exc:
        _create(sales, (1, 1))
    assert exc.value.errors == {
        "lines[0].quantity": ["At most 0: 0 shipped, 0 returned or requested already."]
    }


def test_restock_puts_marked_lines_back_into_the_warehouse(shipped):
    # given a return of 2 x line 1 (restock) and 1 x line 2 (not restocked)
    ret = return_create(
        tenant=shipped.tenant,
        actor=None,
        sales_order_id=shipped.pk,
        lines=[
            ReturnLineInput(line(shipped, 1).pk, "2"),
            ReturnLineInput(line(shipped, 2).pk, "1", restock=False),
        ],
    )
    _go(ret, "approve", "receive")
    assert reload(shipped).fulfilment_status == FulfilmentStatus.RETURNED
    _go(ret, "restock")
    assert (_on_hand(shipped, 1), _on_hand(shipped, 2)) == (D("7"), D("5"))
    assert Return.objects.for_tenant(shipped.tenant).get().state == "restocked"


def test_rejected_damaged_goods_do_not_go_back(shipped):
    ret = _go(_create(shipped, (1, 1)), "approve", "receive", "reject")
    assert ret.state == "rejected"
    assert _on_hand(shipped, 1) == D("5")
    assert reload(shipped).fulfilment_status == FulfilmentStatus.PARTIALLY_RETURNED


@pytest.mark.parametrize(
    ("path", "transition"),
    [
        ((), "receive"),
        ((), "restock"),
        (("approve",), "decline"),
        (("decline",), "approve"),
        (("approve", "receive", "restock"), "reject"),
    ],
)
def test_transitions_out_of_order_are_409_and_change_nothing(shipped, path, transition):
    ret = _go(_create(shipped, (1, 1)), *path)
    before = money_snapshot(shipped.tenant)
    with pytest.raises(TransitionNotAllowed):
        _go(ret, transition)
    assert money_snapshot(shipped.tenant) == before


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        ([], {"lines": ["At least one line is required."]}),
        ([(1, "0")], {"lines[0].quantity": ["Must be greater than zero."]}),
        ([(1, "-1")], {"lines[0].quantity": ["Must be greater than zero."]}),
        ([(1, "abc")], {"lines[0].quantity": ["A valid number is required."]}),
        ([(1, "1"), (1, "1")], {"lines[1].line": ["This line is listed twice."]}),
    ],
)
def test_bad_returns_are_refused(shipped, lines, errors):
    before = money_snapshot(shipped.tenant)
    with pytest.raises(ValidationFailed) as exc:
        return_create(
            tenant=shipped.tenant,
            actor=None,
            sales_order_id=shipped.pk,
            lines=[ReturnLineInput(line(shipped, n).pk, q) for n, q in lines],
        )
    assert exc.value.errors == errors
    assert money_snapshot(shipped.tenant) == before


def test_a_line_of_another_order_is_refused(shipped, tenant):
    other = order_of(tenant)
    with pytest.raises(ValidationFailed) as exc:
        return_create(
            tenant=tenant,
            actor=None,
            sales_order_id=shipped.pk,
            lines=[ReturnLineInput(line(other, 1).pk, "1")],
        )
    assert exc.value.errors == {"lines[0].line": [f"No line {line(other, 1).pk} on this order."]}


def test_another_tenants_order_and_return_are_not_found(shipped, other_tenant):
    ret = _create(shipped, (1, 1))
    with pytest.raises(NotFound):
        return_create(
            tenant=other_tenant,
            actor=None,
            sales_order_id=shipped.pk,
            lines=[ReturnLineInput(1, "1")],
        )
    with pytest.raises(NotFound):
        return_transition(tenant=other_tenant, actor=None, return_id=ret.pk, transition="approve")


def test_viewers_handle_no_returns(shipped):
    viewer = member(shipped.tenant, "viewer")
    with pytest.raises(PermissionDenied):
        _create(shipped, (1, 1), actor=viewer)


def test_exchange_creates_a_linked_zero_priced_replacement(shipped, seller):
    ret = _go(_create(shipped, (1, 2)), "approve")
    replacement = return_exchange_create(tenant=shipped.tenant, actor=seller, return_id=ret.pk)
    assert replacement.exchange_of_id == shipped.pk
    assert Return.objects.for_tenant(shipped.tenant).get().exchange_order_id == replacement.pk
    assert list(replacement.lines.values_list("product_id", "quantity", "unit_price")) == [
        (line(shipped, 1).product_id, D("2"), D("0"))
    ]
    assert replacement.grand_total == D("0")
    # nothing is owed on it (the original payment covers it): paid from the start
    assert (replacement.payment_status, reload(shipped).payment_status) == ("paid", "unpaid")
    assert replacement.external_id == f"{shipped.external_id}/{ret.rma_number}"
    kinds = list(
        OrderEvent.objects.for_tenant(shipped.tenant)
        .filter(kind="exchange_created")
        .values_list("order_id", flat=True)
    )
    assert sorted(kinds) == sorted([shipped.pk, replacement.pk])
    with pytest.raises(Conflict):
        return_exchange_create(tenant=shipped.tenant, actor=seller, return_id=ret.pk)


def test_exchange_for_another_sku(shipped, seller):
    other = ProductFactory(tenant=shipped.tenant, sku="BIGGER")
    ret = _go(_create(shipped, (1, 2)), "approve")
    replacement = return_exchange_create(
        tenant=shipped.tenant,
        actor=seller,
        return_id=ret.pk,
        replacements=[ReplacementInput(line(shipped, 1).pk, "1", sku="BIGGER")],
    )
    assert list(replacement.lines.values_list("sku", "quantity")) == [("BIGGER", D("1"))]
    assert other.pk == replacement.lines.get().product_id


def test_exchange_of_a_requested_return_is_refused(shipped, seller):
    ret = _create(shipped, (1, 1))
    orders_before = SalesOrder.objects.for_tenant(shipped.tenant).count()
    with pytest.raises(TransitionNotAllowed):
        return_exchange_create(tenant=shipped.tenant, actor=seller, return_id=ret.pk)
    assert SalesOrder.objects.for_tenant(shipped.tenant).count() == orders_before


@pytest.mark.parametrize(
    ("replacement", "errors"),
    [
        (("2", ""), {"replacements[0].quantity": []}),
        (("1", "NOPE"), {"replacements[0].sku": ["No active product NOPE."]}),
        (("0", ""), {"replacements[0].quantity": ["Must be greater than zero."]}),
    ],
)
def test_bad_replacements_are_refused(shipped, seller, replacement, errors):
    ret = _go(_create(shipped, (1, 1)), "approve")
    before = money_snapshot(shipped.tenant)
    with pytest.raises(ValidationFailed) as exc:
        return_exchange_create(
            tenant=shipped.tenant,
            actor=seller,
            return_id=ret.pk,
            replacements=[
                ReplacementInput(line(shipped, 1).pk, replacement[0], sku=replacement[1])
            ],
        )
    assert list(exc.value.errors) == list(errors)
    assert money_snapshot(shipped.tenant) == before
