"""Admin of trading reference data, quotes and positions (trading/admin.py).

Staff see their working tenant's rows only; everyone views; admin and operations add and change
instruments, accounts and venues through the reference services with the API's rules; quotes
and positions are read-only; nothing is deleted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import admin_client_for, member
from tests.trading.factories import (
    AccountFactory,
    CashBalanceFactory,
    InstrumentFactory,
    PositionFactory,
    QuoteFactory,
    VenueFactory,
)
from tests.trading.reference_helpers import NON_WRITERS, ROLES, WRITERS, reference_snapshot
from trading import selectors
from trading.models import Account, Instrument, Quote, Venue

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "instrument": "/admin/trading/instrument/",
    "account": "/admin/trading/account/",
    "venue": "/admin/trading/venue/",
    "quote": "/admin/trading/quote/",
    "position": "/admin/trading/position/",
}
EDITABLE = ("instrument", "account", "venue")
READ_ONLY = ("quote", "position")

INSTRUMENT_FORM = {
    "symbol": "AAPL",
    "name": "Apple Inc.",
    "asset_class": "equity",
    "currency": "USD",
    "tick_size": "0.01",
    "lot_size": "1",
    "multiplier": "1",
    "price_convention": "per_unit",
    "issuer": "Apple Inc.",
    "sector": "Technology",
    "settlement_days": "",
    "average_daily_volume": "",
    "active": "on",
}
ACCOUNT_FORM = {
    "code": "C-1",
    "name": "Client one",
    "kind": "client",
    "beneficial_owner": "Jane Client",
    "base_currency": "USD",
    "active": "on",
}
VENUE_FORM = {
    "code": "XNYS",
    "name": "NYSE (simulated)",
    "kind": "exchange",
    "taker_fee_bps": "3",
    "maker_fee_bps": "-2",
    "timezone": "America/New_York",
    "session_open": "09:30",
    "session_close": "16:00",
    "asset_classes": ["equity", "option"],
    "active": "on",
}


def _rows(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def _hidden(page: str) -> dict[str, str]:
    """The hidden inputs of a page (inline management forms), without the CSRF token."""
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data.pop("csrfmiddlewaretoken", None)
    return data


def _post_form(client, url: str, data: dict):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**_hidden(page.content.decode()), **data})


def _form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


@pytest.fixture
def world(tenant, other_tenant):
    """One row of each model in alpha and in beta (beta's with the same codes)."""
    rows = {}
    for name, owner in (("alpha", tenant), ("beta", other_tenant)):
        account = AccountFactory(tenant=owner, code="C-1")
        instrument = InstrumentFactory(tenant=owner, symbol="AAPL")
        venue = VenueFactory(tenant=owner, code="XNYS")
        quote = QuoteFactory(tenant=owner, venue=venue, instrument=instrument)
        position = PositionFactory(tenant=owner, account=account, instrument=instrument)
        rows[name] = {
            "instrument": instrument,
            "account": account,
            "venue": venue,
            "quote": quote,
            "position": position,
        }
    return rows


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", CHANGELISTS)
def test_every_member_sees_only_the_working_tenants_rows(tenant, world, role, model):
    # given rows in alpha and beta, and a member of alpha
    user = member(tenant, role, username=f"alpha.{role}")
    # when they open the changelist
    response = admin_client_for(user).get(CHANGELISTS[model])
    # then exactly alpha's row is listed
    assert response.status_code == 200
    assert _rows(response) == {world["alpha"][model].pk}
    assert response.context["cl"].full_result_count == 1


@pytest.mark.parametrize(
    ("model", "search"),
    [
        ("instrument", "AAPL"),
        ("account", "C-1"),
        ("venue", "XNYS"),
        ("quote", "AAPL"),
        ("position", "C-1"),
    ],
)
def test_search_stays_in_the_working_tenant(tenant, world, model, search):
    user = member(tenant, "viewer", username="alpha.viewer")
    response = admin_client_for(user).get(CHANGELISTS[model], {"q": search})
    assert response.status_code == 200
    assert _rows(response) == {world["alpha"][model].pk}


def test_list_filters_narrow_and_related_choices_are_the_tenants(tenant, world):
    # given a bond next to alpha's equity
    user = member(tenant, "viewer", username="alpha.viewer")
    bond = InstrumentFactory(
        tenant=tenant, symbol="UST", asset_class="bond", price_convention="percent_of_par"
    )
    client = admin_client_for(user)
    # when the instruments are filtered by asset class
    response = client.get(CHANGELISTS["instrument"], {"asset_class__exact": "bond"})
    # then only the bond is listed
    assert _rows(response) == {bond.pk}
    # and the account filter of the positions offers alpha's accounts only
    prop = AccountFactory(tenant=tenant, code="P-1")
    positions = client.get(CHANGELISTS["position"])
    account_filter = next(
        spec for spec in positions.context["cl"].filter_specs if spec.field_path == "account"
    )
    assert account_filter.lookup_choices == [
        (world["alpha"]["account"].pk, "C-1"),
        (prop.pk, "P-1"),
    ]


def test_value_filters_offer_the_working_tenants_values_only(tenant, other_tenant):
    # given sectors in alpha and another one in beta
    user = member(tenant, "viewer", username="alpha.viewer")
    InstrumentFactory(tenant=tenant, sector="Technology")
    InstrumentFactory(tenant=tenant, sector="Energy")
    InstrumentFactory(tenant=other_tenant, sector="Secret beta sector")
    # when the instrument changelist is opened
    response = admin_client_for(user).get(CHANGELISTS["instrument"])
    # then the sector filter lists alpha's sectors only
    sector = next(
        spec for spec in response.context["cl"].filter_specs if spec.field_path == "sector"
    )
    assert sorted(sector.lookup_choices) == ["Energy", "Technology"]


def test_position_list_shows_last_price_and_unrealized_pnl(tenant):
    # given a long position of 100 at 90, an old quote at 120 and a newer one at 100
    user = member(tenant, "viewer", username="alpha.viewer")
    position = PositionFactory(tenant=tenant, quantity=Decimal("100"), avg_cost=Decimal("90"))
    for minute, last in ((1, "120"), (5, "100")):
        quote = QuoteFactory(tenant=tenant, instrument=position.instrument, last=Decimal(last))
        Quote.objects.for_tenant(tenant).filter(pk=quote.pk).update(
            updated_at=datetime(2030, 1, 1, 0, minute, tzinfo=UTC)
        )
    # when the changelist is opened
    response = admin_client_for(user).get(CHANGELISTS["position"])
    # then the row is marked at the newer last price
    html = response.content.decode()
    assert '<td class="field-last_price">100.00000000</td>' in html
    assert '<td class="field-unrealized_pnl">1000.000000</td>' in html


@pytest.mark.parametrize("model", CHANGELISTS)
def test_another_tenants_object_answers_404_like_a_missing_one(tenant, world, model):
    user = member(tenant, "admin", username="alpha.admin")
    client = admin_client_for(user)
    foreign = world["beta"][model].pk
    answers = [
        client.get(f"{CHANGELISTS[model]}{pk}/change/").status_code
        for pk in (foreign, foreign + 999)
    ]
    assert answers == [404, 404]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_nobody_deletes(tenant, world, model):
    user = member(tenant, "admin", username="alpha.admin")
    before = reference_snapshot()
    response = admin_client_for(user).post(
        f"{CHANGELISTS[model]}{world['alpha'][model].pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert reference_snapshot() == before


@pytest.mark.parametrize("model", READ_ONLY)
def test_quotes_and_positions_are_read_only_even_for_admins(tenant, world, model):
    user = member(tenant, "admin", username="alpha.admin")
    client = admin_client_for(user)
    obj = world["alpha"][model]
    before = reference_snapshot()
    page = client.get(f"{CHANGELISTS[model]}{obj.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(f"{CHANGELISTS[model]}add/").status_code == 403
    assert client.post(f"{CHANGELISTS[model]}{obj.pk}/change/", {"last": "1"}).status_code == 403
    assert reference_snapshot() == before


# --- adding and changing --------------------------------------------------------------------


@pytest.mark.parametrize("role", WRITERS)
def test_writers_add_an_instrument_through_the_service(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    response = _post_form(
        admin_client_for(user), f"{CHANGELISTS['instrument']}add/", INSTRUMENT_FORM
    )
    assert response.status_code == 302
    instrument = Instrument.objects.for_tenant(tenant).get()
    assert (
        instrument.tenant_id,
        instrument.symbol,
        instrument.sector,
        instrument.tick_size,
        instrument.settlement_days,
        instrument.average_daily_volume,
    ) == (tenant.pk, "AAPL", "Technology", Decimal("0.01"), None, None)
    assert response["Location"] == CHANGELISTS["instrument"]


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_add_or_change(tenant, world, role):
    user = member(tenant, role, username=f"alpha.{role}")
    client = admin_client_for(user)
    before = reference_snapshot()
    instrument = world["alpha"]["instrument"]
    add = client.post(f"{CHANGELISTS['instrument']}add/", {**INSTRUMENT_FORM, "symbol": "NEW"})
    change = client.post(f"{CHANGELISTS['instrument']}{instrument.pk}/change/", INSTRUMENT_FORM)
    page = client.get(f"{CHANGELISTS['instrument']}{instrument.pk}/change/")
    assert (add.status_code, change.status_code, page.status_code) == (403, 403, 200)
    assert 'name="_save"' not in page.content.decode()
    assert reference_snapshot() == before


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"symbol": "TAKEN"},
            {"__all__": ["Instrument with this Tenant and Symbol already exists."]},
        ),
        (
            {"symbol": "aapl"},
            {
                "symbol": [
                    "Use 1-32 characters: upper-case letters, digits, space and . / : _ - "
                    "(starting with a letter or digit)."
                ]
            },
        ),
        ({"tick_size": "0"}, {"tick_size": ["Must be greater than zero."]}),
        ({"settlement_days": "31"}, {"settlement_days": ["Must be from 0 to 30 days."]}),
        (
            {"price_convention": "percent_of_par"},
            {"price_convention": ["Percent of par applies to bonds and loans only."]},
        ),
        (
            {"asset_class": "bond", "price_convention": "percent_of_par", "multiplier": "10"},
            {"multiplier": ["Must be 1 for prices in percent of par."]},
        ),
        (
            {"currency": "usd"},
            {"currency": ["Use a three-letter ISO 4217 code in upper case, e.g. USD."]},
        ),
        (
            {"tick_size": "1" * 30},
            {"tick_size": ["Ensure that there are no more than 20 digits in total."]},
        ),
    ],
)
def test_adding_a_bad_instrument_shows_the_errors_and_changes_nothing(tenant, change, errors):
    user = member(tenant, "operations", username="alpha.ops")
    InstrumentFactory(tenant=tenant, symbol="TAKEN")
    before = reference_snapshot()
    response = _post_form(
        admin_client_for(user), f"{CHANGELISTS['instrument']}add/", {**INSTRUMENT_FORM, **change}
    )
    assert _form_errors(response) == errors
    assert reference_snapshot() == before


