"""Pre-trade configuration endpoints under ``/api/v1/compliance/``.

- ``rules/`` (GET, POST), ``rules/{id}/`` (GET, PATCH, DELETE = deactivate);
- ``restricted-list/``, ``watch-list/`` (GET, POST), ``.../{id}/`` (GET, DELETE = deactivate);
- ``locates/`` (GET, POST: upsert of the day's located quantity);
- ``overrides/`` (GET, POST: request), ``overrides/{id}/approve/``, ``overrides/{id}/refuse/``;
- ``kill-switch/`` (GET, POST: engage), ``kill-switch/{id}/release/``;
- ``orders/{id}/screening/`` (GET: every screening line of the order);
- ``orders/{id}/fraud-release/`` (POST: release a fraud-held sales order).

Roles: every member of the tenant reads the rules, lists and kill switches (traders need to
know what is restricted); compliance officers and administrators (``REVIEWERS``) write them;
only a compliance officer approves or refuses an override and releases a kill switch (the
services check). Overrides are read by reviewers and the order-entry roles. Another tenant's
object answers 404 like a missing one; bad input answers 400 naming the field, nothing stored.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import re_path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from compliance.api.rules_serializers import (
    ComplianceReasonSerializer,
    KillSwitchSerializer,
    LocateSerializer,
    OptionalReasonSerializer,
    OverrideSerializer,
    RestrictedEntrySerializer,
    RuleSerializer,
    ScreeningResultSerializer,
    WatchEntrySerializer,
)
from compliance.models import (
    KillSwitch,
    Locate,
    Override,
    RestrictedListEntry,
    Rule,
    ScreeningResult,
    WatchListEntry,
)
from compliance.services import killswitch, overrides
from compliance.services import rules as services
from oms_site.errors import NotFound
from orders.models import Order
from tenancy.api import TenantAPIView, TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import ALL_ROLES, REVIEWERS, SALES_ENTRY, TRADE_ENTRY

OVERRIDE_ROLES = REVIEWERS | TRADE_ENTRY | SALES_ENTRY


class _ConfigViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    read_roles = ALL_ROLES
    write_roles = REVIEWERS


class RuleViewSet(_ConfigViewSet):
    serializer_class = RuleSerializer
    queryset = Rule.objects.all_tenants(reason="schema only").none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return Rule.objects.for_tenant(tenant).order_by("id")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = services.rule_save(
            tenant=self.tenant, actor=request.user, data=serializer.validated_data
        )
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rule = services.rule_save(
            tenant=self.tenant,
            actor=request.user,
            data=serializer.validated_data,
            rule_id=instance.pk,
        )
        return Response(self.get_serializer(rule).data)

    def destroy(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        services.rule_delete(tenant=self.tenant, actor=request.user, rule_id=instance.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ListViewSet(_ConfigViewSet):
    http_method_names = ["get", "post", "delete", "head", "options"]
    model: type[RestrictedListEntry] | type[WatchListEntry]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return self.model.objects.for_tenant(tenant).filter(active=True).order_by("-id")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        add = (
            services.restricted_entry_add
            if self.model is RestrictedListEntry
            else services.watch_entry_add
        )
        entry = add(tenant=self.tenant, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        services.list_entry_deactivate(
            tenant=self.tenant, actor=request.user, model=self.model, entry_id=instance.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RestrictedListViewSet(_ListViewSet):
    model = RestrictedListEntry
    serializer_class = RestrictedEntrySerializer
    queryset = RestrictedListEntry.objects.all_tenants(reason="schema only").none()


class WatchListViewSet(_ListViewSet):
    model = WatchListEntry
    serializer_class = WatchEntrySerializer
    queryset = WatchListEntry.objects.all_tenants(reason="schema only").none()


class LocateViewSet(_ConfigViewSet):
    serializer_class = LocateSerializer
    queryset = Locate.objects.all_tenants(reason="schema only").none()
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return Locate.objects.for_tenant(tenant).order_by("-date", "id")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        locate = services.locate_set(
            tenant=self.tenant,
            actor=request.user,
            account=data["account"],
            instrument=data["instrument"],
            quantity=data["quantity"],
            day=data["date"],
            source=data.get("source", ""),
        )
        return Response(self.get_serializer(locate).data, status=status.HTTP_201_CREATED)


class KillSwitchViewSet(_ConfigViewSet):
    serializer_class = KillSwitchSerializer
    queryset = KillSwitch.objects.all_tenants(reason="schema only").none()
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return KillSwitch.objects.for_tenant(tenant).order_by("-id")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        switch = killswitch.killswitch_engage(
            tenant=self.tenant, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(switch).data, status=status.HTTP_201_CREATED)


class KillSwitchReleaseApi(TenantAPIView):
    read_roles = ()
    write_roles = REVIEWERS
    serializer_class = ComplianceReasonSerializer
    queryset = KillSwitch.objects.all_tenants(reason="schema only").none()

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return KillSwitch.objects.for_tenant(tenant)

    def post(self, request: Request, pk: int) -> Response:
        serializer = ComplianceReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        switch = killswitch.killswitch_release(
            tenant=self.tenant, actor=request.user, switch_id=pk, **serializer.validated_data
        )
        return Response(KillSwitchSerializer(switch).data)


class OverrideViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    read_roles = OVERRIDE_ROLES
    write_roles = OVERRIDE_ROLES
    serializer_class = OverrideSerializer
    queryset = Override.objects.all_tenants(reason="schema only").none()
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return Override.objects.for_tenant(tenant).order_by("-id")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        override = overrides.override_request(
            tenant=self.tenant,
            actor=request.user,
            order_id=data["order_id"],
            justification=data["justification"],
        )
        return Response(self.get_serializer(override).data, status=status.HTTP_201_CREATED)


class OverrideDecideApi(TenantAPIView):
    read_roles = ()
    write_roles = REVIEWERS
    decision = "approve"
    queryset = Override.objects.all_tenants(reason="schema only").none()

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return Override.objects.for_tenant(tenant)

    def get_serializer_class(self) -> Any:
        # approving may omit the reason; refusing must give one
        if self.decision == "approve":
            return OptionalReasonSerializer
        return ComplianceReasonSerializer

    @extend_schema(responses=OverrideSerializer)
    def post(self, request: Request, pk: int) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if self.decision == "approve":
            override = overrides.override_approve(
                tenant=self.tenant, actor=request.user, override_id=pk, **serializer.validated_data
            )
        else:
            override = overrides.override_refuse(
                tenant=self.tenant, actor=request.user, override_id=pk, **serializer.validated_data
            )
        return Response(OverrideSerializer(override).data)


class OrderScreeningApi(TenantAPIView):
    """Every rule's outcome of the order's screenings, line by line, with the values compared."""

    read_roles = ALL_ROLES
    serializer_class = ScreeningResultSerializer
    queryset = ScreeningResult.objects.all_tenants(reason="schema only").none()

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return ScreeningResult.objects.for_tenant(tenant)

    @extend_schema(
        responses=inline_serializer(
            "OrderScreening",
            {
                "order": serializers.IntegerField(),
                "reference": serializers.CharField(),
                "status": serializers.CharField(),
                "status_reason": serializers.CharField(),
                "results": ScreeningResultSerializer(many=True),
            },
        )
    )
    def get(self, request: Request, pk: int) -> Response:
        order = Order.objects.for_tenant(self.tenant).filter(pk=pk).first()
        if order is None:
            raise NotFound("Order not found.")
        rows = self.get_queryset().filter(order=order).order_by("id")
        return Response(
            {
                "order": order.pk,
                "reference": order.reference,
                "status": order.status,
                "status_reason": order.status_reason,
                "results": ScreeningResultSerializer(rows, many=True).data,
            }
        )


class FraudReleaseApi(TenantAPIView):
    read_roles = ()
    write_roles = overrides.SALES_RELEASERS
    serializer_class = ComplianceReasonSerializer
    queryset = Order.objects.all_tenants(reason="schema only").none()

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return Order.objects.for_tenant(tenant)

    def post(self, request: Request, pk: int) -> Response:
        serializer = ComplianceReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = overrides.sales_hold_release(
            tenant=self.tenant, actor=request.user, order_id=pk, **serializer.validated_data
        )
        return Response({"order": order.pk, "status": order.status})


PK = r"(?P<pk>[0-9]{1,18})"


def _routes(
    prefix: str, viewset: Any, actions: dict[str, str], detail: dict[str, str]
) -> list[Any]:
    return [
        re_path(rf"^{prefix}/$", viewset.as_view(actions), name=f"compliance-{prefix}-list"),
        re_path(
            rf"^{prefix}/{PK}/$",
            viewset.as_view(detail),
            name=f"compliance-{prefix}-detail",
        ),
    ]


_LIST = {"get": "list", "post": "create"}

urlpatterns: list[Any] = [
    *_routes(
        "rules",
        RuleViewSet,
        _LIST,
        {"get": "retrieve", "patch": "partial_update", "delete": "destroy"},
    ),
    *_routes(
        "restricted-list", RestrictedListViewSet, _LIST, {"get": "retrieve", "delete": "destroy"}
    ),
    *_routes("watch-list", WatchListViewSet, _LIST, {"get": "retrieve", "delete": "destroy"}),
    *_routes("locates", LocateViewSet, _LIST, {"get": "retrieve"}),
    *_routes("overrides", OverrideViewSet, _LIST, {"get": "retrieve"}),
    *_routes("kill-switch", KillSwitchViewSet, _LIST, {"get": "retrieve"}),
    re_path(rf"^overrides/{PK}/approve/$", OverrideDecideApi.as_view(decision="approve")),
    re_path(rf"^overrides/{PK}/refuse/$", OverrideDecideApi.as_view(decision="refuse")),
    re_path(rf"^kill-switch/{PK}/release/$", KillSwitchReleaseApi.as_view()),
    re_path(rf"^orders/{PK}/screening/$", OrderScreeningApi.as_view()),
    re_path(rf"^orders/{PK}/fraud-release/$", FraudReleaseApi.as_view()),
]
