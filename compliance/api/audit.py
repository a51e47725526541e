"""``GET /api/v1/compliance/orders/{id}/audit/``: an order's whole life, JSON or CSV.

CSV is chosen by ``?format=csv`` or ``Accept: text/csv``; its columns are
``at, source, ref, kind, from_status, to_status, actor, detail`` (``detail`` as compact JSON
with sorted keys). Compliance officers and administrators only; another tenant's order is 404.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from compliance import selectors
from orders.models import Order
from tenancy.api import TENANT_HEADER, TenantAPIView
from tenancy.models import Tenant
from tenancy.roles import REVIEWERS


class AuditCsvRenderer(BaseRenderer):
    """The audit rows as CSV; an error body becomes a two-column ``code,detail`` CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if isinstance(data, dict) and "rows" in data:
            writer.writerow(selectors.AUDIT_COLUMNS)
            for row in data["rows"]:
                writer.writerow(
                    [
                        json.dumps(row[c], sort_keys=True, separators=(",", ":"))
                        if c == "detail"
                        else row[c]
                        for c in selectors.AUDIT_COLUMNS
                    ]
                )
        else:
            body = data if isinstance(data, dict) else {"detail": str(data)}
            writer.writerow(["code", "detail"])
            writer.writerow([body.get("code", "error"), body.get("detail", "")])
        return buffer.getvalue().encode("utf-8")


class OrderAuditApi(TenantAPIView):
    """The audit trail of one order (JSON or CSV)."""

    read_roles = REVIEWERS
    renderer_classes = [JSONRenderer, AuditCsvRenderer]
    queryset = Order.objects.all_tenants(reason="schema introspection only")

    def tenant_queryset(self, tenant: Tenant) -> Any:
        return Order.objects.for_tenant(tenant)

    @extend_schema(
        parameters=[
            OpenApiParameter(TENANT_HEADER, location=OpenApiParameter.HEADER, required=False),
            OpenApiParameter("format", enum=["json", "csv"], required=False),
        ],
        responses=inline_serializer(
            "OrderAudit",
            {
                "order": serializers.DictField(),
                "rows": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request: Request, order_id: str) -> Response:
        order, rows = selectors.order_audit_trail(
            tenant=self.tenant, user=request.user, order_id=int(order_id)
        )
        body = {
            "order": {
                "id": order.pk,
                "reference": order.reference,
                "kind": order.kind,
                "status": order.status,
                "created_at": order.created_at,
            },
            "rows": rows,
        }
        response = Response(body)
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = (
                f'attachment; filename="audit-{order.reference or order.pk}.csv"'
            )
        return response


urlpatterns = [
    re_path(
        r"^orders/(?P<order_id>[0-9]{1,18})/audit/$",
        OrderAuditApi.as_view(),
        name="compliance-order-audit",
    ),
]
