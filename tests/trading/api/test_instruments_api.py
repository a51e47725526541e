"""/api/v1/trading/instruments/: list with filters, retrieve, create, PATCH; roles; isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for, member
from tests.trading.factories import InstrumentFactory, PositionFactory, QuoteFactory
from tests.trading.reference_helpers import (
    FORBIDDEN,
    NON_WRITERS,
    NOT_FOUND,
    ROLES,
    WRITERS,
    instrument_json,
    invalid,
    method_not_allowed,
    reference_snapshot,
)
from trading.models import Instrument

pytestmark = pytest.mark.django_db

URL = "/api/v1/trading/instruments/"
AAPL = {
    "symbol": "AAPL",
    "name": "Apple Inc.",
    "asset_class": "equity",
    "currency": "USD",
    "tick_size": "0.01",
    "lot_size": "1",
    "multiplier": "1",
    "issuer": "Apple Inc.",
    "sector": "Technology",
}


def _symbols(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["symbol"] for row in response.json()["results"]]


@pytest.fixture
def ops(tenant):
    return member(tenant, "operations", username="alpha.ops")


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_the_tenants_instruments_by_symbol(tenant, other_tenant, role):
    # given instruments in alpha (created out of order) and one in beta
    msft = InstrumentFactory(tenant=tenant, symbol="MSFT")
    aapl = InstrumentFactory(tenant=tenant, symbol="AAPL")
    InstrumentFactory(tenant=other_tenant, symbol="BETA")
    user = member(tenant, role, username=f"alpha.{role}")
    # when a member of any role lists them
    response = client_for(user).get(URL)
    # then exactly alpha's instruments answer, by symbol
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [instrument_json(aapl), instrument_json(msft)],
    }


def test_retrieve_answers_the_instrument(tenant, trader):
    instrument = InstrumentFactory(
        tenant=tenant,
        symbol="UST10Y",
        asset_class="bond",
        price_convention="percent_of_par",
        settlement_days=1,
        average_daily_volume=Decimal("1000000"),
    )
    response = client_for(trader).get(f"{URL}{instrument.pk}/")
    assert response.status_code == 200
    assert response.json() == instrument_json(instrument)
    assert response.json()["price_convention"] == "percent_of_par"
    assert response.json()["settlement_lag"] == 1
    assert response.json()["tick_size"] == "0.01000000"


def test_another_tenants_instrument_answers_404_like_a_missing_one(tenant, other_tenant, trader):
    # given beta's instrument and an id that exists nowhere
    foreign = InstrumentFactory(tenant=other_tenant)
    missing = foreign.pk + 1000
    api = client_for(trader)
    # when alpha's trader asks for both
    answers = [api.get(f"{URL}{pk}/") for pk in (foreign.pk, missing)]
    # then both answer the same 404
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"asset_class": "bond"}, ["UST10Y"]),
        ({"asset_class": ["bond", "fx"]}, ["EURUSD", "UST10Y"]),
        ({"currency": "EUR"}, ["SAP"]),
        ({"active": "false"}, ["OLD"]),
        ({"active": "true"}, ["AAPL", "EURUSD", "SAP", "UST10Y"]),
        ({"symbol": "SAP"}, ["SAP"]),
        ({"symbol": "sap"}, []),
        ({"q": "tech"}, []),
        ({"q": "app"}, ["AAPL"]),
        ({"q": "us"}, ["EURUSD", "UST10Y"]),
        ({"sector": "software"}, ["SAP"]),
        ({"issuer": "us treasury"}, ["UST10Y"]),
        ({"price_convention": "percent_of_par"}, ["UST10Y"]),
        ({}, ["AAPL", "EURUSD", "OLD", "SAP", "UST10Y"]),
    ],
)
def test_list_filters(tenant, other_tenant, trader, params, expected):
    # given a mix of instruments, and beta's look-alikes
    InstrumentFactory(tenant=tenant, symbol="AAPL", name="Apple Inc.")
    InstrumentFactory(tenant=tenant, symbol="SAP", name="SAP SE", currency="EUR", sector="Software")
    InstrumentFactory(tenant=tenant, symbol="EURUSD", name="Euro", asset_class="fx")
    InstrumentFactory(
        tenant=tenant,
        symbol="UST10Y",
        name="Treasury note",
        asset_class="bond",
        price_convention="percent_of_par",
        issuer="US Treasury",
    )
    InstrumentFactory(tenant=tenant, symbol="OLD", name="Delisted", active=False)
    InstrumentFactory(tenant=other_tenant, symbol="SAP", currency="EUR", sector="Software")
    # when the list is filtered
    response = client_for(trader).get(URL, params)
    # then exactly the matching instruments of alpha answer
    assert _symbols(response) == expected


def test_list_pages_by_symbol_with_a_cursor(tenant, trader):
    for symbol in ("E", "A", "D", "B", "C"):
        InstrumentFactory(tenant=tenant, symbol=symbol)
    api = client_for(trader)
    first = api.get(URL, {"page_size": 2})
    second = api.get(first.json()["next"])
    third = api.get(second.json()["next"])
    assert (_symbols(first), _symbols(second), _symbols(third)) == (
        ["A", "B"],
        ["C", "D"],
        ["E"],
    )
    assert third.json()["next"] is None
    assert _symbols(api.get(third.json()["previous"])) == ["C", "D"]


def test_list_runs_a_fixed_number_of_queries(tenant, trader):
    api = client_for(trader)
    InstrumentFactory(tenant=tenant)
    with CaptureQueriesContext(connection) as few:
        assert api.get(URL).status_code == 200
    InstrumentFactory.create_batch(10, tenant=tenant)
    with CaptureQueriesContext(connection) as many:
        assert api.get(URL).status_code == 200
    assert len(many) == len(few)


# --- creating -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", WRITERS)
def test_admin_and_operations_create_an_instrument(tenant, role):
    # given a writer
    user = member(tenant, role, username=f"alpha.{role}")
    # when they post an instrument
    response = client_for(user).post(URL, AAPL, format="json")
    # then it is stored and answered as stored
    assert response.status_code == 201
    instrument = Instrument.objects.for_tenant(tenant).get()
    assert response.json() == instrument_json(instrument)
    assert (
        instrument.symbol,
        instrument.name,
        instrument.asset_class,
        instrument.currency,
        instrument.tick_size,
        instrument.lot_size,
        instrument.multiplier,
        instrument.price_convention,
        instrument.issuer,
        instrument.sector,
        instrument.settlement_days,
        instrument.average_daily_volume,
        instrument.active,
    ) == (
        "AAPL",
        "Apple Inc.",
        "equity",
        "USD",
        Decimal("0.01"),
        Decimal("1"),
        Decimal("1"),
        "per_unit",
        "Apple Inc.",
        "Technology",
        None,
        None,
        True,
    )


def test_create_defaults_and_bond_convention(tenant, ops):
    # given only the required fields of a bond
    body = {"symbol": "UST10Y", "name": "UST 10y", "asset_class": "bond", "currency": "USD"}
    # when it is created
    response = client_for(ops).post(URL, body, format="json")
    # then bonds default to percent of par, and the numeric defaults apply
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("price_convention", "tick_size", "lot_size")} == {
        "price_convention": "percent_of_par",
        "tick_size": "0.01000000",
        "lot_size": "1.000000",
    }
    assert response.json()["settlement_lag"] == 2


def test_create_an_option_with_a_multiplier_and_settlement_days(tenant, ops):
    body = {
        "symbol": "AAPL 261218C00200000",
        "name": "AAPL Dec26 200 call",
        "asset_class": "option",
        "currency": "USD",
        "multiplier": 100,
        "settlement_days": 1,
        "average_daily_volume": "25000.5",
    }
    response = client_for(ops).post(URL, body, format="json")
    assert response.status_code == 201
    instrument = Instrument.objects.for_tenant(tenant).get()
    assert (instrument.multiplier, instrument.settlement_lag, instrument.average_daily_volume) == (
        Decimal("100"),
        1,
        Decimal("25000.5"),
    )


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_create(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).post(URL, AAPL, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_anonymous_callers_are_refused(tenant):
    from rest_framework.test import APIClient

    before = reference_snapshot()
    response = APIClient().post(URL, AAPL, format="json")
    assert (response.status_code, response.json()) == (
        401,
        {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
    )
    assert reference_snapshot() == before


def test_duplicate_symbol_is_a_400_naming_symbol_and_changes_nothing(tenant, ops):
    # given AAPL
    InstrumentFactory(tenant=tenant, symbol="AAPL")
    before = reference_snapshot()
    # when AAPL is created again
    response = client_for(ops).post(URL, AAPL, format="json")
    # then 400 names the symbol and nothing changed
    assert (response.status_code, response.json()) == (
        400,
        invalid(symbol=["An instrument with this symbol already exists."]),
    )
    assert reference_snapshot() == before


def test_the_constraint_decides_duplicates_without_a_pre_check_query(tenant, ops):
    # given a writer
    api = client_for(ops)
    # when an instrument is created
    with CaptureQueriesContext(connection) as queries:
        assert api.post(URL, AAPL, format="json").status_code == 201
    # then the only statement on the instrument table is the INSERT
    touching = [q["sql"].split()[0] for q in queries if "trading_instrument" in q["sql"]]
    assert touching == ["INSERT"]


def test_the_same_symbol_in_another_tenant_is_fine(tenant, other_tenant, ops):
    InstrumentFactory(tenant=other_tenant, symbol="AAPL")
    response = client_for(ops).post(URL, AAPL, format="json")
    assert response.status_code == 201
    assert Instrument.objects.for_tenant(tenant).get().symbol == "AAPL"


# --- changing -------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(tenant, ops):
    # given an instrument
    instrument = InstrumentFactory(tenant=tenant, symbol="AAPL", name="Apple", sector="")
    # when two fields are patched
    response = client_for(ops).patch(
        f"{URL}{instrument.pk}/", {"name": "Apple Inc.", "tick_size": "0.005"}, format="json"
    )
    # then they changed, nothing else did, and the body is the stored instrument
    assert response.status_code == 200
    assert response.json() == instrument_json(instrument)
    fresh = Instrument.objects.for_tenant(tenant).get()
    assert (fresh.symbol, fresh.name, fresh.tick_size, fresh.sector) == (
        "AAPL",
        "Apple Inc.",
        Decimal("0.005"),
        "",
    )
    assert fresh.updated_at > instrument.updated_at


def test_patch_active_false_deactivates(tenant, ops):
    instrument = InstrumentFactory(tenant=tenant)
    response = client_for(ops).patch(f"{URL}{instrument.pk}/", {"active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert Instrument.objects.for_tenant(tenant).get().active is False


def test_patch_with_unchanged_values_writes_nothing(tenant, ops):
    instrument = InstrumentFactory(tenant=tenant, symbol="AAPL", name="Apple")
    before = reference_snapshot()
    response = client_for(ops).patch(
        f"{URL}{instrument.pk}/", {"symbol": "AAPL", "name": "Apple"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == instrument_json(instrument)
    assert reference_snapshot() == before


def test_patch_to_a_symbol_in_use_is_a_400_and_changes_nothing(tenant, ops):
    InstrumentFactory(tenant=tenant, symbol="AAPL")
    msft = InstrumentFactory(tenant=tenant, symbol="MSFT")
    before = reference_snapshot()
    response = client_for(ops).patch(f"{URL}{msft.pk}/", {"symbol": "AAPL"}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        invalid(symbol=["An instrument with this symbol already exists."]),
    )
    assert reference_snapshot() == before


def test_patch_renames_a_symbol(tenant, ops):
    instrument = InstrumentFactory(tenant=tenant, symbol="FB")
    response = client_for(ops).patch(f"{URL}{instrument.pk}/", {"symbol": "META"}, format="json")
    assert response.status_code == 200
    assert Instrument.objects.for_tenant(tenant).get().symbol == "META"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"asset_class": "fx"}, "asset_class"),
        ({"currency": "EUR"}, "currency"),
        ({"multiplier": "10"}, "multiplier"),
    ],
)
def test_economic_terms_are_frozen_once_a_position_exists(tenant, ops, change, field):
    # given an instrument with a position
    position = PositionFactory(tenant=tenant)
    before = reference_snapshot()
    # when an economic term is changed
    response = client_for(ops).patch(f"{URL}{position.instrument_id}/", change, format="json")
    # then 400 names it and nothing changed
    assert (response.status_code, response.json()) == (
        400,
        invalid(
            **{field: ["Cannot be changed once the instrument has orders, positions or trades."]}
        ),
    )
    assert reference_snapshot() == before


def test_economic_terms_may_change_before_any_trading(tenant, ops):
    # given an instrument with only a quote (no orders, positions or trades)
    quote = QuoteFactory(tenant=tenant)
    # when its asset class and currency are corrected
    response = client_for(ops).patch(
        f"{URL}{quote.instrument_id}/", {"asset_class": "fx", "currency": "EUR"}, format="json"
    )
    # then they change
    assert response.status_code == 200
    fresh = Instrument.objects.for_tenant(tenant).get()
    assert (fresh.asset_class, fresh.currency) == ("fx", "EUR")


def test_patch_checks_rules_against_the_stored_values(tenant, ops):
    # given a per-unit equity
    instrument = InstrumentFactory(tenant=tenant)
    before = reference_snapshot()
    # when only the convention is switched to percent of par
    response = client_for(ops).patch(
        f"{URL}{instrument.pk}/", {"price_convention": "percent_of_par"}, format="json"
    )
    # then the rule sees the stored asset class
    assert (response.status_code, response.json()) == (
        400,
        invalid(price_convention=["Percent of par applies to bonds and loans only."]),
    )
    assert reference_snapshot() == before


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_patch(tenant, role):
    instrument = InstrumentFactory(tenant=tenant)
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).patch(f"{URL}{instrument.pk}/", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_patching_another_tenants_instrument_answers_404_and_changes_nothing(
    tenant, other_tenant, ops
):
    foreign = InstrumentFactory(tenant=other_tenant)
    before = reference_snapshot()
    answers = [
        client_for(ops).patch(f"{URL}{pk}/", {"name": "mine"}, format="json")
        for pk in (foreign.pk, foreign.pk + 1000)
    ]
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2
    assert reference_snapshot() == before


@pytest.mark.parametrize(("method", "path"), [("put", "{id}/"), ("delete", "{id}/"), ("patch", "")])
def test_put_delete_and_list_patch_are_not_offered(tenant, ops, method, path):
    instrument = InstrumentFactory(tenant=tenant)
    before = reference_snapshot()
    url = URL + path.format(id=instrument.pk)
    response = getattr(client_for(ops), method)(url, {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (405, method_not_allowed(method.upper()))
    assert reference_snapshot() == before
