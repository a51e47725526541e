"""Commerce API, core routes: catalogue, customers, warehouses, stock, reservations, sales
orders, allocation moves.

- ``/products/``, ``/customers/`` (+ ``POST /customers/{id}/addresses/``), ``/warehouses/``:
  list, retrieve, create, PATCH. Nothing is deleted: PATCH ``{"active": false}``.
- ``/stock/`` (list, retrieve; filters ``warehouse``, ``product``, ``sku``);
  ``POST /stock/receive/`` ``{warehouse, product, quantity}``; ``POST /stock/adjust/``
  ``{warehouse, product, on_hand}`` (a stock take).
- ``/reservations/``: create ``{warehouse, product, quantity, expires_at, reference?,
  sales_order?}``; ``POST /reservations/{id}/release/``.
- ``/orders/``: create with lines (201; a replay of the same channel + external id answers
  200 with the stored order), list (filters ``status``, ``channel``, ``fulfilment_status``,
  ``payment_status``, ``allocation_state``), detail with lines, allocations, shipments,
  payments and returns; ``POST /orders/{id}/cancel/`` ``{reason?}``.
- ``POST /allocations/{id}/move/`` ``{warehouse, quantity?, reason?}``.

Roles: every member reads. Sales entry roles (admin, seller, operations) write orders,
customers, products and reservations; warehouses and stock are changed by admin and
operations. Bad input: 400 naming the field, nothing stored; an unknown key is a 400 naming
it (only the documented keys reach a service: a body key never collides with the service's
own arguments such as ``tenant`` or ``product_id``). Text holding a NUL or a lone surrogate is
bad input like any other. Another tenant's object: 404 exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import include, path
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from commerce import selectors
from commerce.api.serializers_core import (
    AddressSerializer,
    AllocationMoveInputSerializer,
    CustomerSerializer,
    ProductSerializer,
    ReservationSerializer,
    SalesOrderCreateInputSerializer,
    SalesOrderDetailSerializer,
    SalesOrderSerializer,
    StockSerializer,
    WarehouseSerializer,
)
from commerce.models import (
    Address,
    Channel,
    Customer,
    FulfilmentStatus,
    PaymentStatus,
    Product,
    Reservation,
    SalesOrder,
    Stock,
    Warehouse,
)
from commerce.models.sales import AllocationState
from commerce.services import allocation_moves as allocation_services
from commerce.services import catalog, entry, inputs, stock
from commerce.services.channels import CHANNEL_CODE_MAX
from oms_site.api.pagination import CreatedCursorPagination
from oms_site.errors import ValidationFailed
from orders.models import OrderStatus
from orders.services import order_transition
from tenancy.api import TenantViewSet
from tenancy.models import Tenant
from tenancy.roles import REFERENCE_DATA, SALES_ENTRY

ORDER_KEYS = {
    "channel",
    "external_id",
    "currency",
    "customer",
    "shipping_address",
    "shipping_address_id",
    "lines",
    "shipping_total",
    "billing_country",
    "ip_address",
    "ip_country",
    "placed_at",
    "exchange_of",
    "note",
}


def body(request: Request, allowed: set[str] | None = None) -> dict[str, Any]:
    """The JSON object sent; a list or scalar body, or a key not in ``allowed``, is a 400."""
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed(errors={"non_field_errors": ["Send a JSON object."]})
    if allowed is not None:
        unknown = sorted(key for key in data if key not in allowed)
        if unknown:
            raise ValidationFailed(errors={key: ["Unknown field."] for key in unknown})
    return dict(data)


def id_of(value: Any, *, field: str, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**18:
        raise ValidationFailed(errors={field: ["A valid id (integer) is required."]})
    return value


def _object(model: Any, tenant: Tenant, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.for_tenant(tenant).filter(pk=pk).first()
    if obj is None:
        raise ValidationFailed(errors={field: ["Not found."]})
    return obj


class _CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_roles = SALES_ENTRY

    def created(self, obj: Any) -> Response:
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="sku")
    active = django_filters.BooleanFilter(field_name="active")

    class Meta:
        model = Product
        fields = ["sku", "active"]


class ProductViewSet(_CatalogViewSet):
    queryset = Product.objects.all_tenants(reason="schema introspection only")
    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.products_visible(tenant=tenant)

    def create(self, request: Request) -> Response:
        data = body(request, catalog.PRODUCT_KEYS)
        product = catalog.product_create(tenant=self.tenant, actor=request.user, **data)
        return self.created(selectors.products_visible(tenant=self.tenant).get(pk=product.pk))

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        data = body(request, catalog.PRODUCT_KEYS)
        product = self.get_object()
        catalog.product_update(
            tenant=self.tenant, actor=request.user, product_id=product.pk, **data
        )
        return Response(self.get_serializer(self.get_object()).data)


class CustomerViewSet(_CatalogViewSet):
    queryset = Customer.objects.all_tenants(reason="schema introspection only")
    serializer_class = CustomerSerializer

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.customers_visible(tenant=tenant)

    def create(self, request: Request) -> Response:
        data = body(request, {*catalog.CUSTOMER_KEYS, "addresses"})
        customer = catalog.customer_create(tenant=self.tenant, actor=request.user, **data)
        return self.created(selectors.customers_visible(tenant=self.tenant).get(pk=customer.pk))

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        data = body(request, catalog.CUSTOMER_KEYS)
        customer = self.get_object()
        catalog.customer_update(
            tenant=self.tenant, actor=request.user, customer_id=customer.pk, **data
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=AddressSerializer, responses=AddressSerializer)
    @action(detail=True, methods=["post"], serializer_class=AddressSerializer)
    def addresses(self, request: Request, pk: str) -> Response:
        data = body(request, inputs.ADDRESS_KEYS)
        customer = self.get_object()
        address: Address = catalog.address_create(
            tenant=self.tenant, actor=request.user, customer_id=customer.pk, **data
        )
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)


class WarehouseViewSet(_CatalogViewSet):
    queryset = Warehouse.objects.all_tenants(reason="schema introspection only")
    serializer_class = WarehouseSerializer
    write_roles = REFERENCE_DATA

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.warehouses_visible(tenant=tenant)

    def create(self, request: Request) -> Response:
        data = body(request, catalog.WAREHOUSE_KEYS)
        warehouse = catalog.warehouse_create(tenant=self.tenant, actor=request.user, **data)
        return self.created(warehouse)

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        data = body(request, catalog.WAREHOUSE_KEYS)
        warehouse = self.get_object()
        updated = catalog.warehouse_update(
            tenant=self.tenant, actor=request.user, warehouse_id=warehouse.pk, **data
        )
        return Response(self.get_serializer(updated).data)


class StockFilter(django_filters.FilterSet):
    warehouse = django_filters.NumberFilter(field_name="warehouse_id")
    product = django_filters.NumberFilter(field_name="product_id")
    sku = django_filters.CharFilter(field_name="product__sku")

    class Meta:
        model = Stock
        fields = ["warehouse", "product", "sku"]


class StockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = Stock.objects.all_tenants(reason="schema introspection only")
    serializer_class = StockSerializer
    filterset_class = StockFilter
    write_roles = REFERENCE_DATA
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.stock_visible(tenant=tenant)

    def _change(self, request: Request, service: Any, amount: str) -> Response:
        data = body(request, {"warehouse", "product", amount})
        row = service(
            tenant=self.tenant,
            actor=request.user,
            warehouse_id=id_of(data.get("warehouse"), field="warehouse"),
            product_id=id_of(data.get("product"), field="product"),
            **{amount: data.get(amount)},
        )
        return Response(
            self.get_serializer(selectors.stock_visible(tenant=self.tenant).get(pk=row.pk)).data
        )

    @action(detail=False, methods=["post"])
    def receive(self, request: Request) -> Response:
        return self._change(request, stock.stock_receive, "quantity")

    @action(detail=False, methods=["post"])
    def adjust(self, request: Request) -> Response:
        return self._change(request, stock.stock_adjust, "on_hand")


def _datetime(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed, but no such date or time (month 13)
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(errors={field: ["An ISO 8601 date and time with an offset."]})
    return parsed


def _channel(tenant: Tenant, value: Any) -> Channel:
    """The tenant's channel of this code; a value no code can be is refused before the query."""
    errors = inputs.Errors()
    code = inputs.text_of(value, field="channel", errors=errors, max_length=CHANNEL_CODE_MAX)
    errors.raise_if_any()
    channel = Channel.objects.for_tenant(tenant).filter(code=code).first()
    if channel is None:
        raise ValidationFailed(errors={"channel": [f"No channel {code!r}."]})
    return channel


