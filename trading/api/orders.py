"""Trade order API: entry (single and batch), blotter reads, cancel, replace, execution
reports; the market data feed and venue session events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from oms_site.api.fast import FastValidationMixin
from oms_site.api.fields import StrictCharField, StrictRegexField
from oms_site.api.pagination import CreatedCursorPagination
from oms_site.errors import ApplicationError, ValidationFailed
from orders.api.serializers import CLIENT_ID_PATTERN
from orders.models import LIVE_STATUSES
from orders.services import order_transition
from tenancy.api import (
    TenantAPIView,
    TenantSlugRelatedField,
    TenantViewSet,
    related_prefetch,
    related_prefetched,
)
from tenancy.models import Tenant
from tenancy.roles import ALL_ROLES, REFERENCE_DATA, TRADE_ENTRY
from trading.api.filters import BOOLEAN_CHOICES
from trading.api.pagination import IdPagination
from trading.api.serializers import StrictKeysMixin, price, qty
from trading.models import (
    Account,
    ExecutionReport,
    Handling,
    Instrument,
    OrderType,
    Side,
    TimeInForce,
    TradeOrder,
    Venue,
)
from trading.services.entry import (
    TradeOrderInput,
    trade_order_submit,
    trade_orders_submit_many,
)
from trading.services.marketdata import QuoteInput, quotes_ingest, venue_session_event
from trading.services.requests import trade_order_replace

SMART = "smart"
BATCH_LIMIT = 1000
# The codes a batch names, each looked up once for the whole batch.
BATCH_REFERENCES = (
    (Account, "code", "account"),
    (Instrument, "symbol", "instrument"),
    (Venue, "code", "venue"),
)


class TradeOrderCreateSerializer(FastValidationMixin, StrictKeysMixin, serializers.Serializer[Any]):
    client_order_id = StrictRegexField(
        CLIENT_ID_PATTERN,
        max_length=64,
        error_messages={"invalid": "Use 1-64 characters: letters, digits and . _ : - /"},
    )
    account = TenantSlugRelatedField(model=Account, slug_field="code")
    instrument = TenantSlugRelatedField(model=Instrument, slug_field="symbol")
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = qty()
    order_type = serializers.ChoiceField(choices=OrderType.choices)
    limit_price = price(required=False, allow_null=True, default=None)
    stop_price = price(required=False, allow_null=True, default=None)
    trail_amount = price(required=False, allow_null=True, default=None)
    trail_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, required=False, allow_null=True, default=None
    )
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices)
    expire_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    venue = StrictCharField(
        max_length=16,
        required=False,
        default=SMART,
        help_text='"smart" (default) or the code of the venue to direct the order to.',
    )
    handling = serializers.ChoiceField(choices=Handling.choices, default=Handling.AUTO)
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_venue(self, value: str) -> Venue | None:
        if value == SMART:
            return None
        tenant = self.context.get("tenant")
        known = related_prefetched(self.context, Venue, "code")
        if known is not None:
            venue = known.get(value)
        else:
            venue = Venue.objects.for_tenant(tenant).filter(code=value).first() if tenant else None
        if venue is None:
            raise serializers.ValidationError(f'No venue {value}; use "smart" or a venue code.')
        return venue

    def to_input(self, data: Any) -> TradeOrderInput:
        """The service input for one item of a batch: through the fast path when the item is
        plain, else DRF's full validation (raising the errors of a 400)."""
        validated = self.validated_fast(data)
        if validated is None:
            validated = self.run_validation(data)
        return TradeOrderInput(**validated)


def _item_errors(exc: serializers.ValidationError) -> Any:
    """``exc`` as ``Serializer.errors`` words it (a null item: "No data provided")."""
    detail = exc.detail
    if isinstance(detail, list):
        if len(detail) == 1 and getattr(detail[0], "code", None) == "null":
            detail = [ErrorDetail("No data provided", code="null")]
        return {api_settings.NON_FIELD_ERRORS_KEY: detail}
    return detail


