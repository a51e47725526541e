"""/api/v1/trading/venues/: list with filters, retrieve and PATCH by code, create."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from tests.conftest import client_for, member
from tests.trading.factories import VenueFactory
from tests.trading.reference_helpers import (
    FORBIDDEN,
    NON_WRITERS,
    NOT_FOUND,
    ROLES,
    WRITERS,
    invalid,
    method_not_allowed,
    reference_snapshot,
    venue_json,
)
from trading.models import Venue

pytestmark = pytest.mark.django_db

URL = "/api/v1/trading/venues/"
XNYS = {
    "code": "XNYS",
    "name": "New York Stock Exchange (simulated)",
    "kind": "exchange",
    "taker_fee_bps": "3",
    "maker_fee_bps": "-2",
    "timezone": "America/New_York",
    "session_open": "09:30",
    "session_close": "16:00",
    "asset_classes": ["equity", "option"],
}


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["code"] for row in response.json()["results"]]


@pytest.fixture
def ops(tenant):
    return member(tenant, "operations", username="alpha.ops")


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_the_tenants_venues_by_code(tenant, other_tenant, role):
    dark = VenueFactory(tenant=tenant, code="DARK", kind="dark")
    arcx = VenueFactory(tenant=tenant, code="ARCX", kind="ecn")
    VenueFactory(tenant=other_tenant, code="BETA")
    user = member(tenant, role, username=f"alpha.{role}")
    response = client_for(user).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [venue_json(arcx), venue_json(dark)],
    }


def test_retrieve_by_code(tenant, trader):
    venue = VenueFactory(tenant=tenant, code="XNYS", asset_classes=["equity", "bond"])
    response = client_for(trader).get(f"{URL}XNYS/")
    assert response.status_code == 200
    assert response.json() == venue_json(venue)
    assert {k: response.json()[k] for k in ("session_open", "simulated", "taker_fee_bps")} == {
        "session_open": "09:30:00",
        "simulated": True,
        "taker_fee_bps": "3.0000",
    }


def test_another_tenants_venue_answers_404_like_a_missing_one(tenant, other_tenant, trader):
    VenueFactory(tenant=other_tenant, code="BETA")
    api = client_for(trader)
    answers = [api.get(f"{URL}{code}/") for code in ("BETA", "NOPE")]
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"asset_class": "equity"}, ["ARCX", "XNYS"]),
        ({"asset_class": "fx"}, ["ARCX"]),
        ({"asset_class": "loan"}, []),
        ({"kind": "dark"}, ["DARK"]),
        ({"kind": ["exchange", "ecn"]}, ["ARCX", "XNYS"]),
        ({"active": "false"}, ["DARK"]),
        ({"active": "true"}, ["ARCX", "XNYS"]),
        ({}, ["ARCX", "DARK", "XNYS"]),
    ],
)
def test_list_filters(tenant, other_tenant, trader, params, expected):
    VenueFactory(tenant=tenant, code="XNYS", asset_classes=["equity", "option"])
    VenueFactory(tenant=tenant, code="ARCX", kind="ecn", asset_classes=["fx", "equity"])
    VenueFactory(tenant=tenant, code="DARK", kind="dark", asset_classes=["bond"], active=False)
    VenueFactory(tenant=other_tenant, code="BETA", asset_classes=["loan", "fx"])
    assert _codes(client_for(trader).get(URL, params)) == expected


@pytest.mark.parametrize("role", WRITERS)
def test_admin_and_operations_create_a_venue(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    response = client_for(user).post(URL, XNYS, format="json")
    assert response.status_code == 201
    venue = Venue.objects.for_tenant(tenant).get()
    assert response.json() == venue_json(venue)
    assert (
        venue.code,
        venue.kind,
        venue.taker_fee_bps,
        venue.maker_fee_bps,
        venue.timezone,
        venue.session_open,
        venue.session_close,
        venue.asset_classes,
        venue.simulated,
        venue.active,
    ) == (
        "XNYS",
        "exchange",
        Decimal("3"),
        Decimal("-2"),
        "America/New_York",
        time(9, 30),
        time(16, 0),
        ["equity", "option"],
        True,
        True,
    )


def test_create_with_only_the_required_fields_takes_the_defaults(tenant, ops):
    body = {"code": "DARK", "name": "Dark pool", "kind": "dark", "asset_classes": ["equity"]}
    response = client_for(ops).post(URL, body, format="json")
    assert response.status_code == 201
    venue = Venue.objects.for_tenant(tenant).get()
    assert (
        venue.taker_fee_bps,
        venue.maker_fee_bps,
        venue.timezone,
        venue.session_open,
        venue.session_close,
    ) == (Decimal("0"), Decimal("0"), "UTC", time(9, 30), time(16, 0))


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_create(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).post(URL, XNYS, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_duplicate_code_is_a_400_naming_code(tenant, ops):
    VenueFactory(tenant=tenant, code="XNYS")
    before = reference_snapshot()
    response = client_for(ops).post(URL, XNYS, format="json")
    assert (response.status_code, response.json()) == (
        400,
        invalid(code=["A venue with this code already exists."]),
    )
    assert reference_snapshot() == before


def test_the_same_code_in_another_tenant_is_fine(tenant, other_tenant, ops):
    VenueFactory(tenant=other_tenant, code="XNYS")
    assert client_for(ops).post(URL, XNYS, format="json").status_code == 201


def test_patch_by_code_changes_fees_and_asset_classes(tenant, ops):
    venue = VenueFactory(tenant=tenant, code="XNYS", asset_classes=["equity"])
    response = client_for(ops).patch(
        f"{URL}XNYS/",
        {"taker_fee_bps": "2.5", "asset_classes": ["equity", "future"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == venue_json(venue)
    fresh = Venue.objects.for_tenant(tenant).get()
    assert (fresh.taker_fee_bps, fresh.maker_fee_bps, fresh.asset_classes) == (
        Decimal("2.5"),
        Decimal("-1"),
        ["equity", "future"],
    )


def test_patch_active_false_deactivates(tenant, ops):
    VenueFactory(tenant=tenant, code="XNYS")
    response = client_for(ops).patch(f"{URL}XNYS/", {"active": False}, format="json")
    assert response.status_code == 200
    assert Venue.objects.for_tenant(tenant).get().active is False


def test_patch_may_resend_the_same_code_but_not_change_it(tenant, ops):
    VenueFactory(tenant=tenant, code="XNYS")
    api = client_for(ops)
    assert api.patch(f"{URL}XNYS/", {"code": "XNYS"}, format="json").status_code == 200
    before = reference_snapshot()
    response = api.patch(f"{URL}XNYS/", {"code": "XNAS"}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        invalid(code=["Cannot be changed; create a new venue."]),
    )
    assert reference_snapshot() == before


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"session_close": "09:00"}, {"session_close": ["Must be later than the session open."]}),
        ({"session_open": "16:00"}, {"session_close": ["Must be later than the session open."]}),
        (
            {"session_open": "17:00", "session_close": "18:00"},
            None,
        ),
    ],
)
def test_patch_checks_the_session_against_the_stored_times(tenant, ops, change, errors):
    # given a 09:30-16:00 venue
    VenueFactory(tenant=tenant, code="XNYS")
    before = reference_snapshot()
    # when one or both session times change
    response = client_for(ops).patch(f"{URL}XNYS/", change, format="json")
    # then the rule applies to the resulting session
    if errors is None:
        assert response.status_code == 200
        fresh = Venue.objects.for_tenant(tenant).get()
        assert (fresh.session_open, fresh.session_close) == (time(17, 0), time(18, 0))
    else:
        assert (response.status_code, response.json()) == (400, invalid(**errors))
        assert reference_snapshot() == before


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_patch(tenant, role):
    VenueFactory(tenant=tenant, code="XNYS")
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).patch(f"{URL}XNYS/", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_patching_another_tenants_venue_answers_404(tenant, other_tenant, ops):
    VenueFactory(tenant=other_tenant, code="BETA")
    before = reference_snapshot()
    response = client_for(ops).patch(f"{URL}BETA/", {"name": "mine"}, format="json")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert reference_snapshot() == before


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_not_offered(tenant, ops, method):
    VenueFactory(tenant=tenant, code="XNYS")
    before = reference_snapshot()
    response = getattr(client_for(ops), method)(f"{URL}XNYS/", XNYS, format="json")
    assert (response.status_code, response.json()) == (405, method_not_allowed(method.upper()))
    assert reference_snapshot() == before
