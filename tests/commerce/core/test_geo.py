from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from commerce.geo import EARTH_RADIUS_KM, distance_km, geocode, normalize_name
from tests.commerce.factories import AddressFactory, WarehouseFactory


def test_distance_berlin_paris_matches_the_spherical_law_of_cosines() -> None:
    # 6371.0088 x acos(sin f1 sin f2 + cos f1 cos f2 cos dl) = 877.4599 km, computed by hand
    got = distance_km(Decimal("52.520008"), Decimal("13.404954"), 48.856613, 2.352222)

    assert got == Decimal("877.460")


def test_distance_to_itself_is_zero() -> None:
    assert distance_km(10, 20, 10, 20) == Decimal("0.000")


def test_distance_antipodes_is_half_the_circumference() -> None:
    got = distance_km(0, 0, 0, 180)

    assert got == Decimal(str(round(3.141592653589793 * EARTH_RADIUS_KM, 3)))


def test_geocode_is_case_and_accent_insensitive() -> None:
    names = [geocode(name, "DE") for name in ("München", "MUNCHEN", "munich", " Munich ")]

    assert {p.name if p else None for p in names} == {"Munich"}
    assert names[0] is not None
    assert (names[0].latitude, names[0].longitude) == (Decimal("48.137430"), Decimal("11.575490"))


def test_geocode_picks_the_most_populous_namesake() -> None:
    place = geocode("Springfield", "US")

    assert place is not None  # Springfield, Missouri: the largest of the US Springfields
    assert (place.latitude, place.longitude) == (Decimal("37.215330"), Decimal("-93.298240"))


def test_geocode_unknown_city_or_country_is_none() -> None:
    assert geocode("Atlantis", "DE") is None
    assert geocode("Berlin", "XX") is None
    assert geocode("", "DE") is None
    assert geocode("Berlin", "") is None


def test_normalize_name_folds_punctuation_and_sharp_s() -> None:
    assert normalize_name("Saint-Étienne") == "saint etienne"
    assert normalize_name("Straße") == "strasse"


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [WarehouseFactory, AddressFactory])
@pytest.mark.parametrize(("latitude", "longitude"), [(Decimal("10"), None), (None, Decimal("10"))])
def test_the_database_refuses_a_row_with_one_coordinate(
    tenant: Any, factory: Any, latitude: Any, longitude: Any
) -> None:
    model = factory._meta.model

    with pytest.raises(IntegrityError), transaction.atomic():
        factory(tenant=tenant, latitude=latitude, longitude=longitude)

    assert model.objects.for_tenant(tenant).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [WarehouseFactory, AddressFactory])
def test_the_database_takes_a_row_with_both_coordinates_or_neither(
    tenant: Any, factory: Any
) -> None:
    factory(tenant=tenant, latitude=Decimal("10"), longitude=Decimal("20"))
    factory(tenant=tenant, latitude=None, longitude=None)

    assert sorted(
        factory._meta.model.objects.for_tenant(tenant).values_list("latitude", "longitude"),
        key=str,
    ) == [(Decimal("10.000000"), Decimal("20.000000")), (None, None)]
