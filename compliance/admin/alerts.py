"""The alert review queue for compliance officers and administrators.

The changelist is the queue (filters: status, severity, rule, age, assignment; bulk
assignment through the action bar's assignee box, blank = yourself). The change page is
read-only: its workflow form runs the alert services (row lock, role and four-eyes checks,
journal), and the evidence links open the orders and executions the alert names. Notes and the
action journal show inline, read-only. Alerts about the viewer are not listed (404).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from compliance.models.alerts import (
    Alert,
    AlertAction,
    AlertNote,
    Disposition,
    ReportType,
)
from compliance.services import alerts as services
from oms_site.errors import ApplicationError
from tenancy.admin_base import ReadOnlyChildInline, TenantScopedAdmin, request_tenant
from tenancy.roles import REVIEWERS

AGES = {"1h": 1, "24h": 24, "72h": 72, "7d": 24 * 7}
WORKFLOW_ACTIONS = (
    ("assign", "Assign to (username; blank: me)"),
    ("start_review", "Start review"),
    ("escalate", "Escalate (reason)"),
    ("deescalate", "De-escalate"),
    ("propose_close", "Propose closure (disposition, reason)"),
    ("approve_close", "Approve closure"),
    ("refuse_close", "Refuse closure (reason)"),
    ("reopen", "Reopen (reason)"),
    ("note", "Add a note (reason box = note text)"),
)


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "older_than"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, f"older than {key}") for key in AGES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        hours = AGES.get(self.value() or "")
        if hours is None:
            return queryset
        return queryset.filter(created_at__lte=timezone.now() - timedelta(hours=hours))


class AssignmentFilter(admin.SimpleListFilter):
    title = "assignment"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "assigned to me"), ("none", "unassigned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "me":
            return queryset.filter(assigned_to_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class AssignActionForm(ActionForm):
    assignee = forms.CharField(
        required=False, label="Assignee (username; blank: me)", max_length=150
    )


class WorkflowForm(forms.Form):
    action = forms.ChoiceField(choices=WORKFLOW_ACTIONS)
    assignee = forms.CharField(required=False, max_length=150)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    disposition = forms.ChoiceField(
        required=False, choices=[("", "---------"), *Disposition.choices]
    )
    report_type = forms.ChoiceField(
        required=False, choices=[("", "---------"), *ReportType.choices]
    )
    report_reference = forms.CharField(required=False, max_length=100)
    duplicate_of = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class AlertNoteInline(ReadOnlyChildInline):
    model = AlertNote
    ordering = ("created_at", "id")
    fields = ("created_at", "author_name", "text")
    readonly_fields = fields


class AlertActionInline(ReadOnlyChildInline):
    model = AlertAction
    ordering = ("created_at", "id")
    fields = ("created_at", "kind", "from_status", "to_status", "actor_name", "data")
    readonly_fields = fields


def _user_by_name(username: str) -> Any:
    return get_user_model().objects.filter(username=username, is_active=True).first()


def _link(viewname: str, pk: Any, label: str) -> tuple[str, str] | None:
    try:
        return reverse(viewname, args=[pk]), label
    except NoReverseMatch:
        return None


@admin.register(Alert)
class AlertAdmin(TenantScopedAdmin):
    list_display = (
        "id",
        "severity",
        "rule",
        "title",
        "status",
        "assigned_to",
        "account_code",
        "created_at",
    )
    list_filter = ("status", "severity", "rule", AgeFilter, AssignmentFilter)
    search_fields = ("title", "rule", "account_code", "dedupe_key")
    list_select_related = ("assigned_to",)
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "rule",
        "severity",
        "status",
        "title",
        "evidence_links",
        "evidence",
        "subject_user",
        "assigned_to",
        "assigned_at",
        "disposition",
        "disposition_reason",
        "report_type",
        "report_reference",
        "duplicate_of",
        "proposed_by",
        "proposed_at",
        "approved_by",
        "closed_at",
        "created_at",
        "status_changed_at",
    )
    fields = readonly_fields
    inlines = [AlertNoteInline, AlertActionInline]
    actions = ["assign_selected"]
    action_form = AssignActionForm
    change_form_template = "admin/compliance/alert/change_form.html"
    view_roles = REVIEWERS
    change_roles = REVIEWERS  # the change page only offers the workflow form
    add_roles = ()
    delete_roles = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).exclude(subject_user_id=request.user.pk)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="evidence")
    def evidence_links(self, obj: Alert) -> SafeString:
        links: list[tuple[str, str]] = []
        for order_id in obj.order_ids or []:
            link = _link("admin:orders_order_change", order_id, f"order #{order_id}")
            if link:
                links.append(link)
        for exec_id in obj.execution_ids or []:
            link = _link("admin:trading_execution_change", exec_id, f"execution #{exec_id}")
            links.append(link or ("#", f"execution #{exec_id}"))
        for code in obj.account_codes or []:
            links.append(
                (f"{reverse('admin:trading_account_changelist')}?q={code}", f"account {code}")
            )
        if not links:
            return format_html("{}", "-")
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "workflow_form": WorkflowForm(),
            "workflow_url": reverse("admin:compliance_alert_workflow", args=[object_id])
            if object_id.isdigit()
            else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None  # nothing is edited here; the services write

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="compliance_alert_workflow",
            ),
            *super().get_urls(),
        ]

    def workflow_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """POST only: run one workflow action through the services, report the outcome."""
        tenant = request_tenant(request)
        if tenant is None or request.method != "POST":
            raise Http404("Not found.")
        if not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404("Not found.")
        back = reverse("admin:compliance_alert_change", args=[object_id])
        form = WorkflowForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                self.message_user(
                    request, f"{field}: {' '.join(str(e) for e in errors)}", messages.ERROR
                )
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        try:
            self._run(request, tenant=tenant, alert_id=object_id, data=data)
        except ApplicationError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            self.message_user(request, f"{exc.message} {details}".strip(), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(request, f"Alert #{object_id}: {data['action']} done.", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _run(
        self, request: HttpRequest, *, tenant: Any, alert_id: int, data: dict[str, Any]
    ) -> None:
        common = {"tenant": tenant, "actor": request.user, "alert_id": alert_id}
        action = data["action"]
        reason = data.get("reason") or ""
        if action == "assign":
            name = (data.get("assignee") or "").strip()
            assignee = _user_by_name(name) if name else request.user
            services.alert_assign(**common, assignee=assignee)
        elif action == "start_review":
            services.alert_start_review(**common)
        elif action == "escalate":
            services.alert_escalate(**common, reason=reason)
        elif action == "deescalate":
            services.alert_deescalate(**common, reason=reason)
        elif action == "propose_close":
            services.alert_propose_close(
                **common,
                disposition=data.get("disposition") or "",
                reason=reason,
                report_type=data.get("report_type") or "",
                report_reference=data.get("report_reference") or "",
                duplicate_of=data.get("duplicate_of"),
            )
        elif action == "approve_close":
            services.alert_approve_close(**common, reason=reason)
        elif action == "refuse_close":
            services.alert_refuse_close(**common, reason=reason)
        elif action == "reopen":
            services.alert_reopen(**common, reason=reason)
        else:
            services.alert_note_add(**common, text=reason)

    @admin.action(description="Assign selected alerts (assignee box; blank: me)")
    def assign_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        tenant = request_tenant(request)
        if tenant is None:
            self.message_user(request, "Choose a working tenant first.", messages.ERROR)
            return
        name = (request.POST.get("assignee") or "").strip()
        assignee = _user_by_name(name) if name else request.user
        ids = list(queryset.values_list("pk", flat=True))
        try:
            done = services.alerts_assign(
                tenant=tenant, actor=request.user, alert_ids=ids, assignee=assignee
            )
        except ApplicationError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            self.message_user(
                request, f"Nothing assigned: {exc.message} {details}".strip(), messages.ERROR
            )
            return
        who = assignee.get_username() if assignee is not None else "?"
        self.message_user(request, f"Assigned {len(done)} alert(s) to {who}.", messages.SUCCESS)
