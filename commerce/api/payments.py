"""Commerce money API: payments, refunds, returns (+ exchanges), invoices (+ PDF), FX rates and
the sales report (included by commerce/urls.py at /api/v1/commerce/).

Routes:
  GET/POST /orders/{id}/payments/          list / authorize (idempotent by ``idempotency_key``)
  GET      /payments/, /payments/{id}/
  POST     /payments/{id}/capture/ | void/ | refund/
  GET/POST /orders/{id}/refunds/           list / refund goods, shipping, an adjustment
  GET      /refunds/, /refunds/{id}/
  GET/POST /orders/{id}/returns/           list / open an RMA
  GET      /returns/, /returns/{id}/
  POST     /returns/{id}/approve|decline|receive|restock|reject|exchange/
  GET      /invoices/, /invoices/{id}/, /invoices/{id}/pdf/ (application/pdf)
  CRUD     /fx-rates/ (PATCH changes the rate only)
  GET      /reports/sales/?date_from=&date_to=&channel=

Roles: every member reads; money and returns are moved by ``SALES_ENTRY`` (admin, seller,
operations); FX rates are maintained by ``REFERENCE_DATA`` (admin, operations). Another
tenant's order, payment, return or invoice answers 404 exactly like a missing one. A money
operation answers 201 with the operation and the payment after it; a replay of the same
idempotency key and values answers the stored operation (the same body).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from commerce import selectors_money as selectors
from commerce.api.money_serializers import (
    AuthorizeSerializer,
    CaptureSerializer,
    ExchangeSerializer,
    FxRateSerializer,
    FxRateUpdateSerializer,
    InvoiceSerializer,
    PaymentRefundSerializer,
    PaymentResultSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    ReturnCreateSerializer,
    ReturnSerializer,
    ReturnTransitionSerializer,
    SalesReportQuerySerializer,
    VoidSerializer,
)
from commerce.models import FxRate, Invoice, InvoiceKind, Payment, Refund, Return
from commerce.services import fx_rates
from commerce.services import invoices as invoice_services
from commerce.services import payments as payment_services
from commerce.services.exchanges import ReplacementInput, return_exchange_create
from commerce.services.refunds import RefundLineInput, refund_create
from commerce.services.returns import ReturnLineInput, return_create, return_transition
from tenancy.api import TenantAPIView, TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import ALL_ROLES, REFERENCE_DATA, SALES_ENTRY

RETURN_TRANSITIONS = ("approve", "decline", "receive", "restock", "reject")


def _result(operation: Any) -> Response:
    payment = Payment.objects.for_tenant(operation.tenant_id).get(pk=operation.payment_id)
    body = PaymentResultSerializer({"operation": operation, "payment": payment}).data
    return Response(body, status=status.HTTP_201_CREATED)


# --- order-level collections ----------------------------------------------------------------


class OrderPaymentsApi(TenantAPIView):
    """GET: the order's payments with their operations. POST: authorize a new payment."""

    pagination_class = None  # the order's rows, one plain list
    read_roles = ALL_ROLES
    write_roles = SALES_ENTRY
    serializer_class = AuthorizeSerializer
    queryset = Payment.objects.all_tenants(reason="schema introspection only")

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Payment]:
        return selectors.payments_visible(tenant=tenant).prefetch_related("operations")

    @extend_schema(responses=PaymentSerializer(many=True))
    def get(self, request: Request, order_id: str) -> Response:
        sales = selectors.sales_order_get(tenant=self.tenant, sales_order_id=int(order_id))
        payments = self.get_queryset().filter(sales_order=sales).order_by("pk")
        return Response(PaymentSerializer(payments, many=True).data)

    @extend_schema(request=AuthorizeSerializer, responses={201: PaymentResultSerializer})
    def post(self, request: Request, order_id: str) -> Response:
        serializer = AuthorizeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation = payment_services.payment_authorize(
            tenant=self.tenant,
            actor=request.user,
            sales_order_id=int(order_id),
            **serializer.validated_data,
        )
        return _result(operation)


