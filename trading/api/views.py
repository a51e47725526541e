"""Trading reference API: instruments, accounts, venues (read, create, PATCH) and positions
(read-only).

Roles: every member of the tenant reads; ``admin`` and ``operations`` create and change
(``tenancy.roles.REFERENCE_DATA``). Nothing is deleted: PATCH ``{"active": false}`` deactivates.
PUT is not offered (PATCH changes exactly the fields sent). Another tenant's object answers 404
exactly like a missing one. Instruments, accounts and positions are addressed by id; venues by
their code (``/venues/XNYS/``), which is fixed once created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.views import TENANT_PARAM
from tenancy.api import TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import REFERENCE_DATA
from trading import selectors
from trading.api.filters import AccountFilter, InstrumentFilter, PositionFilter, VenueFilter
from trading.api.pagination import CodePagination, IdPagination, SymbolPagination
from trading.api.serializers import (
    AccountSerializer,
    InstrumentSerializer,
    PositionSerializer,
    VenueSerializer,
)
from trading.models import Account, Instrument, Position, Venue
from trading.services import reference as services


class ReferenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """List, retrieve, create and PATCH through the reference services."""

    write_roles = REFERENCE_DATA
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_service: Callable[..., Model]
    update_service: Callable[..., Model]
    id_argument: str

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        create = type(self).create_service
        obj = create(tenant=self.tenant, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        update = type(self).update_service
        obj = update(
            tenant=self.tenant,
            actor=request.user,
            **{self.id_argument: instance.pk},
            **serializer.validated_data,
        )
        return Response(self.get_serializer(obj).data)


@extend_schema(parameters=[TENANT_PARAM])
class InstrumentViewSet(ReferenceViewSet):
    """Instruments of the caller's tenant, by symbol. Symbols are unique per tenant."""

    queryset = Instrument.objects.all_tenants(reason="schema introspection only")
    serializer_class = InstrumentSerializer
    filterset_class = InstrumentFilter
    pagination_class = SymbolPagination
    create_service = services.instrument_create
    update_service = services.instrument_update
    id_argument = "instrument_id"

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Instrument]:
        return selectors.instruments_visible(tenant=tenant)


@extend_schema(parameters=[TENANT_PARAM])
class AccountViewSet(ReferenceViewSet):
    """Accounts of the caller's tenant, by code, with their cash per currency (read-only)."""

    queryset = Account.objects.all_tenants(reason="schema introspection only")
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    pagination_class = CodePagination
    create_service = services.account_create
    update_service = services.account_update
    id_argument = "account_id"

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Account]:
        return selectors.accounts_visible(tenant=tenant)


VENUE_CODE = OpenApiParameter(
    "code", location=OpenApiParameter.PATH, type=str, description="The venue code, e.g. XNYS."
)


@extend_schema(parameters=[TENANT_PARAM])
class VenueViewSet(ReferenceViewSet):
    """Venues of the caller's tenant, addressed by code. Every venue here is simulated."""

    queryset = Venue.objects.all_tenants(reason="schema introspection only")
    serializer_class = VenueSerializer
    filterset_class = VenueFilter
    pagination_class = CodePagination
    lookup_field = "code"
    lookup_value_regex = "[A-Z0-9][A-Z0-9_-]{0,15}"
    create_service = services.venue_create
    update_service = services.venue_update
    id_argument = "venue_id"

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Venue]:
        return selectors.venues_visible(tenant=tenant)

    @extend_schema(parameters=[VENUE_CODE])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(parameters=[VENUE_CODE])
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return super().partial_update(request, **kwargs)


@extend_schema(parameters=[TENANT_PARAM])
class PositionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Positions of the caller's tenant with realized and unrealized P&L (read-only).

    Unrealized P&L is marked at the last price of the instrument (its most recently updated
    quote with a last price, on any venue); null when there is none.
    """

    queryset = Position.objects.all_tenants(reason="schema introspection only")
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    pagination_class = IdPagination
    http_method_names = ["get", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Position]:
        return selectors.positions_visible(tenant=tenant)
