"""Serializers of the trading reference API: instruments, accounts, venues, positions.

Input is strict: strings must be JSON strings, numbers fit the database columns (a huge number
is a 400, never a database error), every rule comes from ``trading.services.reference`` (the
admin applies the same ones), and a key the resource does not accept (a typo, or a read-only
field such as ``id`` or ``simulated``) is a 400 naming it rather than being silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms_site.api.fields import LocalTimeField, StrictCharField
from trading import selectors
from trading.models import (
    Account,
    AccountKind,
    AssetClass,
    CashBalance,
    Instrument,
    Position,
    PriceConvention,
    Venue,
    VenueKind,
)
from trading.models.fields import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    QTY_DIGITS,
    QTY_PLACES,
)
from trading.services import reference as rules
from trading.services.reference import Rule

FEE_DIGITS, FEE_PLACES = 8, 4  # trading.models.reference.Venue.*_fee_bps


def rule_validator(rule: Rule) -> Any:
    """A DRF field validator applying one rule of ``trading.services.reference``."""

    def validate(value: Any) -> None:
        message = rule(value)
        if message:
            raise serializers.ValidationError(message)

    return validate


def price(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def qty(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=QTY_DIGITS, decimal_places=QTY_PLACES, **kwargs)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class StrictKeysMixin:
    """Refuses body keys that are not writable fields of the serializer (400 naming them)."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        extra: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    extra[str(key)] = ["Unknown field."]
                elif field.read_only:
                    extra[str(key)] = ["This field is read-only."]
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if extra and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **extra}) from exc
            raise
        if extra:
            raise serializers.ValidationError(extra)
        return value


