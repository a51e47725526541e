"""List filters of the trading reference API. A bad value is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from trading.models import (
    Account,
    AccountKind,
    AssetClass,
    Instrument,
    Position,
    PriceConvention,
    Venue,
    VenueKind,
)

BOOLEAN_CHOICES = (("true", "true"), ("false", "false"))


def boolean_filter(field_name: str, help_text: str = "") -> django_filters.TypedChoiceFilter:
    """``true`` / ``false`` only: anything else is a 400 (django-filter would ignore it)."""
    return django_filters.TypedChoiceFilter(
        field_name=field_name,
        choices=BOOLEAN_CHOICES,
        coerce=lambda value: value == "true",
        help_text=help_text,
    )


def _search(queryset: QuerySet[Any], fields: tuple[str, ...], value: str) -> QuerySet[Any]:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return queryset.filter(condition)


class InstrumentFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(field_name="symbol", max_length=32)
    asset_class = django_filters.MultipleChoiceFilter(choices=AssetClass.choices)
    currency = django_filters.CharFilter(field_name="currency", max_length=3)
    price_convention = django_filters.ChoiceFilter(choices=PriceConvention.choices)
    sector = django_filters.CharFilter(field_name="sector", lookup_expr="iexact", max_length=100)
    issuer = django_filters.CharFilter(field_name="issuer", lookup_expr="iexact", max_length=200)
    active = boolean_filter("active")
    q = django_filters.CharFilter(
        method="search", max_length=100, help_text="Symbol or name contains (any case)."
    )

    class Meta:
        model = Instrument
        fields = (
            "symbol",
            "asset_class",
            "currency",
            "price_convention",
            "sector",
            "issuer",
            "active",
            "q",
        )

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return _search(queryset, ("symbol", "name"), value)


class AccountFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(field_name="code", max_length=32)
    kind = django_filters.MultipleChoiceFilter(choices=AccountKind.choices)
    base_currency = django_filters.CharFilter(field_name="base_currency", max_length=3)
    active = boolean_filter("active")
    q = django_filters.CharFilter(
        method="search",
        max_length=100,
        help_text="Code, name or beneficial owner contains (any case).",
    )

    class Meta:
        model = Account
        fields = ("code", "kind", "base_currency", "active", "q")

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return _search(queryset, ("code", "name", "beneficial_owner"), value)


class VenueFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=VenueKind.choices)
    asset_class = django_filters.ChoiceFilter(
        choices=AssetClass.choices, method="trading", help_text="Venues that trade this class."
    )
    active = boolean_filter("active")

    class Meta:
        model = Venue
        fields = ("kind", "asset_class", "active")

    def trading(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        # JSON list membership on both SQLite and PostgreSQL: the quoted element in the JSON
        # text (asset class names contain no quote or comma, so this cannot match partially).
        return queryset.filter(asset_classes__icontains=f'"{value}"')


class PositionFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(
        field_name="account__code", max_length=32, help_text="Account code."
    )
    instrument = django_filters.CharFilter(
        field_name="instrument__symbol", max_length=32, help_text="Instrument symbol."
    )
    asset_class = django_filters.MultipleChoiceFilter(
        field_name="instrument__asset_class", choices=AssetClass.choices
    )
    open = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES,
        coerce=lambda value: value == "true",
        method="open_only",
        help_text="true: non-zero quantity only; false: flat positions only.",
    )

    class Meta:
        model = Position
        fields = ("account", "instrument", "asset_class", "open")

    def open_only(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        return queryset.exclude(quantity=0) if value else queryset.filter(quantity=0)
