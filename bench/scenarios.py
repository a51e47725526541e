"""Scenarios for ``python -m bench``: (name, baseline(n), candidate(n)) triples."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIRequestFactory

from oms_site.api.pagination import CreatedCursorPagination
from orders.api.views import OrderViewSet
from orders.models import Order
from orders.services import order_create
from tenancy.models import Membership, Role, Tenant

# A scenario function runs n operations; if it returns seconds, only those are timed.
Scenario = tuple[str, Callable[[int], Any], Callable[[int], Any]]
_ids = itertools.count(1)


class PlainOrderSerializer(serializers.ModelSerializer[Order]):
    reference = serializers.CharField(max_length=20)

    class Meta:
        model = Order
        fields = ("id", "tenant", "kind", "reference", "client_order_id", "note")
        read_only_fields = ("id",)
        validators: list[Any] = []


class PlainOrderList(generics.ListCreateAPIView):
    """The baseline: a plain DRF view, token auth, no tenant resolution, scoping or journal."""

    permission_classes = [IsAuthenticated]
    serializer_class = PlainOrderSerializer
    pagination_class = CreatedCursorPagination

    def get_queryset(self) -> Any:
        return Order.objects.all_tenants(reason="bench baseline")


class PlainOrderDetail(generics.RetrieveUpdateAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = PlainOrderSerializer

    def get_queryset(self) -> Any:
        return Order.objects.all_tenants(reason="bench baseline")


def _fixtures() -> tuple[Tenant, Any, str]:
    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    other, _ = Tenant.objects.get_or_create(slug="bench-other", defaults={"name": "Other"})
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench.trader").first()
    if user is None:
        user = user_model.objects.create_user("bench.trader", password="x")
    for t in (tenant, other):
        Membership.objects.for_tenant(t).get_or_create(
            tenant=t, user=user, defaults={"role": Role.TRADER}
        )
    token, _ = Token.objects.get_or_create(user=user)
    return tenant, user, token.key


def build_scenarios(n: int) -> list[Scenario]:
    """Every request goes through DRF with token auth via APIRequestFactory (no middleware),
    baseline and candidate alike.

    These measure the foundation's generic order path, so the domain policies (trading routes
    its orders to venues, commerce allocates stock; each has its own benchmark) are taken off
    the ``trade`` kind used here."""
    from orders.kinds import kind_unregister

    kind_unregister("trade")
    tenant, user, token = _fixtures()
    factory = APIRequestFactory()
    headers = {"HTTP_AUTHORIZATION": f"Token {token}", "HTTP_X_TENANT": "bench"}
    plain = PlainOrderList.as_view()
    create_view = OrderViewSet.as_view({"post": "create", "get": "list"})
    cancel_view = OrderViewSet.as_view({"post": "cancel"})
    plain_detail = PlainOrderDetail.as_view()

    def call(view: Any, method: str, path: str, data: Any = None, **kwargs: Any) -> Any:
        fmt = None if method == "get" else "json"
        request = getattr(factory, method)(path, data, format=fmt, **headers)
        response = view(request, **kwargs)
        response.render()
        return response

    def baseline_create(count: int) -> None:
        for _ in range(count):
            i = next(_ids)
            r = call(
                plain,
                "post",
                "/orders/",
                {
                    "tenant": tenant.pk,
                    "kind": "trade",
                    "reference": f"B-{i}",
                    "client_order_id": f"base-{i}",
                    "note": "bench",
                },
            )
            assert r.status_code == 201, r.content

    def api_create(count: int) -> None:
        for _ in range(count):
            i = next(_ids)
            r = call(
                create_view,
                "post",
                "/orders/",
                {"kind": "trade", "client_order_id": f"api-{i}", "note": "bench"},
            )
            assert r.status_code == 201, r.content

    def service_create(count: int) -> None:
        for _ in range(count):
            i = next(_ids)
            order_create(
                tenant=tenant,
                actor=user,
                kind="trade",
                client_order_id=f"svc-{i}",
                payload={"i": i},
                note="bench",
            )

    def api_replay(count: int) -> None:
        body = {"kind": "trade", "client_order_id": "replay", "note": "bench"}
        call(create_view, "post", "/orders/", body)
        for _ in range(count):
            r = call(create_view, "post", "/orders/", body)
            assert r.status_code == 200, r.content

    def baseline_list(count: int) -> None:
        for _ in range(count):
            r = call(plain, "get", "/orders/", {"page_size": 50})
            assert r.status_code == 200

    def api_list(count: int) -> None:
        for _ in range(count):
            r = call(create_view, "get", "/orders/", {"page_size": 50})
            assert r.status_code == 200

    def _open_orders(count: int) -> list[int]:
        return [
            order_create(
                tenant=tenant, actor=user, kind="trade", client_order_id=f"cx-{i}", payload={"i": i}
            ).order.pk
            for i in (next(_ids) for _ in range(count))
        ]

    def baseline_update(count: int) -> float:
        ids = _open_orders(count)
        start = time.perf_counter()
        for order_id in ids:
            r = call(plain_detail, "patch", f"/orders/{order_id}/", {"note": "x"}, pk=order_id)
            assert r.status_code == 200, r.content
        return time.perf_counter() - start

    def api_cancel(count: int) -> float:
        ids = _open_orders(count)
        start = time.perf_counter()
        for order_id in ids:
            r = call(
                cancel_view,
                "post",
                f"/orders/{order_id}/cancel/",
                {"reason": "bench"},
                pk=str(order_id),
            )
            assert r.status_code == 200, r.content
        return time.perf_counter() - start

    return [
        ("create: API vs plain DRF create", baseline_create, api_create),
        ("create: service vs plain DRF", baseline_create, service_create),
        ("create: idempotent replay (200)", baseline_create, api_replay),
        ("list 50/page: API vs plain DRF", baseline_list, api_list),
        ("transition: cancel vs plain PATCH", baseline_update, api_cancel),
    ]