class OrderRefundsApi(TenantAPIView):
    """GET: the order's refunds. POST: refund lines, shipping and/or an adjustment."""

    pagination_class = None  # the order's rows, one plain list
    read_roles = ALL_ROLES
    write_roles = SALES_ENTRY
    serializer_class = RefundCreateSerializer
    queryset = Refund.objects.all_tenants(reason="schema introspection only")

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Refund]:
        return selectors.refunds_visible(tenant=tenant)

    @extend_schema(responses=RefundSerializer(many=True))
    def get(self, request: Request, order_id: str) -> Response:
        sales = selectors.sales_order_get(tenant=self.tenant, sales_order_id=int(order_id))
        refunds = self.get_queryset().filter(sales_order=sales).order_by("pk")
        return Response(RefundSerializer(refunds, many=True).data)

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    def post(self, request: Request, order_id: str) -> Response:
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        refund = refund_create(
            tenant=self.tenant,
            actor=request.user,
            sales_order_id=int(order_id),
            idempotency_key=data["idempotency_key"],
            lines=[
                RefundLineInput(item["line"], item["quantity"], item["restock"])
                for item in data["lines"]
            ],
            shipping=data["shipping"],
            adjustment=data["adjustment"],
            payment_id=data["payment"],
            return_id=data["return"],
            reason=data["reason"],
            currency=data.get("currency"),
        )
        refund = selectors.refunds_visible(tenant=self.tenant).get(pk=refund.pk)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class OrderReturnsApi(TenantAPIView):
    """GET: the order's returns. POST: open an RMA for shipped units."""

    pagination_class = None  # the order's rows, one plain list
    read_roles = ALL_ROLES
    write_roles = SALES_ENTRY
    serializer_class = ReturnCreateSerializer
    queryset = Return.objects.all_tenants(reason="schema introspection only")

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Return]:
        return selectors.returns_visible(tenant=tenant)

    @extend_schema(responses=ReturnSerializer(many=True))
    def get(self, request: Request, order_id: str) -> Response:
        sales = selectors.sales_order_get(tenant=self.tenant, sales_order_id=int(order_id))
        returns = self.get_queryset().filter(sales_order=sales).order_by("pk")
        return Response(ReturnSerializer(returns, many=True).data)

    @extend_schema(request=ReturnCreateSerializer, responses={201: ReturnSerializer})
    def post(self, request: Request, order_id: str) -> Response:
        serializer = ReturnCreateSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ret = return_create(
            tenant=self.tenant,
            actor=request.user,
            sales_order_id=int(order_id),
            lines=[
                ReturnLineInput(item["line"], item["quantity"], item["restock"])
                for item in data["lines"]
            ],
            reason=data["reason"],
            warehouse_id=data["warehouse"].pk if data["warehouse"] else None,
        )
        ret = selectors.returns_visible(tenant=self.tenant).get(pk=ret.pk)
        return Response(ReturnSerializer(ret).data, status=status.HTTP_201_CREATED)


# --- payments, refunds, returns by id -------------------------------------------------------


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = Payment.objects.all_tenants(reason="schema introspection only")
    serializer_class = PaymentSerializer
    action_roles = {"capture": SALES_ENTRY, "void": SALES_ENTRY, "refund": SALES_ENTRY}

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Payment]:
        return selectors.payments_visible(tenant=tenant).prefetch_related("operations")

    @extend_schema(request=CaptureSerializer, responses={201: PaymentResultSerializer})
    @action(detail=True, methods=["post"])
    def capture(self, request: Request, pk: str) -> Response:
        serializer = CaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation = payment_services.payment_capture(
            tenant=self.tenant, actor=request.user, payment_id=int(pk), **serializer.validated_data
        )
        return _result(operation)

    @extend_schema(request=VoidSerializer, responses={201: PaymentResultSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str) -> Response:
        serializer = VoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation = payment_services.payment_void(
            tenant=self.tenant, actor=request.user, payment_id=int(pk), **serializer.validated_data
        )
        return _result(operation)

    @extend_schema(request=PaymentRefundSerializer, responses={201: PaymentResultSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str) -> Response:
        serializer = PaymentRefundSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation = payment_services.payment_refund(
            tenant=self.tenant, actor=request.user, payment_id=int(pk), **serializer.validated_data
        )
        return _result(operation)


class RefundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = Refund.objects.all_tenants(reason="schema introspection only")
    serializer_class = RefundSerializer

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Refund]:
        return selectors.refunds_visible(tenant=tenant)


class ReturnFilter(django_filters.FilterSet):
    state = django_filters.CharFilter(field_name="state", max_length=20)
    order = django_filters.NumberFilter(field_name="sales_order_id")

    class Meta:
        model = Return
        fields = ("state", "order")


class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The returns desk: list (filter by ``state``, ``order``), detail, transitions, exchange."""

    queryset = Return.objects.all_tenants(reason="schema introspection only")
    serializer_class = ReturnSerializer
    filterset_class = ReturnFilter
    action_roles = dict.fromkeys((*RETURN_TRANSITIONS, "exchange"), SALES_ENTRY)

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Return]:
        return selectors.returns_visible(tenant=tenant)

    def _transition(self, request: Request, pk: str, name: str) -> Response:
        serializer = ReturnTransitionSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        warehouse = serializer.validated_data["warehouse"]
        ret = return_transition(
            tenant=self.tenant,
            actor=request.user,
            return_id=int(pk),
            transition=name,
            note=serializer.validated_data["note"],
            warehouse_id=warehouse.pk if warehouse else None,
        )
        return Response(ReturnSerializer(self.get_queryset().get(pk=ret.pk)).data)

    @extend_schema(request=ReturnTransitionSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, "approve")

    @extend_schema(request=ReturnTransitionSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def decline(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, "decline")

    @extend_schema(request=ReturnTransitionSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def receive(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, "receive")

    @extend_schema(request=ReturnTransitionSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def restock(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, "restock")

    @extend_schema(request=ReturnTransitionSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, "reject")

    @extend_schema(request=ExchangeSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def exchange(self, request: Request, pk: str) -> Response:
        serializer = ExchangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return_exchange_create(
            tenant=self.tenant,
            actor=request.user,
            return_id=int(pk),
            replacements=[
                ReplacementInput(item["line"], item["quantity"], item["sku"])
                for item in serializer.validated_data["replacements"]
            ],
        )
        ret = self.get_queryset().get(pk=pk)
        return Response(ReturnSerializer(ret).data, status=status.HTTP_201_CREATED)


# --- invoices -------------------------------------------------------------------------------


class InvoiceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)
    order = django_filters.NumberFilter(field_name="sales_order_id")
    year = django_filters.NumberFilter(field_name="year")

    class Meta:
        model = Invoice
        fields = ("kind", "order", "year")


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Invoices and credit notes; ``pdf/`` downloads the document."""

    queryset = Invoice.objects.all_tenants(reason="schema introspection only")
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Invoice]:
        return selectors.invoices_visible(tenant=tenant)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"], filterset_class=None)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        invoice, document = invoice_services.invoice_pdf(tenant=self.tenant, invoice_id=int(pk))
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


