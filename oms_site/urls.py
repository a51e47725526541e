import os

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from oms_site.admin_login import admin_login
from oms_site.api.auth import AuthTokenApi
from orders.api.views import OrderViewSet
from tenancy.views import admin_tenant_switch

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

admin.site.site_header = "OMS back office"
admin.site.site_title = "OMS"
admin.site.index_title = "Orders, tenants and compliance"


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown API URL (e.g. a non-numeric order id) answers the API's JSON error body."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found

urlpatterns = [
    path("", lambda request: redirect("admin:index")),
    path("healthz", healthz, name="healthz"),
    path("admin/switch-tenant/", admin_tenant_switch, name="admin-tenant-switch"),
    path("admin/login/", admin_login),  # throttled; reverse("admin:login") is the same URL
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", AuthTokenApi.as_view(), name="auth-token"),
    path("api/v1/", include(router.urls)),
    path("api/v1/trading/", include("trading.urls")),
    path("api/v1/commerce/", include("commerce.urls")),
    path("api/v1/compliance/", include("compliance.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

if os.environ.get("OMS_BENCH_ENDPOINTS") == "1":  # the baseline of bench/http_orders.py
    urlpatterns.append(path("api/v1/bench/", include("bench.endpoints")))

if settings.OMS_SANDBOX_MARKETPLACES:  # offline marketplaces for the demo channels
    urlpatterns.append(path("sandbox/", include("commerce.marketplaces.sandbox")))