def _merged(serializer: serializers.Serializer[Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes a partial update leads to: stored values overlaid with the new ones."""
    instance = serializer.instance
    if instance is None:
        return dict(attrs)
    writable = [name for name, field in serializer.fields.items() if not field.read_only]
    return {**{name: getattr(instance, name) for name in writable}, **attrs}


def _raise_cross_field(errors: dict[str, list[str]]) -> None:
    if errors:
        raise serializers.ValidationError(errors)


# --- instruments ----------------------------------------------------------------------------


class InstrumentSerializer(StrictKeysMixin, serializers.ModelSerializer[Instrument]):
    symbol = StrictCharField(
        max_length=32, validators=[rule_validator(rules.INSTRUMENT_RULES["symbol"])]
    )
    name = StrictCharField(max_length=200)
    asset_class = serializers.ChoiceField(choices=AssetClass.choices)
    currency = StrictCharField(
        max_length=3, validators=[rule_validator(rules.INSTRUMENT_RULES["currency"])]
    )
    tick_size = price(
        required=False, validators=[rule_validator(rules.INSTRUMENT_RULES["tick_size"])]
    )
    lot_size = qty(required=False, validators=[rule_validator(rules.INSTRUMENT_RULES["lot_size"])])
    multiplier = qty(
        required=False, validators=[rule_validator(rules.INSTRUMENT_RULES["multiplier"])]
    )
    price_convention = serializers.ChoiceField(
        choices=PriceConvention.choices,
        required=False,
        help_text="Defaults by asset class: percent_of_par for bonds and loans, else per_unit.",
    )
    issuer = StrictCharField(max_length=200, required=False, allow_blank=True)
    sector = StrictCharField(max_length=100, required=False, allow_blank=True)
    settlement_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        validators=[rule_validator(rules.INSTRUMENT_RULES["settlement_days"])],
        help_text="Business days to settlement for asset classes without a market default "
        "(equities settle T+1 and FX T+2 regardless).",
    )
    average_daily_volume = qty(
        required=False,
        allow_null=True,
        validators=[rule_validator(rules.INSTRUMENT_RULES["average_daily_volume"])],
    )
    active = serializers.BooleanField(required=False)
    settlement_lag = serializers.IntegerField(read_only=True)

    class Meta:
        model = Instrument
        fields = (
            "id",
            "symbol",
            "name",
            "asset_class",
            "currency",
            "tick_size",
            "lot_size",
            "multiplier",
            "price_convention",
            "issuer",
            "sector",
            "settlement_days",
            "settlement_lag",
            "average_daily_volume",
            "active",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "settlement_lag", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        values = _merged(self, attrs)
        if self.instance is None and "price_convention" not in values:
            values["price_convention"] = rules.default_price_convention(values["asset_class"])
        _raise_cross_field(rules.instrument_errors(values))
        return attrs


# --- accounts -------------------------------------------------------------------------------


class CashBalanceSerializer(serializers.ModelSerializer[CashBalance]):
    class Meta:
        model = CashBalance
        fields = ("currency", "amount", "updated_at")
        read_only_fields = fields


class AccountSerializer(StrictKeysMixin, serializers.ModelSerializer[Account]):
    code = StrictCharField(max_length=32, validators=[rule_validator(rules.ACCOUNT_RULES["code"])])
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=AccountKind.choices)
    beneficial_owner = StrictCharField(max_length=200)
    base_currency = StrictCharField(
        max_length=3, validators=[rule_validator(rules.ACCOUNT_RULES["base_currency"])]
    )
    active = serializers.BooleanField(required=False)
    cash_balances = CashBalanceSerializer(many=True, read_only=True)

    class Meta:
        model = Account
        fields = (
            "id",
            "code",
            "name",
            "kind",
            "beneficial_owner",
            "base_currency",
            "active",
            "cash_balances",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "cash_balances", "created_at", "updated_at")


# --- venues ---------------------------------------------------------------------------------


class VenueSerializer(StrictKeysMixin, serializers.ModelSerializer[Venue]):
    code = StrictCharField(max_length=16, validators=[rule_validator(rules.VENUE_RULES["code"])])
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=VenueKind.choices)
    taker_fee_bps = serializers.DecimalField(
        max_digits=FEE_DIGITS,
        decimal_places=FEE_PLACES,
        required=False,
        validators=[rule_validator(rules.VENUE_RULES["taker_fee_bps"])],
        help_text="Fee in basis points on liquidity taken (-100 to 1000; negative = rebate).",
    )
    maker_fee_bps = serializers.DecimalField(
        max_digits=FEE_DIGITS,
        decimal_places=FEE_PLACES,
        required=False,
        validators=[rule_validator(rules.VENUE_RULES["maker_fee_bps"])],
        help_text="Fee in basis points on liquidity added (-100 to 1000; negative = rebate).",
    )
    timezone = StrictCharField(
        max_length=64, required=False, validators=[rule_validator(rules.VENUE_RULES["timezone"])]
    )
    session_open = LocalTimeField(required=False, help_text="Local time of the open.")
    session_close = LocalTimeField(
        required=False, help_text="Local time of the close (after the open, same day)."
    )
    asset_classes = serializers.ListField(
        child=serializers.ChoiceField(choices=AssetClass.choices),
        allow_empty=False,
        max_length=len(AssetClass.values),
        validators=[rule_validator(rules.VENUE_RULES["asset_classes"])],
    )
    active = serializers.BooleanField(required=False)

    class Meta:
        model = Venue
        fields = (
            "id",
            "code",
            "name",
            "kind",
            "taker_fee_bps",
            "maker_fee_bps",
            "timezone",
            "session_open",
            "session_close",
            "asset_classes",
            "simulated",
            "session_is_open",
            "active",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "simulated",
            "session_is_open",
            "created_at",
            "updated_at",
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "code" in attrs and attrs["code"] != self.instance.code:
            raise serializers.ValidationError({"code": ["Cannot be changed; create a new venue."]})
        values = _merged(self, attrs)
        if self.instance is None:
            values.setdefault("session_open", Venue._meta.get_field("session_open").get_default())
            values.setdefault("session_close", Venue._meta.get_field("session_close").get_default())
        _raise_cross_field(rules.venue_errors(values))
        return attrs


# --- positions ------------------------------------------------------------------------------


class PositionSerializer(serializers.ModelSerializer[Position]):
    account = serializers.CharField(source="account.code", read_only=True)
    instrument = serializers.CharField(source="instrument.symbol", read_only=True)
    asset_class = serializers.CharField(source="instrument.asset_class", read_only=True)
    currency = serializers.CharField(source="instrument.currency", read_only=True)
    last_price = price(read_only=True, allow_null=True)
    unrealized_pnl = serializers.SerializerMethodField(
        help_text="At the instrument's last price, in its currency; null without a last price."
    )

    class Meta:
        model = Position
        fields = (
            "id",
            "account",
            "instrument",
            "asset_class",
            "currency",
            "quantity",
            "avg_cost",
            "last_price",
            "realized_pnl",
            "unrealized_pnl",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "decimal", "nullable": True})
    def get_unrealized_pnl(self, obj: Position) -> str | None:
        pnl: Decimal | None = selectors.position_unrealized_pnl(obj)
        return None if pnl is None else str(pnl)