class TradeOrderSerializer(serializers.ModelSerializer[TradeOrder]):
    id = serializers.IntegerField(source="order_id", read_only=True)
    reference = serializers.CharField(source="order.reference", read_only=True)
    client_order_id = serializers.CharField(source="order.client_order_id", read_only=True)
    status = serializers.CharField(source="order.status", read_only=True)
    ord_status = serializers.SerializerMethodField()
    account = serializers.CharField(source="account.code", read_only=True)
    instrument = serializers.CharField(source="instrument.symbol", read_only=True)
    venue = serializers.SerializerMethodField()
    expire_at = serializers.DateTimeField(
        source="order.expires_at", read_only=True, allow_null=True
    )

    class Meta:
        model = TradeOrder
        fields = (
            "id",
            "reference",
            "client_order_id",
            "status",
            "ord_status",
            "account",
            "instrument",
            "side",
            "quantity",
            "order_type",
            "limit_price",
            "stop_price",
            "trail_amount",
            "trail_percent",
            "time_in_force",
            "expire_at",
            "venue",
            "handling",
            "cum_qty",
            "leaves_qty",
            "avg_px",
            "pending",
            "triggered",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_ord_status(self, obj: TradeOrder) -> str:
        return str(obj.ord_status.label)

    def get_venue(self, obj: TradeOrder) -> str:
        return obj.venue.code if obj.venue else SMART


class ReplaceSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    quantity = qty(required=False, allow_null=True, default=None)
    limit_price = price(required=False, allow_null=True, default=None)
    stop_price = price(required=False, allow_null=True, default=None)


class CancelSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class ExecutionReportSerializer(serializers.ModelSerializer[ExecutionReport]):
    exec_type = serializers.CharField(source="get_exec_type_display", read_only=True)
    ord_status = serializers.CharField(source="get_ord_status_display", read_only=True)
    venue = serializers.SerializerMethodField()
    exec_id_venue = serializers.SerializerMethodField()

    class Meta:
        model = ExecutionReport
        fields = (
            "exec_id",
            "exec_type",
            "ord_status",
            "order_qty",
            "last_qty",
            "last_px",
            "cum_qty",
            "leaves_qty",
            "avg_px",
            "venue",
            "exec_id_venue",
            "text",
            "created_at",
        )
        read_only_fields = fields

    def get_venue(self, obj: ExecutionReport) -> str | None:
        execution = obj.execution
        return execution.venue.code if execution and execution.venue else None

    def get_exec_id_venue(self, obj: ExecutionReport) -> str | None:
        return obj.execution.exec_id if obj.execution else None


class TradeOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        field_name="order__status",
        choices=[(s, s) for s in sorted(LIVE_STATUSES)]
        + [(s, s) for s in ("draft", "completed", "canceled", "rejected", "expired")],
    )
    symbol = django_filters.CharFilter(field_name="instrument__symbol", max_length=32)
    account = django_filters.CharFilter(field_name="account__code", max_length=32)
    side = django_filters.ChoiceFilter(choices=Side.choices)
    open_only = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES,
        coerce=lambda value: value == "true",
        method="filter_open_only",
        help_text="true: live orders only (anything else than true/false is a 400).",
    )

    class Meta:
        model = TradeOrder
        fields = ("status", "symbol", "account", "side", "open_only")

    def filter_open_only(self, queryset: QuerySet[TradeOrder], name: str, value: bool) -> Any:
        return queryset.filter(order__status__in=LIVE_STATUSES) if value else queryset


class TradeOrderPagination(CreatedCursorPagination):
    """Newest first; a trade order's key is its order's id (it has no ``id`` column)."""

    ordering = ("-created_at", "-order_id")


class ReportPagination(IdPagination):
    """Oldest first; a bad cursor or page size is a 400 like on every list."""

    page_size = 100


class TradeOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Trade orders of the caller's tenant (the blotter)."""

    queryset = TradeOrder.objects.all_tenants(reason="schema introspection only")
    serializer_class = TradeOrderSerializer
    filterset_class = TradeOrderFilter
    pagination_class = TradeOrderPagination
    action_roles = {
        "create": TRADE_ENTRY,
        "batch": TRADE_ENTRY,
        "replace": ALL_ROLES,  # per-order role checks in the services
        "cancel": ALL_ROLES,
    }

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[TradeOrder]:
        return TradeOrder.objects.for_tenant(tenant).select_related(
            "order", "account", "instrument", "venue"
        )

    def _body(self, trade_order_id: int) -> dict[str, Any]:
        trade = self.tenant_queryset(self.tenant).get(pk=trade_order_id)
        return dict(TradeOrderSerializer(trade, context=self.get_serializer_context()).data)

    @extend_schema(request=TradeOrderCreateSerializer, responses={201: TradeOrderSerializer})
    def create(self, request: Request) -> Response:
        """Enter an order; idempotent by ``client_order_id`` (a replay answers 200)."""
        serializer = TradeOrderCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        validated = serializer.validated_fast(request.data)
        if validated is None:
            serializer.is_valid(raise_exception=True)
            validated = serializer.validated_data
        result = trade_order_submit(
            tenant=self.tenant, actor=request.user, data=TradeOrderInput(**validated)
        )
        if not result.created:
            return Response(self._body(result.order.pk), status=status.HTTP_200_OK)
        # The rows just written are in memory (order, its trade detail and the account,
        # instrument and venue the body named): answered from them, with no re-read.
        body = TradeOrderSerializer(result.order.trade, context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TradeOrderCreateSerializer(many=True), responses={200: dict})
    @action(detail=False, methods=["post"], filterset_class=None)
    def batch(self, request: Request) -> Response:
        """Up to 1,000 orders, each validated, screened and entered on its own; per-order
        results in request order: ``{index, status: 201 | 200, id, reference, order_status}``
        for an order entered (201) or replayed (200), else ``{index, status, code, detail,
        errors}``: the body the single endpoint would have answered with."""
        if not isinstance(request.data, list) or not 0 < len(request.data) <= BATCH_LIMIT:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Send a JSON list of 1 to {BATCH_LIMIT} orders."]}
            )
        context = self.get_serializer_context()
        items = [item if isinstance(item, dict) else {} for item in request.data]
        for model, field, key in BATCH_REFERENCES:
            related_prefetch(
                context, model=model, slug_field=field, values=(i.get(key) for i in items)
            )
        results: list[dict[str, Any] | None] = [None] * len(request.data)
        inputs: list[TradeOrderInput] = []
        positions: list[int] = []
        # One serializer validates every item (``is_valid`` on a new one per item would
        # deep-copy its fields a thousand times); the errors are those ``is_valid`` reports.
        validator = TradeOrderCreateSerializer(context=context)
        for index, item in enumerate(request.data):
            try:
                inputs.append(validator.to_input(item))
                positions.append(index)
            except serializers.ValidationError as exc:
                # The same body as the single endpoint's 400, like the service refusals below.
                refusal = ValidationFailed(errors=_item_errors(exc)).as_dict()
                results[index] = {"index": index, "status": 400, **refusal}
        entered = trade_orders_submit_many(tenant=self.tenant, actor=request.user, items=inputs)
        for index, result in zip(positions, entered, strict=True):
            if isinstance(result, ApplicationError):
                results[index] = {"index": index, "status": result.status_code, **result.as_dict()}
                continue
            results[index] = {
                "index": index,
                "status": 201 if result.created else 200,
                "id": result.order.pk,
                "reference": result.order.reference,
                "order_status": result.order.status,
            }
        return Response({"results": results})

    @extend_schema(request=CancelSerializer, responses=TradeOrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str) -> Response:
        """Request a cancel: PendingCancel until the venue confirms; 409 when too late."""
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.get_object()  # 404 for a missing order, another tenant's, or one of another kind
        order_transition(
            tenant=self.tenant,
            order_id=int(pk),
            transition="cancel",
            actor=request.user,
            reason=body.validated_data["reason"],
        )
        return Response(self._body(int(pk)))

    @extend_schema(request=ReplaceSerializer, responses=TradeOrderSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def replace(self, request: Request, pk: str) -> Response:
        """Cancel/replace quantity and/or prices: PendingReplace until the venue confirms."""
        body = ReplaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.get_object()  # 404 for a missing order or another tenant's
        trade_order_replace(
            tenant=self.tenant, order_id=int(pk), actor=request.user, **body.validated_data
        )
        return Response(self._body(int(pk)))

    @extend_schema(responses=ExecutionReportSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=ReportPagination, filterset_class=None)
    def executions(self, request: Request, pk: str) -> Response:
        """The order's FIX execution reports, oldest first."""
        trade = self.get_object()
        reports = (
            ExecutionReport.objects.for_tenant(self.tenant)
            .filter(order=trade)
            .select_related("execution__venue")
        )
        page = self.paginate_queryset(reports)
        return self.get_paginated_response(ExecutionReportSerializer(page, many=True).data)


def _positive(value: Decimal | None) -> None:
    if value is not None and value <= 0:
        raise serializers.ValidationError("Must be greater than zero.")


class QuoteSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    venue = TenantSlugRelatedField(model=Venue, slug_field="code")
    symbol = TenantSlugRelatedField(model=Instrument, slug_field="symbol")
    bid = price(required=False, allow_null=True, default=None, validators=[_positive])
    bid_size = qty(required=False, default=0, min_value=0)
    ask = price(required=False, allow_null=True, default=None, validators=[_positive])
    ask_size = qty(required=False, default=0, min_value=0)
    last = price(required=False, allow_null=True, default=None, validators=[_positive])

    @staticmethod
    def to_quote(v: dict[str, Any]) -> QuoteInput:
        """The service input for one validated quote (API and market_feed alike)."""
        return QuoteInput(
            venue=v["venue"],
            instrument=v["symbol"],
            bid=v["bid"],
            bid_size=v["bid_size"],
            ask=v["ask"],
            ask_size=v["ask_size"],
            last=v["last"],
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        tick = attrs["symbol"].tick_size
        for name in ("bid", "ask", "last"):
            value = attrs.get(name)
            if value is not None and value % tick != 0:
                errors[name] = [f"Must be on the tick size {tick}."]
        bid, ask = attrs.get("bid"), attrs.get("ask")
        if bid is not None and ask is not None and bid > ask:
            errors.setdefault("bid", []).append("Must not be above the ask.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MarketDataSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    quotes = QuoteSerializer(many=True, allow_empty=False, max_length=BATCH_LIMIT)  # type: ignore[call-arg]


class MarketDataApi(TenantAPIView):
    """The price feed: a batch of quotes; resting orders and stops react to it.

    Each quote replaces the stored one for its venue and symbol field by field (an omitted
    price is none, an omitted size 0); prices are > 0 and on the instrument's tick and the bid
    is not above the ask. Quotes of one venue and symbol repeated in a batch are ticks in
    order: the last one stands, and stops see every last price.
    """

    write_roles = REFERENCE_DATA
    serializer_class = MarketDataSerializer

    @extend_schema(request=MarketDataSerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        body = MarketDataSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        quotes = [QuoteSerializer.to_quote(q) for q in body.validated_data["quotes"]]
        return Response({"accepted": quotes_ingest(tenant=self.tenant, quotes=quotes)})


class SessionEventSerializer(StrictKeysMixin, serializers.Serializer[Any]):
    event = serializers.ChoiceField(choices=[("open", "open"), ("close", "close")])
    prices = serializers.DictField(
        child=price(validators=[_positive]),
        required=False,
        default=dict,
        help_text='Auction price per symbol, e.g. {"ACME": "101.25"}.',
    )
    price = price(
        validators=[_positive],
        help_text="Auction price of every instrument without its own in prices.",
    )

    def validate_prices(self, value: dict[str, Decimal]) -> dict[int, Decimal]:
        """Symbols to instrument ids; an unknown symbol is named."""
        tenant = self.context["tenant"]
        ids = dict(
            Instrument.objects.for_tenant(tenant)
            .filter(symbol__in=list(value))
            .values_list("symbol", "pk")
        )
        unknown = sorted(symbol for symbol in value if symbol not in ids)
        if unknown:
            raise serializers.ValidationError({s: ["No such instrument."] for s in unknown})
        return {ids[symbol]: px for symbol, px in value.items()}


class VenueSessionApi(TenantAPIView):
    """Drive a simulated venue's session: opening / closing auction at ``price``."""

    write_roles = REFERENCE_DATA
    serializer_class = SessionEventSerializer

    @extend_schema(request=SessionEventSerializer, responses={200: dict})
    def post(self, request: Request, code: str) -> Response:
        venue = Venue.objects.for_tenant(self.tenant).filter(code=code).first()
        if venue is None:
            from oms_site.errors import NotFound

            raise NotFound("Venue not found.")
        body = SessionEventSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            venue_session_event(
                venue=venue,
                event=body.validated_data["event"],
                price=body.validated_data["price"],
                prices=body.validated_data["prices"],
            )
        return Response({"venue": venue.code, "event": body.validated_data["event"]})
