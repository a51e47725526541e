"""Routes of the commerce API, included at /api/v1/commerce/ by oms_site/urls.py.

Each area keeps its own routes in ``commerce/api/<area>.py`` (``urlpatterns``)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("commerce.api.marketplace")),
    path("", include("commerce.api.payments")),
    path("", include("commerce.api.fulfilment")),
    path("", include("commerce.api.core")),
]
