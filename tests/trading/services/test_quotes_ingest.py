"""trading.services.marketdata.quotes_ingest: one row per (venue, instrument), the batch's
latest, and every last price of the batch seen by the stops, in order."""

from __future__ import annotations

import pytest

from tests.trading.factories import VenueFactory
from tests.trading.helpers import D, Desk, desk_create, quotes, trade_of
from trading.models import Quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(tenant, trader) -> Desk:
    return desk_create(tenant, trader)


def test_a_batch_quoting_one_venue_twice_keeps_the_latest(desk):
    # given a batch with two updates of the same venue and instrument
    first = {"bid": "9.90", "bid_size": "10", "ask": "10.10", "ask_size": "10", "last": "10.00"}
    second = {"bid": "9.95", "bid_size": "20", "ask": "10.05", "ask_size": "30", "last": "10.01"}
    # when it is ingested
    quotes(
        desk.tenant,
        {"venue": desk.venue, "instrument": desk.instrument, **first},
        {"venue": desk.venue, "instrument": desk.instrument, **second},
    )
    # then one quote row holds the second update
    assert list(
        Quote.objects.for_tenant(desk.tenant).values_list(
            "bid", "bid_size", "ask", "ask_size", "last"
        )
    ) == [(D("9.95"), D("20"), D("10.05"), D("30"), D("10.01"))]


def test_a_stop_triggers_on_any_last_price_of_a_batch(desk):
    # given a buy stop at 10.50, and liquidity on two venues
    xb = VenueFactory(tenant=desk.tenant, code="XB")
    book = {"bid": "10.00", "bid_size": "500", "ask": "10.60", "ask_size": "500"}
    quotes(desk.tenant, {"venue": desk.venue, "instrument": desk.instrument, "last": "10.00"})
    trade = desk.order(quantity="100", order_type="stop", stop_price="10.50")
    # when one batch reports a trade at 10.50 on XA and at 10.00 on XB
    quotes(
        desk.tenant,
        {"venue": desk.venue, "instrument": desk.instrument, "last": "10.50", **book},
        {"venue": xb, "instrument": desk.instrument, "last": "10.00", **book},
    )
    # then the stop triggered on the 10.50 print (not only on the batch's final last)
    fresh = trade_of(trade)
    assert (fresh.triggered, fresh.order.status) == (True, "completed")


def test_a_trailing_stop_follows_each_last_price_of_a_batch(desk):
    # given a sell trailing 0.50 entered at 10.00 (stop 9.50)
    quotes(desk.tenant, {"venue": desk.venue, "instrument": desk.instrument, "last": "10.00"})
    trade = desk.order(side="sell", quantity="100", order_type="trailing_stop", trail_amount="0.50")
    # when one batch reports 10.80 then 10.20 on the same venue
    quotes(
        desk.tenant,
        {"venue": desk.venue, "instrument": desk.instrument, "last": "10.80"},
        {"venue": desk.venue, "instrument": desk.instrument, "last": "10.20"},
    )
    # then the trail rose to 10.80 and the 10.20 print (below the new 10.30 stop) triggered it
    fresh = trade_of(trade)
    assert (fresh.trail_watermark, fresh.triggered) == (D("10.80"), True)
