"""Commerce API: channels (CRUD; credentials write-only), ``POST /channels/{id}/sync/`` (202 +
run id), sync runs (list/detail), and the Shopify webhook receiver.

Roles: every member reads channels and runs; ``admin`` and ``operations`` create, change and
delete channels; ``admin``, ``seller`` and ``operations`` start a sync. The webhook endpoint
takes no token and no session (hence no CSRF): the HMAC signature is its authentication.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from commerce.api.marketplace_serializers import (
    ChannelSerializer,
    SyncRunSerializer,
    SyncStartedSerializer,
)
from commerce.models import Channel, SyncRun
from commerce.services import channels as channel_services
from commerce.services.sync import channel_sync_start
from commerce.services.webhooks import shopify_webhook_receive
from oms_site.api.pagination import CreatedCursorPagination
from orders.api.views import TENANT_PARAM
from tenancy.api import TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import REFERENCE_DATA, SALES_ENTRY


class CodePagination(CreatedCursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema(parameters=[TENANT_PARAM])
class ChannelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = Channel.objects.all_tenants(reason="schema introspection only")
    serializer_class = ChannelSerializer
    pagination_class = CodePagination
    write_roles = REFERENCE_DATA
    action_roles = {"sync": SALES_ENTRY}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Channel]:
        return Channel.objects.for_tenant(tenant).select_related("store")

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = channel_services.channel_create(
            tenant=self.tenant, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(channel).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        channel = channel_services.channel_update(
            tenant=self.tenant,
            actor=request.user,
            channel_id=instance.pk,
            **serializer.validated_data,
        )
        return Response(self.get_serializer(channel).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        channel_services.channel_delete(
            tenant=self.tenant, actor=request.user, channel_id=instance.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: SyncStartedSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        instance = self.get_object()
        run = channel_sync_start(
            tenant=self.tenant, channel_id=instance.pk, actor=request.user, trigger="manual"
        )
        return Response({"run_id": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[TENANT_PARAM])
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = SyncRun.objects.all_tenants(reason="schema introspection only")
    serializer_class = SyncRunSerializer
    pagination_class = CreatedCursorPagination

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[SyncRun]:
        runs = SyncRun.objects.for_tenant(tenant).select_related("channel")
        channel = self.request.query_params.get("channel")
        if channel is not None and channel.isdigit():
            runs = runs.filter(channel_id=int(channel))
        return runs


class ShopifyWebhookApi(APIView):
    """``POST /webhooks/shopify/{channel id}/`` (see ``commerce.services.webhooks``)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: None, 401: None})
    def post(self, request: Request, channel_id: int) -> Response:
        outcome = shopify_webhook_receive(
            channel_id=channel_id,
            topic=request.headers.get("X-Shopify-Topic", ""),
            webhook_id=request.headers.get("X-Shopify-Webhook-Id", ""),
            signature=request.headers.get("X-Shopify-Hmac-Sha256", ""),
            body=request.body,
        )
        return Response(
            {
                "duplicate": outcome.duplicate,
                "ignored": outcome.ignored,
                "created": outcome.created,
                "updated": outcome.updated,
                "skipped": outcome.skipped,
                "errors": outcome.errors,
            }
        )


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("channels", ChannelViewSet, basename="commerce-channel")
router.register("sync-runs", SyncRunViewSet, basename="commerce-syncrun")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "webhooks/shopify/<int:channel_id>/",
        ShopifyWebhookApi.as_view(),
        name="commerce-webhook-shopify",
    ),
    *router.urls,
]