def test_changing_an_instrument_writes_only_the_changed_fields(tenant):
    user = member(tenant, "operations", username="alpha.ops")
    instrument = InstrumentFactory(tenant=tenant, **_model_values(INSTRUMENT_FORM))
    url = f"{CHANGELISTS['instrument']}{instrument.pk}/change/"
    response = _post_form(admin_client_for(user), url, {**INSTRUMENT_FORM, "name": "Apple"})
    assert response.status_code == 302
    fresh = Instrument.objects.for_tenant(tenant).get()
    assert (fresh.name, fresh.symbol, fresh.sector) == ("Apple", "AAPL", "Technology")
    assert fresh.updated_at > instrument.updated_at


def test_economic_terms_are_frozen_in_the_admin_once_traded(tenant):
    user = member(tenant, "operations", username="alpha.ops")
    instrument = InstrumentFactory(tenant=tenant, **_model_values(INSTRUMENT_FORM))
    PositionFactory(tenant=tenant, instrument=instrument)
    before = reference_snapshot()
    url = f"{CHANGELISTS['instrument']}{instrument.pk}/change/"
    response = _post_form(admin_client_for(user), url, {**INSTRUMENT_FORM, "currency": "EUR"})
    assert _form_errors(response) == {
        "currency": ["Cannot be changed once the instrument has orders, positions or trades."]
    }
    assert reference_snapshot() == before


