from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from oms_site.api.pagination import CreatedCursorPagination
from oms_site.errors import ValidationFailed
from orders import selectors, services
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    OrderCreateSerializer,
    OrderEventSerializer,
    OrderSerializer,
    TransitionRequestSerializer,
)
from orders.kinds import kind_policy
from orders.models import Order, OrderEvent
from tenancy.api import TENANT_HEADER, TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import ALL_ROLES, SALES_ENTRY, TRADE_ENTRY

TENANT_PARAM = OpenApiParameter(
    TENANT_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Tenant slug; required when the caller belongs to several tenants.",
)


class EventCursorPagination(CreatedCursorPagination):
    """Oldest first; a bad cursor or page size is a 400 like on the order list."""

    ordering = ("created_at", "id")
    page_size = 100


@extend_schema(parameters=[TENANT_PARAM])
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Every kind of order of the caller's tenant.

    Roles: every member reads; order entry roles create (trade: admin, trader, portfolio
    manager; sales: admin, seller, operations); transitions check the role per transition.
    """

    queryset = Order.objects.all_tenants(reason="schema introspection only")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    # Coarse gate here; the per-kind and per-transition role checks live in the services.
    action_roles = {
        "create": TRADE_ENTRY | SALES_ENTRY,
        "submit": ALL_ROLES,
        "approve": ALL_ROLES,
        "reject": ALL_ROLES,
        "cancel": ALL_ROLES,
    }

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Order]:
        return selectors.orders_visible(tenant=tenant)

    @extend_schema(
        request=OrderCreateSerializer, responses={200: OrderSerializer, 201: OrderSerializer}
    )
    def create(self, request: Request) -> Response:
        """Create (and by default submit) an order; idempotent by ``client_order_id``."""
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if not kind_policy(data["kind"]).generic_entry:
            raise ValidationFailed(
                errors={"kind": [f"Enter {data['kind']} orders through their own endpoint."]}
            )
        result = services.order_create(
            tenant=self.tenant,
            actor=request.user,
            kind=data["kind"],
            client_order_id=data["client_order_id"],
            payload=data,
            note=data["note"],
            expires_at=data["expires_at"],
            submit=data["submit"],
        )
        body = OrderSerializer(result.order, context=self.get_serializer_context()).data
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )

    @extend_schema(responses=OrderEventSerializer(many=True))
    @action(
        detail=True, methods=["get"], pagination_class=EventCursorPagination, filterset_class=None
    )
    def events(self, request: Request, pk: str) -> Response:
        """The order's journal, oldest first."""
        events: QuerySet[OrderEvent] = selectors.order_events(tenant=self.tenant, order_id=int(pk))
        page = self.paginate_queryset(events)
        serializer = OrderEventSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def _transition(self, request: Request, pk: str, name: str) -> Response:
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_transition(
            tenant=self.tenant,
            order_id=int(pk),
            transition=name,
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(OrderSerializer(order, context=self.get_serializer_context()).data)

    @extend_schema(request=TransitionRequestSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def submit(self, request: Request, pk: str) -> Response:
        """draft -> pending, then screening routes it to open, held or rejected."""
        return self._transition(request, pk, "submit")

    @extend_schema(request=TransitionRequestSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request: Request, pk: str) -> Response:
        """held -> open (compliance officer or admin)."""
        return self._transition(request, pk, "approve")

    @extend_schema(request=TransitionRequestSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request: Request, pk: str) -> Response:
        """held -> rejected (compliance officer or admin)."""
        return self._transition(request, pk, "reject")

    @extend_schema(request=TransitionRequestSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a live order."""
        return self._transition(request, pk, "cancel")

    def get_serializer_class(self) -> Any:
        return OrderSerializer
