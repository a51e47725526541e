"""/api/v1/trading/positions/: read-only positions with realized and unrealized P&L."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for, member
from tests.trading.factories import (
    AccountFactory,
    InstrumentFactory,
    PositionFactory,
    QuoteFactory,
    VenueFactory,
)
from tests.trading.reference_helpers import (
    NOT_FOUND,
    ROLES,
    iso,
    method_not_allowed,
    reference_snapshot,
)
from trading.models import Position, Quote

pytestmark = pytest.mark.django_db

URL = "/api/v1/trading/positions/"


def _at(minute: int) -> datetime:
    return datetime(2030, 1, 2, 15, minute, tzinfo=UTC)


def _quote(tenant, instrument, *, last, at, venue=None, **kwargs) -> Quote:
    """A quote of ``instrument`` whose last update happened at ``at``."""
    venue = venue or VenueFactory(tenant=tenant)
    quote = QuoteFactory(tenant=tenant, venue=venue, instrument=instrument, last=last, **kwargs)
    Quote.objects.for_tenant(tenant).filter(pk=quote.pk).update(updated_at=at)
    return quote


def _position_json(position: Position, *, last: str | None, unrealized: str | None) -> dict:
    fresh = Position.objects.for_tenant(position.tenant_id).get(pk=position.pk)
    return {
        "id": fresh.pk,
        "account": fresh.account.code,
        "instrument": fresh.instrument.symbol,
        "asset_class": fresh.instrument.asset_class,
        "currency": fresh.instrument.currency,
        "quantity": f"{fresh.quantity:.6f}",
        "avg_cost": f"{fresh.avg_cost:.8f}",
        "last_price": last,
        "realized_pnl": f"{fresh.realized_pnl:.6f}",
        "unrealized_pnl": unrealized,
        "updated_at": iso(fresh.updated_at),
    }


def _pnl(response) -> dict[str, str | None]:
    assert response.status_code == 200, response.json()
    return {row["instrument"]: row["unrealized_pnl"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_positions_with_pnl(tenant, other_tenant, role):
    # given a long equity position marked at 100 and one in beta
    account = AccountFactory(tenant=tenant, code="C-1")
    aapl = InstrumentFactory(tenant=tenant, symbol="AAPL")
    position = PositionFactory(
        tenant=tenant,
        account=account,
        instrument=aapl,
        quantity=Decimal("100"),
        avg_cost=Decimal("90"),
        realized_pnl=Decimal("12.5"),
    )
    _quote(tenant, aapl, last=Decimal("100"), at=_at(0))
    PositionFactory(tenant=other_tenant)
    user = member(tenant, role, username=f"alpha.{role}")
    # when a member lists positions
    response = client_for(user).get(URL)
    # then alpha's position answers with (100 - 90) x 100 unrealized
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [_position_json(position, last="100.00000000", unrealized="1000.000000")],
    }


@pytest.mark.parametrize(
    ("instrument", "quantity", "avg_cost", "last", "expected"),
    [
        ({"asset_class": "equity"}, "100", "90", "100", "1000.000000"),
        ({"asset_class": "equity"}, "-50", "100", "110", "-500.000000"),
        ({"asset_class": "equity"}, "-50", "100", "90.5", "475.000000"),
        ({"asset_class": "equity"}, "0", "0", "90", "0.000000"),
        (
            {"asset_class": "bond", "price_convention": "percent_of_par"},
            "1000000",
            "99.5",
            "100.25",
            "7500.000000",
        ),
        ({"asset_class": "option", "multiplier": "100"}, "10", "5", "5.5", "500.000000"),
        ({"asset_class": "future", "multiplier": "50"}, "-2", "5000", "4990.25", "975.000000"),
        ({"asset_class": "fx"}, "1000000", "1.08", "1.08123", "1230.000000"),
        ({"asset_class": "equity"}, "3", "0.33333333", "0.33333334", "0.000000"),
        ({"asset_class": "equity"}, "7", "0.1", "0.10000015", "0.000001"),
    ],
)
def test_unrealized_pnl_by_price_convention(
    tenant, trader, instrument, quantity, avg_cost, last, expected
):
    # given a position and a last price
    inst = InstrumentFactory(tenant=tenant, symbol="X", **instrument)
    PositionFactory(
        tenant=tenant, instrument=inst, quantity=Decimal(quantity), avg_cost=Decimal(avg_cost)
    )
    _quote(tenant, inst, last=Decimal(last), at=_at(0))
    # when positions are read
    response = client_for(trader).get(URL)
    # then the unrealized P&L is the hand-computed one, rounded half-even to 6 places
    assert _pnl(response) == {"X": expected}


def test_the_last_price_is_the_most_recently_updated_quote_that_has_one(tenant, trader):
    # given quotes on three venues: an old one, a newer one, and a newest one without a last
    inst = InstrumentFactory(tenant=tenant, symbol="AAPL")
    PositionFactory(tenant=tenant, instrument=inst, quantity=Decimal("10"), avg_cost=Decimal("100"))
    _quote(tenant, inst, last=Decimal("120"), at=_at(1))
    _quote(tenant, inst, last=Decimal("101"), at=_at(5))
    _quote(tenant, inst, last=None, at=_at(9))
    # when positions are read
    response = client_for(trader).get(URL)
    # then the newer quote's last marks the position
    assert response.json()["results"][0]["last_price"] == "101.00000000"
    assert _pnl(response) == {"AAPL": "10.000000"}


def test_without_a_last_price_unrealized_pnl_is_null(tenant, trader):
    quoted_without_last = InstrumentFactory(tenant=tenant, symbol="A")
    unquoted = InstrumentFactory(tenant=tenant, symbol="B")
    PositionFactory(tenant=tenant, instrument=quoted_without_last)
    PositionFactory(tenant=tenant, instrument=unquoted)
    _quote(tenant, quoted_without_last, last=None, at=_at(0))
    response = client_for(trader).get(URL)
    assert _pnl(response) == {"A": None, "B": None}
    assert [row["last_price"] for row in response.json()["results"]] == [None, None]


def test_list_runs_a_fixed_number_of_queries(tenant, trader):
    api = client_for(trader)
    inst = InstrumentFactory(tenant=tenant)
    PositionFactory(tenant=tenant, instrument=inst)
    _quote(tenant, inst, last=Decimal("1"), at=_at(0))
    with CaptureQueriesContext(connection) as few:
        assert api.get(URL).status_code == 200
    for n in range(10):
        other = InstrumentFactory(tenant=tenant)
        PositionFactory(tenant=tenant, instrument=other)
        _quote(tenant, other, last=Decimal(n + 1), at=_at(n))
    with CaptureQueriesContext(connection) as many:
        response = api.get(URL)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 11
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"account": "C-1"}, ["AAPL", "UST"]),
        ({"account": "c-1"}, []),
        ({"instrument": "AAPL"}, ["AAPL", "AAPL"]),
        ({"asset_class": "bond"}, ["UST"]),
        ({"asset_class": ["bond", "equity"]}, ["AAPL", "UST", "AAPL", "MSFT"]),
        ({"open": "true"}, ["AAPL", "UST", "AAPL"]),
        ({"open": "false"}, ["MSFT"]),
        ({"account": "P-1", "open": "true"}, ["AAPL"]),
    ],
)
def test_list_filters(tenant, other_tenant, trader, params, expected):
    client_account = AccountFactory(tenant=tenant, code="C-1")
    prop = AccountFactory(tenant=tenant, code="P-1")
    aapl = InstrumentFactory(tenant=tenant, symbol="AAPL")
    ust = InstrumentFactory(
        tenant=tenant, symbol="UST", asset_class="bond", price_convention="percent_of_par"
    )
    msft = InstrumentFactory(tenant=tenant, symbol="MSFT")
    PositionFactory(tenant=tenant, account=client_account, instrument=aapl)
    PositionFactory(tenant=tenant, account=client_account, instrument=ust)
    PositionFactory(tenant=tenant, account=prop, instrument=aapl, quantity=Decimal("-5"))
    PositionFactory(tenant=tenant, account=prop, instrument=msft, quantity=Decimal("0"))
    beta_account = AccountFactory(tenant=other_tenant, code="C-1")
    PositionFactory(tenant=other_tenant, account=beta_account)
    response = client_for(trader).get(URL, params)
    assert response.status_code == 200
    assert [row["instrument"] for row in response.json()["results"]] == expected


def test_list_pages_by_id(tenant, trader):
    positions = PositionFactory.create_batch(3, tenant=tenant)
    api = client_for(trader)
    first = api.get(URL, {"page_size": 2})
    second = api.get(first.json()["next"])
    assert [row["id"] for row in first.json()["results"]] == [p.pk for p in positions[:2]]
    assert [row["id"] for row in second.json()["results"]] == [positions[2].pk]
    assert second.json()["next"] is None


def test_retrieve_answers_the_position(tenant, trader):
    inst = InstrumentFactory(tenant=tenant)
    position = PositionFactory(tenant=tenant, instrument=inst)
    _quote(tenant, inst, last=Decimal("95"), at=_at(0))
    response = client_for(trader).get(f"{URL}{position.pk}/")
    assert response.status_code == 200
    assert response.json() == _position_json(position, last="95.00000000", unrealized="500.000000")


def test_another_tenants_position_answers_404_like_a_missing_one(tenant, other_tenant, trader):
    foreign = PositionFactory(tenant=other_tenant)
    api = client_for(trader)
    answers = [api.get(f"{URL}{pk}/") for pk in (foreign.pk, foreign.pk + 1000)]
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2


def test_another_tenants_quotes_never_mark_a_position(tenant, other_tenant, trader):
    # given alpha's position without a quote, and beta's quote on its own AAPL
    inst = InstrumentFactory(tenant=tenant, symbol="AAPL")
    PositionFactory(tenant=tenant, instrument=inst)
    beta_aapl = InstrumentFactory(tenant=other_tenant, symbol="AAPL")
    _quote(other_tenant, beta_aapl, last=Decimal("500"), at=_at(0))
    # then alpha's position has no last price
    assert _pnl(client_for(trader).get(URL)) == {"AAPL": None}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", ""), ("put", "{id}/"), ("patch", "{id}/"), ("delete", "{id}/")],
)
def test_positions_are_read_only(tenant, method, path):
    admin = member(tenant, "admin", username="alpha.admin")
    position = PositionFactory(tenant=tenant)
    before = reference_snapshot()
    url = URL + path.format(id=position.pk)
    response = getattr(client_for(admin), method)(url, {"quantity": "1"}, format="json")
    assert (response.status_code, response.json()) == (405, method_not_allowed(method.upper()))
    assert reference_snapshot() == before
