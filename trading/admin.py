"""Admin of trading reference data (instruments, accounts, venues), quotes and positions.

Everyone in the tenant views; ``admin`` and ``operations`` add and change instruments, accounts
and venues (``tenancy.roles.REFERENCE_DATA``); nobody deletes (deactivate instead). Quotes and
positions are read-only here: market data and fills change them. The forms apply the same rules
as the API (``trading.services.reference``), and saving goes through the reference services.

(The order blotter lives in ``trading.admin_orders``.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from tenancy.admin_base import (
    ReadOnlyChildInline,
    TenantScopedAdmin,
    TenantScopedModelForm,
    request_tenant,
    scoped_queryset,
)
from tenancy.roles import ALL_ROLES, REFERENCE_DATA
from trading import selectors
from trading.models import (
    Account,
    AssetClass,
    CashBalance,
    Instrument,
    Position,
    Quote,
    Venue,
)
from trading.models.fields import PRICE_PLACES
from trading.services import reference as services

PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_PLACES)

Errors = dict[str, list[str]]


class RuleCheckedForm(TenantScopedModelForm):
    """Applies a reference rule set to the values the row would have after saving."""

    rule_fields: tuple[str, ...] = ()

    def rule_errors(self, values: Mapping[str, Any]) -> Errors:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        values = {name: getattr(self.instance, name) for name in self.rule_fields}
        values.update({k: v for k, v in cleaned.items() if k in self.rule_fields})
        for field, messages in self.rule_errors(values).items():
            if field in self.fields:
                if not self.has_error(field):
                    self.add_error(field, messages)
            else:
                self.add_error(None, messages)
        return cleaned


class InstrumentForm(RuleCheckedForm):
    rule_fields = services.INSTRUMENT_FIELDS

    class Meta:
        model = Instrument
        fields = "__all__"

    def rule_errors(self, values: Mapping[str, Any]) -> Errors:
        errors = services.instrument_errors(values)
        instance = self.instance
        if instance.pk is None:
            return errors
        terms = [
            name
            for name in services.INSTRUMENT_TERMS
            if name in self.changed_data and name not in errors
        ]
        if terms and services.instrument_is_used(tenant=instance.tenant, instrument_id=instance.pk):
            errors.update({name: [services.IMMUTABLE] for name in terms})
        return errors


class AccountForm(RuleCheckedForm):
    rule_fields = services.ACCOUNT_FIELDS

    class Meta:
        model = Account
        fields = "__all__"

    def rule_errors(self, values: Mapping[str, Any]) -> Errors:
        return services.account_errors(values)


class VenueForm(RuleCheckedForm):
    rule_fields = services.VENUE_FIELDS
    asset_classes = forms.MultipleChoiceField(
        choices=AssetClass.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Venue
        fields = "__all__"

    def rule_errors(self, values: Mapping[str, Any]) -> Errors:
        errors = services.venue_errors(values)
        instance = self.instance
        if instance.pk is not None and "code" in self.changed_data:
            errors["code"] = ["Cannot be changed; create a new venue."]
        return errors


class ServiceSavedAdmin(TenantScopedAdmin):
    """Saves through the reference services: create with every field, update with the changed
    ones; the stored row is copied back so the admin's message, log and redirect see it."""

    view_roles = ALL_ROLES
    add_roles = REFERENCE_DATA
    change_roles = REFERENCE_DATA
    delete_roles = ()
    service_fields: tuple[str, ...] = ()
    create_service: Callable[..., Model]
    update_service: Callable[..., Model]
    id_argument: str

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tenant = request_tenant(request)
        if (
            not change
            and tenant is not None
            and (not request.user.is_superuser or not obj.tenant_id)
        ):
            obj.tenant = tenant
        values = {n: form.cleaned_data[n] for n in self.service_fields if n in form.cleaned_data}
        if change:
            changes = {n: v for n, v in values.items() if n in form.changed_data}
            update = type(self).update_service
            saved = update(
                tenant=obj.tenant, actor=request.user, **{self.id_argument: obj.pk}, **changes
            )
        else:
            create = type(self).create_service
            saved = create(tenant=obj.tenant, actor=request.user, **values)
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False


