"""Commerce API: fulfilments, shipments, tracking, and the shortage forecast.

- ``GET /orders/{id}/fulfilments/``: the order's fulfilments; ``POST`` creates the missing
  ones from the order's active allocations (201 with those created; 200 with ``[]`` when none
  were missing).
- ``GET /fulfilments/{id}/``; ``POST /fulfilments/{id}/pick/ | pack/ | ship/ | deliver/ |
  cancel/``; ``GET | POST /fulfilments/{id}/tracking/``.
- ``GET /forecast/``: the shortage forecast (filters ``warehouse``, ``sku``, ``at_risk``;
  ``service_level`` 0.5-0.9999 and ``alpha`` override the defaults).

A transition the fulfilment's state does not allow answers 409, bad input 400 naming the
field (nothing stored), another tenant's order or fulfilment 404.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, URLResolver, re_path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.api.fulfilment_serializers import (
    DeliverSerializer,
    EmptySerializer,
    ForecastQuerySerializer,
    ForecastRowSerializer,
    FulfilmentReasonSerializer,
    FulfilmentSerializer,
    ShipSerializer,
    TrackingCreateSerializer,
    TrackingEventSerializer,
)
from commerce.models import Fulfilment
from commerce.selectors_fulfilment import (
    fulfilment_get,
    fulfilments_of_order,
    fulfilments_visible,
    tracking_events_of,
)
from commerce.services import fulfilment as services
from commerce.services.forecast import forecast_params_default, forecast_rows, tenant_today
from tenancy.api import TenantAPIView
from tenancy.models import Tenant
from tenancy.roles import ALL_ROLES, SALES_ENTRY

ID = "[0-9]{1,18}"


class _FulfilmentApiBase(TenantAPIView):
    queryset = Fulfilment.objects.all_tenants(reason="schema introspection only")
    serializer_class = FulfilmentSerializer
    read_roles = ALL_ROLES
    write_roles = SALES_ENTRY
    pagination_class = None
    filter_backends: list[Any] = []

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Fulfilment]:
        return fulfilments_visible(tenant=tenant)

    def _body(self, fulfilment_id: int) -> dict[str, Any]:
        fulfilment = fulfilment_get(tenant=self.tenant, fulfilment_id=fulfilment_id)
        return dict(FulfilmentSerializer(fulfilment).data)


class OrderFulfilmentsApi(_FulfilmentApiBase):
    @extend_schema(responses=FulfilmentSerializer(many=True))
    def get(self, request: Request, order_id: str) -> Response:
        rows = fulfilments_of_order(tenant=self.tenant, sales_order_id=int(order_id))
        return Response(FulfilmentSerializer(rows, many=True).data)

    @extend_schema(
        request=EmptySerializer,
        responses={
            201: FulfilmentSerializer(many=True),
            200: FulfilmentSerializer(many=True),  # nothing left to fulfil: none created
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        created = services.fulfilments_create_for_order(
            tenant=self.tenant, actor=request.user, sales_order_id=int(order_id)
        )
        ids = [f.pk for f in created]
        rows = fulfilments_visible(tenant=self.tenant).filter(pk__in=ids)
        code = status.HTTP_201_CREATED if ids else status.HTTP_200_OK
        return Response(FulfilmentSerializer(rows, many=True).data, status=code)


class FulfilmentDetailApi(_FulfilmentApiBase):
    def get(self, request: Request, pk: str) -> Response:
        return Response(self._body(int(pk)))


def _step_api(
    name: str, body: type[Any], run: Callable[..., Any], doc: str
) -> type[_FulfilmentApiBase]:
    """A ``POST /fulfilments/{id}/<name>/`` view: validate ``body``, run the service."""

    class StepApi(_FulfilmentApiBase):
        @extend_schema(request=body, responses=FulfilmentSerializer, description=doc)
        def post(self, request: Request, pk: str) -> Response:
            serializer = body(data=request.data or {})
            serializer.is_valid(raise_exception=True)
            fulfilment_get(tenant=self.tenant, fulfilment_id=int(pk))  # 404 before anything
            run(self, request, int(pk), serializer)
            return Response(self._body(int(pk)))

    StepApi.__name__ = StepApi.__qualname__ = f"Fulfilment{name.title()}Api"
    return StepApi


def _pick(view: Any, request: Request, pk: int, body: Any) -> None:
    services.fulfilment_pick(tenant=view.tenant, actor=request.user, fulfilment_id=pk)


def _pack(view: Any, request: Request, pk: int, body: Any) -> None:
    services.fulfilment_pack(tenant=view.tenant, actor=request.user, fulfilment_id=pk)


def _ship(view: Any, request: Request, pk: int, body: ShipSerializer) -> None:
    data = body.validated_data
    services.fulfilment_ship(
        tenant=view.tenant,
        actor=request.user,
        fulfilment_id=pk,
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
        lines=body.ship_lines(),
        shipped_at=data["shipped_at"],
    )


def _deliver(view: Any, request: Request, pk: int, body: DeliverSerializer) -> None:
    services.fulfilment_deliver(
        tenant=view.tenant,
        actor=request.user,
        fulfilment_id=pk,
        delivered_at=body.validated_data["delivered_at"],
    )


def _cancel(view: Any, request: Request, pk: int, body: FulfilmentReasonSerializer) -> None:
    services.fulfilment_cancel(
        tenant=view.tenant,
        actor=request.user,
        fulfilment_id=pk,
        reason=body.validated_data["reason"],
    )


FulfilmentPickApi = _step_api("pick", EmptySerializer, _pick, "pending -> picking.")
FulfilmentPackApi = _step_api("pack", EmptySerializer, _pack, "picking -> packed.")
FulfilmentShipApi = _step_api(
    "ship",
    ShipSerializer,
    _ship,
    "Ship: carrier (required), tracking_number, lines [{line, quantity}] (omit: all in full). "
    "Stock and allocations are settled; a short shipment releases the unshipped rest.",
)
FulfilmentDeliverApi = _step_api("deliver", DeliverSerializer, _deliver, "shipped -> delivered.")
FulfilmentCancelApi = _step_api(
    "cancel", FulfilmentReasonSerializer, _cancel, "Cancel before shipping; the stock is released."
)


class FulfilmentTrackingApi(_FulfilmentApiBase):
    @extend_schema(responses=TrackingEventSerializer(many=True))
    def get(self, request: Request, pk: str) -> Response:
        events = tracking_events_of(tenant=self.tenant, fulfilment_id=int(pk))
        return Response(TrackingEventSerializer(events, many=True).data)

    @extend_schema(
        request=TrackingCreateSerializer,
        responses={201: TrackingEventSerializer, 200: TrackingEventSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        """Record a carrier scan (201; the same code and time again: 200, recorded once)."""
        body = TrackingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fulfilment_get(tenant=self.tenant, fulfilment_id=int(pk))
        recorded = services.tracking_event_record(
            tenant=self.tenant, actor=request.user, fulfilment_id=int(pk), **body.validated_data
        )
        code = status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK
        return Response(TrackingEventSerializer(recorded.event).data, status=code)


def _plain(value: Decimal) -> str:
    """A parameter as given, without trailing zeros: 0.9900 -> "0.99"."""
    return format(value.normalize(), "f")


class ForecastApi(TenantAPIView):
    """The shortage forecast per product and warehouse (see ``commerce.services.forecast``):
    at-risk rows first, then by predicted stock-out date."""

    queryset = Fulfilment.objects.all_tenants(reason="schema introspection only")
    read_roles = ALL_ROLES
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(parameters=[ForecastQuerySerializer], responses=ForecastRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = ForecastQuerySerializer(
            data=request.query_params.dict(), context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        q = query.validated_data
        params = forecast_params_default()
        today = tenant_today(self.tenant)
        rows = forecast_rows(
            tenant=self.tenant,
            today=today,
            params=params,
            warehouse=q.get("warehouse"),
            product=q.get("sku"),
            at_risk_only=q["at_risk"] == "true",
            service_level=q["service_level"],
            alpha=q["alpha"],
        )
        page = rows[q["offset"] : q["offset"] + q["limit"]]
        return Response(
            {
                "today": today,
                "service_level": _plain(q["service_level"] or params.service_level),
                "alpha": _plain(q["alpha"] or params.alpha),
                "history_days": params.history_days,
                "count": len(rows),
                "results": ForecastRowSerializer([r.as_dict() for r in page], many=True).data,
            }
        )


urlpatterns: list[URLPattern | URLResolver] = [
    re_path(
        rf"^orders/(?P<order_id>{ID})/fulfilments/$",
        OrderFulfilmentsApi.as_view(),
        name="commerce-order-fulfilments",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/$", FulfilmentDetailApi.as_view(), name="commerce-fulfilment"
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/pick/$",
        FulfilmentPickApi.as_view(),
        name="commerce-fulfilment-pick",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/pack/$",
        FulfilmentPackApi.as_view(),
        name="commerce-fulfilment-pack",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/ship/$",
        FulfilmentShipApi.as_view(),
        name="commerce-fulfilment-ship",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/deliver/$",
        FulfilmentDeliverApi.as_view(),
        name="commerce-fulfilment-deliver",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/cancel/$",
        FulfilmentCancelApi.as_view(),
        name="commerce-fulfilment-cancel",
    ),
    re_path(
        rf"^fulfilments/(?P<pk>{ID})/tracking/$",
        FulfilmentTrackingApi.as_view(),
        name="commerce-fulfilment-tracking",
    ),
    re_path(r"^forecast/$", ForecastApi.as_view(), name="commerce-forecast"),
]