def _shipping(tenant: Tenant, data: dict[str, Any]) -> Any:
    """The address given inline, or the customer's address named by ``shipping_address_id``."""
    address_id = id_of(data.get("shipping_address_id"), field="shipping_address_id", required=False)
    if address_id is None:
        return data.get("shipping_address")
    if data.get("shipping_address") is not None:
        raise ValidationFailed(
            errors={"shipping_address_id": ["Give shipping_address or its id, not both."]}
        )
    return _object(Address, tenant, address_id, "shipping_address_id")


class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = Reservation.objects.all_tenants(reason="schema introspection only")
    serializer_class = ReservationSerializer
    write_roles = SALES_ENTRY
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.reservations_visible(tenant=tenant)

    def create(self, request: Request) -> Response:
        data = body(
            request,
            {"warehouse", "product", "quantity", "expires_at", "reference", "sales_order"},
        )
        expires_at = _datetime(data.get("expires_at"), "expires_at")
        if expires_at is None:
            raise ValidationFailed(errors={"expires_at": ["This field is required."]})
        reservation = stock.reservation_create(
            tenant=self.tenant,
            actor=request.user,
            warehouse_id=id_of(data.get("warehouse"), field="warehouse"),
            product_id=id_of(data.get("product"), field="product"),
            quantity=data.get("quantity"),
            expires_at=expires_at,
            reference=data.get("reference", ""),
            sales_order_id=id_of(data.get("sales_order"), field="sales_order", required=False),
        )
        return Response(self.get_serializer(reservation).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str) -> Response:
        reservation = stock.reservation_release(
            tenant=self.tenant, actor=request.user, reservation_id=self.get_object().pk
        )
        return Response(self.get_serializer(reservation).data)


class SalesOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="order__status", choices=OrderStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    fulfilment_status = django_filters.ChoiceFilter(choices=FulfilmentStatus.choices)
    payment_status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    allocation_state = django_filters.ChoiceFilter(choices=AllocationState.choices)
    external_id = django_filters.CharFilter(field_name="external_id")

    class Meta:
        model = SalesOrder
        fields = [
            "status",
            "channel",
            "fulfilment_status",
            "payment_status",
            "allocation_state",
            "external_id",
        ]


class SalesOrderPagination(CreatedCursorPagination):
    ordering = ("-created_at", "-order_id")  # a sales order's pk is its order's id


class SalesOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    pagination_class = SalesOrderPagination
    queryset = SalesOrder.objects.all_tenants(reason="schema introspection only")
    serializer_class = SalesOrderSerializer
    filterset_class = SalesOrderFilter
    write_roles = SALES_ENTRY
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.sales_orders_visible(tenant=tenant)

    def retrieve(self, request: Request, pk: str) -> Response:
        detail = selectors.sales_order_detail(tenant=self.tenant, order_id=int(pk))
        return Response(SalesOrderDetailSerializer(detail).data)

    @extend_schema(
        request=SalesOrderCreateInputSerializer,
        responses={201: SalesOrderDetailSerializer, 200: SalesOrderDetailSerializer},
    )
    def create(self, request: Request) -> Response:
        data = body(request, ORDER_KEYS)
        tenant = self.tenant
        customer = _object(
            Customer,
            tenant,
            id_of(data.get("customer"), field="customer", required=False),
            "customer",
        )
        exchange_of = _object(
            SalesOrder,
            tenant,
            id_of(data.get("exchange_of"), field="exchange_of", required=False),
            "exchange_of",
        )
        created = entry.sales_order_create(
            tenant=tenant,
            actor=request.user,
            channel=_channel(tenant, data.get("channel")),
            external_id=data.get("external_id"),  # type: ignore[arg-type]
            currency=data.get("currency"),  # type: ignore[arg-type]
            lines=data.get("lines"),  # type: ignore[arg-type]
            customer=customer,
            shipping_address=_shipping(tenant, data),
            shipping_total=data.get("shipping_total", "0"),
            billing_country=data.get("billing_country") or "",
            ip_address=data.get("ip_address"),
            ip_country=data.get("ip_country") or "",
            placed_at=_datetime(data.get("placed_at"), "placed_at"),
            exchange_of=exchange_of,
            note=data.get("note", ""),
        )
        detail = selectors.sales_order_detail(tenant=tenant, order_id=created.order.pk)
        code = status.HTTP_201_CREATED if created.created else status.HTTP_200_OK
        return Response(SalesOrderDetailSerializer(detail).data, status=code)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        data = body(request, {"reason"})
        errors = inputs.Errors()
        reason = inputs.text_of(
            data.get("reason"), field="reason", errors=errors, max_length=500, required=False
        )
        errors.raise_if_any()
        order = self.get_object()
        order_transition(
            tenant=self.tenant,
            order_id=order.pk,
            transition="cancel",
            actor=request.user,
            reason=reason,
        )
        detail = selectors.sales_order_detail(tenant=self.tenant, order_id=order.pk)
        return Response(SalesOrderDetailSerializer(detail).data)


