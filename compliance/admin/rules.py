"""Admin for pre-trade rules, restricted and watch lists, locates, overrides, the kill switch and
screening results.

Compliance officers and administrators configure (``REVIEWERS``); everyone in the tenant views.
Saves go through the services (validation per kind, configuration version bump); overrides and
screening results are read-only here (decided through the API's four-eyes endpoints).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from compliance.models import (
    InstrumentClose,
    KillSwitch,
    Locate,
    Override,
    RestrictedListEntry,
    Rule,
    ScreeningResult,
    WatchListEntry,
)
from compliance.services import killswitch
from compliance.services.rules import config_version_bump
from oms_site.errors import ApplicationError
from tenancy.admin_base import TenantScopedAdmin
from tenancy.roles import REVIEWERS


class _ConfigAdmin(TenantScopedAdmin):
    add_roles = REVIEWERS
    change_roles = REVIEWERS

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        config_version_bump(obj.tenant_id)


@admin.register(Rule)
class RuleAdmin(_ConfigAdmin):
    list_display = ("name", "kind", "scope", "severity", "active", "updated_at")
    list_filter = ("kind", "scope", "severity", "active")
    search_fields = ("name",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from compliance.services.rules import FIXED_SEVERITY, rule_params_clean

        obj.params, _ = rule_params_clean(obj.kind, obj.params)  # clean() validated it already
        if obj.kind in FIXED_SEVERITY:
            obj.severity = FIXED_SEVERITY[obj.kind]
        super().save_model(request, obj, form, change)


@admin.register(RestrictedListEntry)
class RestrictedListAdmin(_ConfigAdmin):
    list_display = ("instrument", "issuer", "reason", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("issuer", "reason")


@admin.register(WatchListEntry)
class WatchListAdmin(_ConfigAdmin):
    list_display = ("instrument", "issuer", "reason", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("issuer", "reason")


@admin.register(Locate)
class LocateAdmin(_ConfigAdmin):
    list_display = ("account", "instrument", "quantity", "date", "source")
    list_filter = ("date",)


@admin.register(InstrumentClose)
class InstrumentCloseAdmin(_ConfigAdmin):
    list_display = ("instrument", "trade_date", "close_price")
    list_filter = ("trade_date",)


@admin.register(KillSwitch)
class KillSwitchAdmin(TenantScopedAdmin):
    """Engage through the add form (the service cancels the open orders in scope). Release: type
    a release reason on the switch's change page and save, or select switches whose release
    reason is filled and run the action; compliance officers only, a blank reason is refused."""

    list_display = ("scope", "account", "trader", "engaged", "reason", "engaged_by", "released_by")
    list_filter = ("engaged", "scope")
    fields = ("scope", "account", "trader", "reason", "release_reason")
    add_roles = REVIEWERS
    change_roles = REVIEWERS
    actions = ["release_selected"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            if not change:
                switch = killswitch.killswitch_engage(
                    tenant=obj.tenant if obj.tenant_id else request.admin_tenant,  # type: ignore[attr-defined]
                    actor=request.user,
                    scope=obj.scope,
                    reason=obj.reason,
                    account=obj.account,
                    trader=obj.trader,
                )
                obj.pk = switch.pk
            elif obj.engaged and obj.release_reason:
                killswitch.killswitch_release(
                    tenant=obj.tenant,
                    actor=request.user,
                    switch_id=obj.pk,
                    reason=obj.release_reason,
                )
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    @admin.action(description="Release the selected kill switches (uses their release reason)")
    def release_selected(self, request: HttpRequest, queryset: QuerySet[KillSwitch]) -> None:
        for switch in queryset.filter(engaged=True):
            try:
                killswitch.killswitch_release(
                    tenant=switch.tenant,
                    actor=request.user,
                    switch_id=switch.pk,
                    reason=switch.release_reason,
                )
            except ApplicationError as exc:
                self.message_user(request, f"{switch}: {exc.message}", level=messages.ERROR)


@admin.register(Override)
class OverrideAdmin(TenantScopedAdmin):
    list_display = ("order", "status", "requested_by", "approved_by", "expires_at", "created_at")
    list_filter = ("status",)
    add_roles = ()
    change_roles = ()


@admin.register(ScreeningResult)
class ScreeningResultAdmin(TenantScopedAdmin):
    list_display = ("order", "rule_name", "kind", "outcome", "severity", "message", "created_at")
    list_filter = ("outcome", "severity", "kind")
    search_fields = ("rule_name", "message")
    add_roles = ()
    change_roles = ()
