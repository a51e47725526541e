from __future__ import annotations

import django_filters

from orders.models import Order, OrderKind, OrderStatus


class OrderFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrderKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    reference = django_filters.CharFilter(field_name="reference", max_length=20)
    client_order_id = django_filters.CharFilter(field_name="client_order_id", max_length=64)

    class Meta:
        model = Order
        fields = (
            "kind",
            "status",
            "created_after",
            "created_before",
            "reference",
            "client_order_id",
        )