# --- FX rates and reports -------------------------------------------------------------------


class FxRateFilter(django_filters.FilterSet):
    from_currency = django_filters.CharFilter(max_length=3)
    to_currency = django_filters.CharFilter(max_length=3)
    date = django_filters.DateFilter()

    class Meta:
        model = FxRate
        fields = ("from_currency", "to_currency", "date")


class FxRateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    """FX rates (``1 from = rate to`` on ``date``). PATCH changes the rate; PUT is not offered."""

    queryset = FxRate.objects.all_tenants(reason="schema introspection only")
    serializer_class = FxRateSerializer
    filterset_class = FxRateFilter
    write_roles = REFERENCE_DATA
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[FxRate]:
        return selectors.fx_rates_visible(tenant=tenant)

    def create(self, request: Request) -> Response:
        serializer = FxRateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = fx_rates.fx_rate_create(
            tenant=self.tenant, actor=request.user, **serializer.validated_data
        )
        return Response(FxRateSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FxRateUpdateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        serializer = FxRateUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = fx_rates.fx_rate_update(
            tenant=self.tenant,
            actor=request.user,
            fx_rate_id=instance.pk,
            rate=serializer.validated_data["rate"],
        )
        return Response(FxRateSerializer(row).data)

    def destroy(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        fx_rates.fx_rate_delete(tenant=self.tenant, actor=request.user, fx_rate_id=instance.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SalesReportApi(TenantAPIView):
    """Sums per channel and order currency, and totals in the tenant's base currency
    (``commerce.selectors_money.sales_report``)."""

    read_roles = ALL_ROLES
    queryset = FxRate.objects.all_tenants(reason="schema introspection only")
    serializer_class = SalesReportQuerySerializer

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.fx_rates_visible(tenant=tenant)

    @extend_schema(parameters=[SalesReportQuerySerializer], responses=dict)
    def get(self, request: Request) -> Response:
        query = SalesReportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        report = selectors.sales_report(
            tenant=self.tenant,
            date_from=query.validated_data["date_from"],
            date_to=query.validated_data["date_to"],
            channel=query.validated_data["channel"] or None,
        )
        return Response(report.as_dict())


router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="commerce-payment")
router.register("refunds", RefundViewSet, basename="commerce-refund")
router.register("returns", ReturnViewSet, basename="commerce-return")
router.register("invoices", InvoiceViewSet, basename="commerce-invoice")
router.register("fx-rates", FxRateViewSet, basename="commerce-fx-rate")

ORDER = r"^orders/(?P<order_id>[0-9]{1,18})"
urlpatterns = [
    re_path(rf"{ORDER}/payments/$", OrderPaymentsApi.as_view(), name="commerce-order-payments"),
    re_path(rf"{ORDER}/refunds/$", OrderRefundsApi.as_view(), name="commerce-order-refunds"),
    re_path(rf"{ORDER}/returns/$", OrderReturnsApi.as_view(), name="commerce-order-returns"),
    path("reports/sales/", SalesReportApi.as_view(), name="commerce-sales-report"),
    path("", include(router.urls)),
]