@admin.register(Instrument)
class InstrumentAdmin(ServiceSavedAdmin):
    form = InstrumentForm
    list_display = (
        "symbol",
        "name",
        "asset_class",
        "currency",
        "tick_size",
        "lot_size",
        "multiplier",
        "price_convention",
        "sector",
        "active",
    )
    list_filter = ("asset_class", "currency", "price_convention", "sector", "active")
    search_fields = ("symbol", "name", "issuer", "sector")
    readonly_fields = ("settlement_lag", "created_at", "updated_at")
    service_fields = services.INSTRUMENT_FIELDS
    create_service = services.instrument_create
    update_service = services.instrument_update
    id_argument = "instrument_id"

    @admin.display(description="settlement lag (days)")
    def settlement_lag(self, obj: Instrument) -> int:
        return obj.settlement_lag


class CashBalanceInline(ReadOnlyChildInline):
    """The account's cash per currency, read-only (trades move it)."""

    model = CashBalance
    fields = ("currency", "amount", "updated_at")
    readonly_fields = fields


@admin.register(Account)
class AccountAdmin(ServiceSavedAdmin):
    form = AccountForm
    list_display = ("code", "name", "kind", "beneficial_owner", "base_currency", "active")
    list_filter = ("kind", "base_currency", "active")
    search_fields = ("code", "name", "beneficial_owner")
    readonly_fields = ("created_at", "updated_at")
    inlines = [CashBalanceInline]
    service_fields = services.ACCOUNT_FIELDS
    create_service = services.account_create
    update_service = services.account_update
    id_argument = "account_id"


@admin.register(Venue)
class VenueAdmin(ServiceSavedAdmin):
    form = VenueForm
    list_display = (
        "code",
        "name",
        "kind",
        "taker_fee_bps",
        "maker_fee_bps",
        "timezone",
        "session_open",
        "session_close",
        "traded_classes",
        "session_is_open",
        "simulated",
        "active",
    )
    list_filter = ("kind", "active", "simulated", "session_is_open")
    search_fields = ("code", "name")
    readonly_fields = ("simulated", "session_is_open", "created_at", "updated_at")
    service_fields = services.VENUE_FIELDS
    create_service = services.venue_create
    update_service = services.venue_update
    id_argument = "venue_id"

    @admin.display(description="asset classes")
    def traded_classes(self, obj: Venue) -> str:
        return ", ".join(obj.asset_classes or [])


class ReadOnlyAdmin(TenantScopedAdmin):
    view_roles = ALL_ROLES
    add_roles = ()
    change_roles = ()
    delete_roles = ()


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    """The displayed top of book per venue and instrument (market data writes it)."""

    list_display = (
        "instrument",
        "venue",
        "bid",
        "bid_size",
        "ask",
        "ask_size",
        "last",
        "updated_at",
    )
    list_filter = ("venue", "instrument__asset_class")
    search_fields = ("instrument__symbol", "venue__code")
    list_select_related = ("instrument", "venue")
    ordering = ("instrument__symbol", "venue__code")


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    """Positions with realized P&L and unrealized P&L at the instrument's last price."""

    list_display = (
        "account",
        "instrument",
        "quantity",
        "avg_cost",
        "last_price",
        "unrealized_pnl",
        "realized_pnl",
        "updated_at",
    )
    list_filter = ("account", "instrument__asset_class")
    search_fields = ("account__code", "instrument__symbol")
    readonly_fields = ("last_price", "unrealized_pnl")
    ordering = ("account__code", "instrument__symbol")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Position]:
        qs: QuerySet[Position] = selectors.positions_with_last_price(
            super().get_queryset(request), scoped_queryset(Quote, request)
        )
        return qs

    @admin.display(description="last price", ordering="last_price")
    def last_price(self, obj: Position) -> Decimal | None:
        last: Decimal | None = getattr(obj, "last_price", None)
        return None if last is None else last.quantize(PRICE_QUANTUM)

    @admin.display(description="unrealized P&L")
    def unrealized_pnl(self, obj: Position) -> Decimal | None:
        return selectors.position_unrealized_pnl(obj)


# The order blotter lives in its own module (registered on import).
from trading import admin_orders  # noqa: E402, F401