def test_an_account_page_lists_cash_read_only_and_saves_through_the_service(tenant):
    # given an account with cash in two currencies
    user = member(tenant, "admin", username="alpha.admin")
    account = AccountFactory(tenant=tenant, **_model_values(ACCOUNT_FORM))
    CashBalanceFactory(tenant=tenant, account=account, currency="USD", amount=Decimal("1000"))
    CashBalanceFactory(tenant=tenant, account=account, currency="EUR", amount=Decimal("5"))
    client = admin_client_for(user)
    url = f"{CHANGELISTS['account']}{account.pk}/change/"
    # when the page is opened, then the cash is listed without inputs
    page = client.get(url).content.decode()
    assert re.findall(r'<td class="field-currency">\s*<p>([A-Z]{3})</p>', page) == ["EUR", "USD"]
    assert 'name="cash_balances-0-amount"' not in page
    # when the kind is changed
    response = _post_form(client, url, {**ACCOUNT_FORM, "kind": "proprietary"})
    # then it is saved and the cash is untouched
    assert response.status_code == 302
    fresh = Account.objects.for_tenant(tenant).get()
    assert fresh.kind == "proprietary"
    assert sorted((b.currency, b.amount) for b in fresh.cash_balances.all()) == [
        ("EUR", Decimal("5")),
        ("USD", Decimal("1000")),
    ]


def test_adding_an_account(tenant):
    user = member(tenant, "operations", username="alpha.ops")
    response = _post_form(admin_client_for(user), f"{CHANGELISTS['account']}add/", ACCOUNT_FORM)
    assert response.status_code == 302
    account = Account.objects.for_tenant(tenant).get()
    assert (account.code, account.kind, account.tenant_id) == ("C-1", "client", tenant.pk)


