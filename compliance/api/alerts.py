"""``/api/v1/compliance/alerts/``: the review queue, one alert, its notes and its transitions.

Roles (see ``compliance.selectors``): compliance officers and administrators only, every other
role 403; an alert about the caller and another tenant's alert answer 404.

Transitions are ``POST /alerts/{id}/<action>/`` with ``action`` one of ``assign``,
``start-review``, ``escalate``, ``deescalate``, ``propose-close``, ``approve-close``,
``refuse-close``, ``reopen``; ``POST /alerts/assign/`` assigns several alerts at once (all or
nothing); ``GET``/``POST /alerts/{id}/notes/`` lists and appends notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import include, path
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import Direction, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from compliance import selectors
from compliance.models.alerts import (
    Alert,
    AlertAction,
    AlertNote,
    AlertSeverity,
    AlertStatus,
    Disposition,
    ReportType,
)
from compliance.services import alerts as services
from oms_site.api.fields import StrictCharField
from oms_site.api.pagination import CreatedCursorPagination
from tenancy.api import TENANT_HEADER, TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

MAX_ID = 2**63 - 1

TENANT_PARAM = OpenApiParameter(
    TENANT_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Tenant slug; required when the caller belongs to several tenants.",
)


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


class AlertNoteSerializer(serializers.ModelSerializer[AlertNote]):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = AlertNote
        fields = ("id", "author", "text", "created_at")
        read_only_fields = fields


class AlertActionSerializer(serializers.ModelSerializer[AlertAction]):
    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = AlertAction
        fields = ("id", "kind", "from_status", "to_status", "actor", "data", "created_at")
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer[Alert]):
    order_reference = serializers.SerializerMethodField()
    subject_user_name = serializers.SerializerMethodField()
    assigned_to_name = serializers.SerializerMethodField()
    proposed_by_name = serializers.SerializerMethodField()
    approved_by_name = serializers.SerializerMethodField()
    # blank until the close is proposed (read-only fields drop the model's allow_blank)
    disposition = serializers.ChoiceField(
        choices=Disposition.choices, allow_blank=True, read_only=True
    )
    report_type = serializers.ChoiceField(
        choices=ReportType.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Alert
        fields: tuple[str, ...] = (
            "id",
            "rule",
            "severity",
            "status",
            "title",
            "evidence",
            "order",
            "order_reference",
            "order_ids",
            "execution_ids",
            "account_codes",
            "account_code",
            "dedupe_key",
            "subject_user",
            "subject_user_name",
            "assigned_to",
            "assigned_to_name",
            "assigned_at",
            "disposition",
            "disposition_reason",
            "report_type",
            "report_reference",
            "duplicate_of",
            "proposed_by",
            "proposed_by_name",
            "proposed_at",
            "approved_by",
            "approved_by_name",
            "closed_at",
            "status_changed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_order_reference(self, obj: Alert) -> str | None:
        return obj.order.reference if obj.order is not None else None

    def get_subject_user_name(self, obj: Alert) -> str | None:
        return _username(obj.subject_user)

    def get_assigned_to_name(self, obj: Alert) -> str | None:
        return _username(obj.assigned_to)

    def get_proposed_by_name(self, obj: Alert) -> str | None:
        return _username(obj.proposed_by)

    def get_approved_by_name(self, obj: Alert) -> str | None:
        return _username(obj.approved_by)


class AlertDetailSerializer(AlertSerializer):
    notes = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = (*AlertSerializer.Meta.fields, "notes", "actions")
        read_only_fields = fields

    @extend_schema(responses=AlertNoteSerializer(many=True))
    def get_notes(self, obj: Alert) -> list[dict[str, Any]]:
        return list(AlertNoteSerializer(selectors.alert_notes(alert=obj), many=True).data)

    @extend_schema(responses=AlertActionSerializer(many=True))
    def get_actions(self, obj: Alert) -> list[dict[str, Any]]:
        return list(AlertActionSerializer(selectors.alert_actions(alert=obj), many=True).data)


class _CsvChoices(serializers.Field):
    """A comma-separated list of choices in a query parameter (``?status=new,assigned``)."""

    def __init__(self, *, choices: list[str] | None = None, **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        values = [v.strip() for v in data.split(",") if v.strip()]
        if not values:
            raise serializers.ValidationError("Name at least one value.")
        if self.choices is not None:
            bad = [v for v in values if v not in self.choices]
            if bad:
                raise serializers.ValidationError(
                    f"Unknown value {bad[0]!r}; choose from {', '.join(self.choices)}."
                )
        elif any(len(v) > 64 for v in values):
            raise serializers.ValidationError("Ensure each value has no more than 64 characters.")
        return values

    def to_representation(self, value: Any) -> Any:
        return ",".join(value)


class _CsvChoicesSchema(OpenApiSerializerFieldExtension):
    """Documents a :class:`_CsvChoices` query parameter as a string naming its allowed values.

    A string, not an array: the values travel in one comma-separated parameter
    (``?status=new,assigned``), not as repeated ``?status=new&status=assigned``.
    """

    target_class = _CsvChoices

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        choices = self.target.choices
        if choices is None:
            description = "Comma-separated list of values."
        else:
            description = f"Comma-separated list of one or more of: {', '.join(choices)}."
        return {"type": "string", "description": description}


class AlertQueueFilterSerializer(serializers.Serializer[Any]):
    """Query parameters of the queue. ``assigned_to`` is a user id, ``me`` or ``none``."""

    status = _CsvChoices(choices=list(AlertStatus.values), required=False)
    severity = _CsvChoices(choices=list(AlertSeverity.values), required=False)
    rule = _CsvChoices(required=False)
    older_than_hours = serializers.IntegerField(
        min_value=0, max_value=24 * 365 * 100, required=False
    )
    assigned_to = serializers.RegexField(
        r"^(me|none|[0-9]{1,18})$",
        required=False,
        error_messages={"invalid": "Use a user id, 'me' or 'none'."},
    )


class AssignSerializer(serializers.Serializer[Any]):
    assigned_to = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class BulkAssignSerializer(AssignSerializer):
    alert_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=500,
    )


class AlertReasonSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(
        max_length=services.REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class ProposeCloseSerializer(AlertReasonSerializer):
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    report_type = StrictCharField(max_length=10, required=False, allow_blank=True, default="")
    report_reference = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    duplicate_of = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )


class NoteCreateSerializer(serializers.Serializer[Any]):
    text = StrictCharField(max_length=services.NOTE_MAX_LENGTH)


def _assignee(user_id: int) -> Any:
    """The user named by id, or None (the service answers 400 for None and for non-reviewers)."""
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


@extend_schema(parameters=[TENANT_PARAM])
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's compliance alerts (compliance officers and administrators)."""

    queryset = Alert.objects.all_tenants(reason="schema introspection only")
    serializer_class = AlertSerializer
    pagination_class = CreatedCursorPagination
    read_roles = REVIEWERS
    write_roles = REVIEWERS

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Alert]:
        return selectors.alerts_visible(tenant=tenant, user=self.request.user)

    def get_serializer_class(self) -> Any:
        return AlertDetailSerializer if self.action != "list" else AlertSerializer

    @extend_schema(parameters=[AlertQueueFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The review queue, newest first; filters: status, severity, rule (comma-separated
        lists), older_than_hours, assigned_to (user id, ``me`` or ``none``)."""
        params = AlertQueueFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        assigned = data.get("assigned_to")
        queue = selectors.alerts_queue(
            tenant=self.tenant,
            user=request.user,
            statuses=data.get("status"),
            severities=data.get("severity"),
            rules=data.get("rule"),
            older_than_hours=data.get("older_than_hours"),
            assigned_to=(
                request.user.pk
                if assigned == "me"
                else int(assigned)
                if assigned and assigned != "none"
                else None
            ),
            unassigned=assigned == "none",
        )
        page = self.paginate_queryset(queue)
        return self.get_paginated_response(AlertSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, pk: str = "", **kwargs: Any) -> Response:
        alert = selectors.alert_get(tenant=self.tenant, user=request.user, alert_id=int(pk))
        return Response(AlertDetailSerializer(alert).data)

    def _detail(self, alert: Alert) -> Response:
        fresh = selectors.alert_get(tenant=self.tenant, user=self.request.user, alert_id=alert.pk)
        return Response(AlertDetailSerializer(fresh).data)

    @extend_schema(request=AssignSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """new / assigned / reopened -> assigned."""
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_assign(
            tenant=self.tenant,
            actor=request.user,
            alert_id=int(pk),
            assignee=_assignee(body.validated_data["assigned_to"]),
        )
        return self._detail(alert)

    @extend_schema(
        operation_id="v1_compliance_alerts_bulk_assign_create",  # vs /alerts/{id}/assign/
        request=BulkAssignSerializer,
        responses=AlertSerializer(many=True),
    )
    @action(detail=False, methods=["post"], url_path="assign")
    def assign_many(self, request: Request) -> Response:
        """Assign several alerts to one reviewer, all or nothing."""
        body = BulkAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alerts = services.alerts_assign(
            tenant=self.tenant,
            actor=request.user,
            alert_ids=body.validated_data["alert_ids"],
            assignee=_assignee(body.validated_data["assigned_to"]),
        )
        fresh = selectors.alerts_visible(tenant=self.tenant, user=request.user).filter(
            pk__in=[a.pk for a in alerts]
        )
        return Response(AlertSerializer(fresh.order_by("pk"), many=True).data)

    @extend_schema(request=None, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request: Request, pk: str) -> Response:
        """assigned / reopened -> in_review (the assignee)."""
        alert = services.alert_start_review(
            tenant=self.tenant, actor=request.user, alert_id=int(pk)
        )
        return self._detail(alert)

    def _reason(self, request: Request) -> str:
        body = AlertReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason: str = body.validated_data["reason"]
        return reason

    @extend_schema(request=AlertReasonSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str) -> Response:
        """in_review -> escalated (the assignee, with a reason)."""
        alert = services.alert_escalate(
            tenant=self.tenant, actor=request.user, alert_id=int(pk), reason=self._reason(request)
        )
        return self._detail(alert)

    @extend_schema(request=AlertReasonSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def deescalate(self, request: Request, pk: str) -> Response:
        """escalated -> in_review."""
        alert = services.alert_deescalate(
            tenant=self.tenant, actor=request.user, alert_id=int(pk), reason=self._reason(request)
        )
        return self._detail(alert)

    @extend_schema(request=ProposeCloseSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"], url_path="propose-close")
    def propose_close(self, request: Request, pk: str) -> Response:
        """in_review / escalated -> pending_approval, with a disposition (the assignee)."""
        body = ProposeCloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        alert = services.alert_propose_close(
            tenant=self.tenant,
            actor=request.user,
            alert_id=int(pk),
            disposition=data["disposition"],
            reason=data["reason"],
            report_type=data["report_type"],
            report_reference=data["report_reference"],
            duplicate_of=data["duplicate_of"],
        )
        return self._detail(alert)

    @extend_schema(request=AlertReasonSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"], url_path="approve-close")
    def approve_close(self, request: Request, pk: str) -> Response:
        """pending_approval -> closed (a reviewer other than the proposer)."""
        alert = services.alert_approve_close(
            tenant=self.tenant, actor=request.user, alert_id=int(pk), reason=self._reason(request)
        )
        return self._detail(alert)

    @extend_schema(request=AlertReasonSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"], url_path="refuse-close")
    def refuse_close(self, request: Request, pk: str) -> Response:
        """pending_approval -> in_review (a reviewer other than the proposer, with a reason)."""
        alert = services.alert_refuse_close(
            tenant=self.tenant, actor=request.user, alert_id=int(pk), reason=self._reason(request)
        )
        return self._detail(alert)

    @extend_schema(request=AlertReasonSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        """closed -> reopened (with a reason)."""
        alert = services.alert_reopen(
            tenant=self.tenant, actor=request.user, alert_id=int(pk), reason=self._reason(request)
        )
        return self._detail(alert)

    @extend_schema(methods=["GET"], request=None, responses=AlertNoteSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=NoteCreateSerializer, responses={201: AlertNoteSerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request: Request, pk: str) -> Response:
        """The alert's notes, oldest first; POST appends one (notes are never edited)."""
        if request.method == "GET":
            alert = selectors.alert_get(tenant=self.tenant, user=request.user, alert_id=int(pk))
            return Response(AlertNoteSerializer(selectors.alert_notes(alert=alert), many=True).data)
        body = NoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.alert_note_add(
            tenant=self.tenant,
            actor=request.user,
            alert_id=int(pk),
            text=body.validated_data["text"],
        )
        return Response(AlertNoteSerializer(note).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="compliance-alert")

urlpatterns = [path("", include(router.urls))]
