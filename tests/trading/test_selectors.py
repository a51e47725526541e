"""trading.selectors: positions marked at the last price."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pytest

from tests.conftest import client_for
from tests.trading.factories import InstrumentFactory, PositionFactory, QuoteFactory
from trading import selectors
from trading.models import Position, Quote

pytestmark = pytest.mark.django_db


def test_positions_visible_annotates_the_last_price_and_stays_in_the_tenant(tenant, other_tenant):
    mine = PositionFactory(tenant=tenant)
    QuoteFactory(tenant=tenant, instrument=mine.instrument, last=Decimal("95"))
    PositionFactory(tenant=other_tenant)
    positions: list[Any] = list(selectors.positions_visible(tenant=tenant))
    rows = [(p.pk, p.last_price) for p in positions]
    assert rows == [(mine.pk, Decimal("95"))]


def test_a_huge_pnl_does_not_overflow(tenant, trader):
    # given a position whose P&L has more digits than the default decimal context (28) holds
    # (values SQLite's floating-point storage also keeps exactly)
    instrument = InstrumentFactory(tenant=tenant, multiplier=Decimal("99999999.5"))
    PositionFactory(
        tenant=tenant,
        instrument=instrument,
        quantity=Decimal("-99999999.5"),
        avg_cost=Decimal("0.01"),
    )
    QuoteFactory(tenant=tenant, instrument=instrument, last=Decimal("9999999.99"))
    position = selectors.positions_visible(tenant=tenant).get()
    stored = Position.objects.for_tenant(tenant).get()
    last = Quote.objects.for_tenant(tenant).get().last
    assert last is not None
    with localcontext() as context:
        context.prec = 100
        expected = ((last - stored.avg_cost) * stored.quantity * instrument.multiplier).quantize(
            Decimal("0.000001")
        )
    # when it is marked, directly and through the API
    pnl = selectors.position_unrealized_pnl(position)
    response = client_for(trader).get("/api/v1/trading/positions/")
    # then the exact figure answers, not an overflow (or a 500)
    assert pnl == expected
    assert response.status_code == 200
    assert response.json()["results"][0]["unrealized_pnl"] == str(expected)