def test_adding_a_venue_with_asset_class_checkboxes(tenant):
    user = member(tenant, "admin", username="alpha.admin")
    response = _post_form(admin_client_for(user), f"{CHANGELISTS['venue']}add/", VENUE_FORM)
    assert response.status_code == 302
    venue = Venue.objects.for_tenant(tenant).get()
    assert (
        venue.code,
        venue.asset_classes,
        venue.taker_fee_bps,
        venue.session_open,
        venue.simulated,
    ) == ("XNYS", ["equity", "option"], Decimal("3"), time(9, 30), True)


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"session_close": "09:00"}, {"session_close": ["Must be later than the session open."]}),
        ({"taker_fee_bps": "1001"}, {"taker_fee_bps": ["Must be from -100 to 1000 basis points."]}),
        ({"asset_classes": []}, {"asset_classes": ["This field is required."]}),
        (
            {"asset_classes": ["crypto"]},
            {
                "asset_classes": [
                    "Select a valid choice. crypto is not one of the available choices."
                ]
            },
        ),
        (
            {"timezone": "Mars/Olympus"},
            {"timezone": ["Unknown time zone; use an IANA name such as America/New_York."]},
        ),
        (
            {"code": "xnys"},
            {
                "code": [
                    "Use 1-16 characters: upper-case letters, digits, _ and - "
                    "(MIC-like, e.g. XNYS)."
                ]
            },
        ),
    ],
)
def test_adding_a_bad_venue_shows_the_errors(tenant, change, errors):
    user = member(tenant, "admin", username="alpha.admin")
    before = reference_snapshot()
    response = _post_form(
        admin_client_for(user), f"{CHANGELISTS['venue']}add/", {**VENUE_FORM, **change}
    )
    assert _form_errors(response) == errors
    assert reference_snapshot() == before


def test_a_venue_code_is_fixed_once_created(tenant):
    user = member(tenant, "admin", username="alpha.admin")
    venue = VenueFactory(tenant=tenant, code="XNYS", asset_classes=["equity", "option"])
    before = reference_snapshot()
    response = _post_form(
        admin_client_for(user),
        f"{CHANGELISTS['venue']}{venue.pk}/change/",
        {**VENUE_FORM, "code": "XNAS"},
    )
    assert _form_errors(response) == {"code": ["Cannot be changed; create a new venue."]}
    assert reference_snapshot() == before


def _model_values(form: dict) -> dict:
    """Model keyword arguments equal to an admin form's values."""
    return {k: v for k, v in form.items() if v != "" and k != "active"}


def test_position_list_runs_a_fixed_number_of_queries(tenant):
    user = member(tenant, "viewer", username="alpha.viewer")
    client = admin_client_for(user)
    QuoteFactory(tenant=tenant, instrument=PositionFactory(tenant=tenant).instrument)
    with CaptureQueriesContext(connection) as few:
        assert client.get(CHANGELISTS["position"]).status_code == 200
    for _ in range(5):
        QuoteFactory(tenant=tenant, instrument=PositionFactory(tenant=tenant).instrument)
    with CaptureQueriesContext(connection) as many:
        assert client.get(CHANGELISTS["position"]).status_code == 200
    assert len(many) == len(few)


def test_a_superuser_without_a_working_tenant_sees_every_tenants_positions_marked(world):
    # given alpha's and beta's positions (100 at 90), marked by their own quotes at 100 and 50
    from tests.factories import UserFactory

    Quote.objects.for_tenant(world["beta"]["quote"].tenant_id).update(last=Decimal("50"))
    root = UserFactory(username="root", is_superuser=True)
    # when the superuser opens the positions
    response = admin_client_for(root).get(CHANGELISTS["position"])
    # then both are listed, each marked at its own tenant's last price
    marks = {
        obj.tenant_id: str(selectors.position_unrealized_pnl(obj))
        for obj in response.context["cl"].result_list
    }
    assert marks == {
        world["alpha"]["position"].tenant_id: "1000.000000",
        world["beta"]["position"].tenant_id: "-4000.000000",
    }


def test_a_superuser_adds_an_instrument_to_the_tenant_they_choose(tenant, other_tenant):
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True)
    response = _post_form(
        admin_client_for(root),
        f"{CHANGELISTS['instrument']}add/",
        {**INSTRUMENT_FORM, "tenant": str(other_tenant.pk)},
    )
    assert response.status_code == 302
    assert list(
        Instrument.objects.all_tenants(reason="test").values_list("tenant__slug", "symbol")
    ) == [("beta", "AAPL")]
