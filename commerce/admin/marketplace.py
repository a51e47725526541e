"""Commerce admin: marketplace channels (write-only credentials, "Sync now") and sync runs
(progress bar, counters, errors).

Credentials are never rendered: the channel form shows, per credential key of the channel's
kind, whether it is set, and an empty password box to replace it (left empty: kept). A code
given or changed may not contain ``:`` (``commerce.services.channels``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string

from commerce.models import Channel, SyncRun, SyncStatus
from commerce.services.channels import channel_code_problem, credentials_merge
from commerce.services.sync import channel_sync_start
from oms_site.errors import ApplicationError
from tenancy.admin_base import TenantScopedAdmin, TenantScopedModelForm, request_tenant
from tenancy.roles import REFERENCE_DATA, SALES_ENTRY

CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    "amazon": ("client_id", "client_secret", "refresh_token"),
    "ebay": ("client_id", "client_secret", "refresh_token", "access_token"),
    "aliexpress": ("app_key", "app_secret", "access_token"),
    "shopify": ("access_token", "webhook_secret"),
}
ALL_KEYS = tuple(sorted({key for keys in CREDENTIAL_KEYS.values() for key in keys}))
PREFIX = "credential_"


class ChannelAdminForm(TenantScopedModelForm):
    class Meta:
        model = Channel
        exclude = ["credentials"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.credentials or {}
        for key in ALL_KEYS:
            kinds = ", ".join(k for k, keys in CREDENTIAL_KEYS.items() if key in keys)
            state = "set" if stored.get(key) else "not set"
            self.fields[PREFIX + key] = forms.CharField(
                required=False,
                label=f"{key} ({state})",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text=f"Used by: {kinds}. Currently {state}; leave empty to keep.",
            )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        problem = channel_code_problem(code) if "code" in self.changed_data else None
        if problem:
            raise forms.ValidationError(problem)
        return code

    def given_credentials(self) -> dict[str, str]:
        return {
            key: self.cleaned_data[PREFIX + key]
            for key in ALL_KEYS
            if self.cleaned_data.get(PREFIX + key)
        }


@admin.register(Channel)
class ChannelAdmin(TenantScopedAdmin):
    form = ChannelAdminForm
    add_roles = REFERENCE_DATA
    change_roles = REFERENCE_DATA
    list_display = (
        "code",
        "name",
        "kind",
        "active",
        "sync_enabled",
        "watermark",
        "credentials_state",
    )
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    readonly_fields = ("watermark",)
    exclude = ("credentials",)
    actions = ["sync_now"]

    @admin.display(description="Credentials")
    def credentials_state(self, obj: Channel) -> str:
        keys = CREDENTIAL_KEYS.get(obj.kind, ())
        if not keys:
            return "-"
        stored = obj.credentials or {}
        return ", ".join(f"{k}: {'set' if stored.get(k) else 'not set'}" for k in keys)

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        obj.credentials = credentials_merge(obj.credentials or {}, form.given_credentials())
        super().save_model(request, obj, form, change)

    @admin.action(description="Sync now (marketplace channels)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        tenant = request_tenant(request)
        if tenant is None or not self._has_role(request, SALES_ENTRY):
            self.message_user(request, "Choose a tenant you may sell for.", messages.ERROR)
            return
        started, refused = [], []
        for channel in queryset.order_by("pk"):
            try:
                run = channel_sync_start(
                    tenant=tenant, channel_id=channel.pk, actor=request.user, trigger="manual"
                )
                started.append(f"{channel.code} (run {run.pk})")
            except ApplicationError as exc:
                refused.append(f"{channel.code}: {exc.message}")
        if started:
            self.message_user(request, "Sync queued: " + ", ".join(started), messages.SUCCESS)
        if refused:
            self.message_user(request, "Not synced: " + "; ".join(refused), messages.WARNING)


@admin.register(SyncRun)
class SyncRunAdmin(TenantScopedAdmin):
    add_roles = ()
    change_roles = ()
    list_display = (
        "id",
        "channel",
        "status",
        "trigger",
        "progress_bar",
        "pages",
        "created",
        "updated",
        "skipped",
        "errors",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "channel")
    readonly_fields = (
        "channel",
        "status",
        "trigger",
        "progress_bar",
        "started_at",
        "finished_at",
        "window_start",
        "window_end",
        "pages",
        "created",
        "updated",
        "skipped",
        "errors",
        "retries",
        "error_detail",
    )
    exclude = ("page_token", "page_offset", "total_expected", "progress")

    @admin.display(description="Progress")
    def progress_bar(self, obj: SyncRun) -> str:
        return render_to_string(
            "admin/commerce/syncrun/progress.html",
            {"run": obj, "active": obj.status in (SyncStatus.QUEUED, SyncStatus.RUNNING)},
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        active = self.get_queryset(request).filter(
            status__in=(SyncStatus.QUEUED, SyncStatus.RUNNING)
        )
        context = {"refresh_seconds": 5 if active.exists() else 0, **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)