class AllocationViewSet(TenantViewSet):
    """``POST /allocations/{id}/move/``: staff move goods to another warehouse."""

    queryset = SalesOrder.objects.all_tenants(reason="schema introspection only")
    serializer_class = SalesOrderDetailSerializer
    write_roles = SALES_ENTRY
    http_method_names = ["post", "options"]

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Any]:
        return selectors.sales_orders_visible(tenant=tenant)

    @extend_schema(request=AllocationMoveInputSerializer, responses=SalesOrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = body(request, {"warehouse", "quantity", "reason"})
        errors = inputs.Errors()
        quantity = None
        if data.get("quantity") is not None:
            quantity = inputs.decimal_of(
                data["quantity"], field="quantity", errors=errors, places=3, maximum=inputs.QTY_MAX
            )
        reason = inputs.text_of(
            data.get("reason"), field="reason", errors=errors, max_length=500, required=False
        )
        errors.raise_if_any()
        moved = allocation_services.allocation_move(
            tenant=self.tenant,
            actor=request.user,
            allocation_id=int(pk),
            warehouse_id=id_of(data.get("warehouse"), field="warehouse"),  # type: ignore[arg-type]
            quantity=quantity,
            reason=reason,
        )
        detail = selectors.sales_order_detail(tenant=self.tenant, order_id=moved.sales_order_id)
        return Response(SalesOrderDetailSerializer(detail).data)


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("products", ProductViewSet, basename="commerce-product")
router.register("customers", CustomerViewSet, basename="commerce-customer")
router.register("warehouses", WarehouseViewSet, basename="commerce-warehouse")
router.register("stock", StockViewSet, basename="commerce-stock")
router.register("reservations", ReservationViewSet, basename="commerce-reservation")
router.register("orders", SalesOrderViewSet, basename="commerce-order")
router.register("allocations", AllocationViewSet, basename="commerce-allocation")

urlpatterns = [path("", include(router.urls))]
