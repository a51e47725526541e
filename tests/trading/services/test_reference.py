"""trading.services.reference: the writes behind the API, the admin and the demo."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from oms_site.errors import NotFound, ValidationFailed
from tests.conftest import client_for, member
from tests.orders.helpers import run_in_threads
from tests.trading.factories import (
    AccountFactory,
    CashBalanceFactory,
    InstrumentFactory,
    VenueFactory,
)
from tests.trading.reference_helpers import reference_snapshot
from trading.models import CashBalance, Instrument, Quote, Venue
from trading.services import reference as services

User = get_user_model()


def _refused(call, errors):
    before = reference_snapshot()
    with pytest.raises(ValidationFailed) as info:
        call()
    assert info.value.errors == errors
    assert reference_snapshot() == before


@pytest.mark.django_db
def test_instrument_create_defaults_the_convention_by_asset_class(tenant):
    loan = services.instrument_create(
        tenant=tenant, actor=None, symbol="TLB", name="Loan", asset_class="loan", currency="USD"
    )
    equity = services.instrument_create(
        tenant=tenant, actor=None, symbol="EQ", name="Eq", asset_class="equity", currency="USD"
    )
    assert (loan.price_convention, equity.price_convention) == ("percent_of_par", "per_unit")


@pytest.mark.django_db
def test_instrument_create_maps_the_unique_violation_to_symbol(tenant):
    InstrumentFactory(tenant=tenant, symbol="AAPL")
    _refused(
        lambda: services.instrument_create(
            tenant=tenant, actor=None, symbol="AAPL", name="x", asset_class="equity", currency="USD"
        ),
        {"symbol": ["An instrument with this symbol already exists."]},
    )


@pytest.mark.django_db
def test_services_apply_the_rules_themselves(tenant):
    # given callers that skip the serializer (a script, a task)
    # then the service refuses what the API would
    _refused(
        lambda: services.instrument_create(
            tenant=tenant,
            actor=None,
            symbol="x y",
            name="x",
            asset_class="equity",
            currency="usd",
            tick_size=Decimal("0"),
        ),
        {
            "symbol": [services.SYMBOL_MESSAGE],
            "currency": [services.CURRENCY_MESSAGE],
            "tick_size": ["Must be greater than zero."],
        },
    )
    _refused(
        lambda: services.venue_create(
            tenant=tenant,
            actor=None,
            code="V1",
            name="v",
            kind="ecn",
            asset_classes=["equity", "crypto"],
            taker_fee_bps=Decimal("-101"),
            timezone="Nowhere/Land",
            session_open=time(17, 0),
        ),
        {
            "asset_classes": [
                "Unknown asset class 'crypto'; use equity, bond, fx, commodity, loan, cash, "
                "option, future."
            ],
            "taker_fee_bps": ["Must be from -100 to 1000 basis points."],
            "timezone": ["Unknown time zone; use an IANA name such as America/New_York."],
            "session_close": ["Must be later than the session open."],
        },
    )
    _refused(
        lambda: services.account_create(
            tenant=tenant,
            actor=None,
            code="a b",
            name="n",
            kind="client",
            beneficial_owner="o",
            base_currency="EURO",
        ),
        {"code": [services.CODE_MESSAGE], "base_currency": [services.CURRENCY_MESSAGE]},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("factory", "update", "id_argument", "field"),
    [
        (InstrumentFactory, services.instrument_update, "instrument_id", "tenant_id"),
        (AccountFactory, services.account_update, "account_id", "id"),
        (VenueFactory, services.venue_update, "venue_id", "simulated"),
    ],
)
def test_updates_refuse_fields_they_do_not_own(tenant, factory, update, id_argument, field):
    row = factory(tenant=tenant)
    _refused(
        lambda: update(tenant=tenant, actor=None, **{id_argument: row.pk, field: False}),
        {field: ["Unknown field."]},
    )


@pytest.mark.django_db
def test_updates_of_another_tenants_rows_are_not_found(tenant, other_tenant):
    instrument = InstrumentFactory(tenant=other_tenant)
    account = AccountFactory(tenant=other_tenant)
    venue = VenueFactory(tenant=other_tenant)
    before = reference_snapshot()
    calls = [
        lambda: services.instrument_update(
            tenant=tenant, actor=None, instrument_id=instrument.pk, name="x"
        ),
        lambda: services.account_update(tenant=tenant, actor=None, account_id=account.pk, name="x"),
        lambda: services.venue_update(tenant=tenant, actor=None, venue_id=venue.pk, name="x"),
    ]
    messages = []
    for call in calls:
        with pytest.raises(NotFound) as info:
            call()
        messages.append(info.value.message)
    assert messages == ["Instrument not found.", "Account not found.", "Venue not found."]
    assert reference_snapshot() == before


@pytest.mark.django_db
def test_an_unrelated_integrity_error_is_not_reported_as_a_duplicate(tenant, monkeypatch):
    # given a database error that is not the symbol's unique constraint
    def broken_save(self, *args, **kwargs):
        raise IntegrityError("CHECK constraint failed: instrument_tick_gt0")

    monkeypatch.setattr(Instrument, "save", broken_save)
    # then it propagates (the API handler answers 409), not a misleading "symbol taken"
    with pytest.raises(IntegrityError):
        services.instrument_create(
            tenant=tenant, actor=None, symbol="X", name="x", asset_class="equity", currency="USD"
        )


@pytest.mark.django_db
def test_cash_and_quote_ensure_create_once_and_never_overwrite(tenant):
    account = AccountFactory(tenant=tenant)
    instrument = InstrumentFactory(tenant=tenant)
    venue = VenueFactory(tenant=tenant)
    CashBalanceFactory(tenant=tenant, account=account, currency="EUR", amount=Decimal("7"))
    quote_args = {
        "tenant": tenant,
        "actor": None,
        "venue": venue,
        "instrument": instrument,
        "bid": Decimal("1"),
        "bid_size": Decimal("10"),
        "ask": Decimal("2"),
        "ask_size": Decimal("10"),
        "last": Decimal("1.5"),
    }
    services.cash_balance_ensure(
        tenant=tenant, actor=None, account=account, currency="USD", amount=Decimal("100")
    )
    services.quote_ensure(**quote_args)
    before = reference_snapshot()
    services.cash_balance_ensure(
        tenant=tenant, actor=None, account=account, currency="USD", amount=Decimal("999")
    )
    services.cash_balance_ensure(
        tenant=tenant, actor=None, account=account, currency="EUR", amount=Decimal("999")
    )
    services.quote_ensure(**{**quote_args, "last": Decimal("9")})
    assert reference_snapshot() == before
    assert sorted(CashBalance.objects.for_tenant(tenant).values_list("currency", "amount")) == [
        ("EUR", Decimal("7")),
        ("USD", Decimal("100")),
    ]
    assert Quote.objects.for_tenant(tenant).get().last == Decimal("1.5")


# --- races (PostgreSQL, real threads) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_creations_of_one_symbol_make_one_instrument(tenant):
    # given ten operations users posting the same new symbol at once
    ops = member(tenant, "operations", username="alpha.ops")
    body = {"symbol": "RACE", "name": "Race Co", "asset_class": "equity", "currency": "USD"}

    def post(_: int):
        response = client_for(User.objects.get(pk=ops.pk)).post(
            "/api/v1/trading/instruments/", body, format="json"
        )
        return response.status_code, response.json()

    # when they race
    results = run_in_threads(10, post)
    # then one created it and nine were told the symbol is taken: never a 500
    assert sorted(code for code, _ in results) == [201] + [400] * 9
    refusals = [body for code, body in results if code == 400]
    assert (
        refusals
        == [
            {
                "code": "invalid",
                "detail": "Invalid input.",
                "errors": {"symbol": ["An instrument with this symbol already exists."]},
            }
        ]
        * 9
    )
    assert list(Instrument.objects.for_tenant(tenant).values_list("symbol", flat=True)) == ["RACE"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_of_one_venue_both_apply_under_the_row_lock(tenant):
    # given a venue and two operations users changing different fields at once
    ops = member(tenant, "operations", username="alpha.ops")
    VenueFactory(tenant=tenant, code="XNYS", taker_fee_bps=Decimal("3"), active=True)
    changes = [{"taker_fee_bps": "2.5"}, {"active": False}]

    def patch(index: int):
        api = client_for(User.objects.get(pk=ops.pk))
        return api.patch("/api/v1/trading/venues/XNYS/", changes[index], format="json").status_code

    # when they race
    results = run_in_threads(2, patch)
    # then both changes are kept (each PATCH writes only its own fields)
    assert results == [200, 200]
    venue = Venue.objects.for_tenant(tenant).get()
    assert (venue.taker_fee_bps, venue.active) == (Decimal("2.5"), False)
