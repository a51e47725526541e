"""The pre-trade screen on a batch entry: each order screened in turn, exactly as one by one,
against the tenant's configuration read once for the batch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from compliance.models import ScreeningResult
from compliance.services import screening
from orders.models import Order
from tests.compliance.factories import rule_make
from tests.conftest import member
from tests.trading.factories import AccountFactory, InstrumentFactory, QuoteFactory
from trading.services.entry import TradeOrderInput, trade_orders_submit_many

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant: Any) -> dict[str, Any]:
    instrument = InstrumentFactory(tenant=tenant, symbol="ACME")
    QuoteFactory(tenant=tenant, instrument=instrument, bid=D("99"), ask=D("101"), last=D("100"))
    return {
        "tenant": tenant,
        "trader": member(tenant, "trader", username="batch.t"),
        "account": AccountFactory(tenant=tenant, code="A1"),
        "instrument": instrument,
    }


def _batch(w: dict[str, Any], quantities: list[str]) -> list[Any]:
    items = [
        TradeOrderInput(
            client_order_id=f"b-{n}",
            account=w["account"],
            instrument=w["instrument"],
            side="buy",
            quantity=D(qty),
            order_type="limit",
            time_in_force="day",
            limit_price=D("100"),
        )
        for n, qty in enumerate(quantities)
    ]
    return trade_orders_submit_many(tenant=w["tenant"], actor=w["trader"], items=items)


def test_each_order_of_a_batch_sees_the_exposure_of_the_ones_before_it(world: Any) -> None:
    # given a credit limit of 10,000 on the account
    rule_make(world["tenant"], "credit_account", params={"limit": "10000"})
    # when a batch of 60, 40 and 1 at 100 is entered
    results = _batch(world, ["60", "40", "1"])
    # then the first two fit (6,000 then 10,000 in total) and the third is rejected
    orders = [result.order for result in results]
    assert [o.status for o in orders] == ["pending", "pending", "rejected"]
    assert [Order.objects.for_tenant(world["tenant"]).get(pk=o.pk).status for o in orders] == [
        "pending",
        "pending",
        "rejected",
    ]
    # and each order's screening line is stored, with the exposure it was judged on
    lines = list(
        ScreeningResult.objects.for_tenant(world["tenant"])
        .order_by("id")
        .values_list("order_id", "kind", "outcome", "severity")
    )
    assert lines == [
        (orders[0].pk, "credit_account", "pass", ""),
        (orders[1].pk, "credit_account", "pass", ""),
        (orders[2].pk, "credit_account", "breach", "hard"),
    ]
    judged = ScreeningResult.objects.for_tenant(world["tenant"]).get(order_id=orders[2].pk)
    assert (D(judged.values["open_exposure"]), D(judged.values["total"])) == (
        D("10000"),
        D("10100"),
    )


def test_a_batch_reads_the_screening_configuration_once(world: Any) -> None:
    # given a rule, so the screen evaluates every order
    rule_make(world["tenant"], "max_quantity", params={"max": "1000"})
    # when a batch of five is entered
    with mock.patch.object(screening, "config_version", wraps=screening.config_version) as version:
        results = _batch(world, ["1", "2", "3", "4", "5"])
    # then the configuration token was read once, and all five passed
    assert version.call_count == 1
    assert [result.order.status for result in results] == ["pending"] * 5
    assert ScreeningResult.objects.for_tenant(world["tenant"]).filter(outcome="pass").count() == 5
