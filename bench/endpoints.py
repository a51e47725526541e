"""Bench-only endpoints, mounted at ``/api/v1/bench/`` by ``oms_site/urls.py`` only when the
environment sets ``OMS_BENCH_ENDPOINTS=1`` (``bench/http_orders.py`` does, for its server).

``POST /api/v1/bench/baseline/`` is the baseline of the HTTP order-entry benchmark: the minimal
DRF create endpoint over a bare model, served by the same gunicorn with the same middleware and
the same authentication (``DEFAULT_AUTHENTICATION_CLASSES``: the caller sends a token).

The model is ``django.contrib.auth.models.Group`` (``id``, ``name``): no model of the project
has only a primary-key constraint (every one is tenant-owned: a foreign key to the tenant and
unique constraints), and of Django's own, ``Session`` takes its primary key from the client and
``LogEntry`` has foreign keys. ``Group`` is one server-generated id and one unique name; the
benchmark sends a fresh name per request, and the name field has ``validators=[]`` so DRF runs
no pre-check query (DESIGN.md's performance notes): one INSERT per request, as bare as a create
endpoint gets. No migration, no new table.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated


class BaselineSerializer(serializers.ModelSerializer[Group]):
    class Meta:
        model = Group
        fields = ("id", "name")
        extra_kwargs: dict[str, Any] = {"name": {"validators": []}}


class BaselineCreateApi(generics.CreateAPIView):
    """A plain DRF create: token auth, ModelSerializer, one INSERT, 201 with the row."""

    permission_classes = [IsAuthenticated]
    serializer_class = BaselineSerializer
    queryset = Group.objects.all()


urlpatterns = [
    path("baseline/", BaselineCreateApi.as_view(), name="bench-baseline"),
]
