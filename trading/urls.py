"""Routes of the trading API, included at /api/v1/trading/ by oms_site/urls.py."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from trading.api.orders import MarketDataApi, TradeOrderViewSet, VenueSessionApi
from trading.api.views import AccountViewSet, InstrumentViewSet, PositionViewSet, VenueViewSet

router = SimpleRouter()
router.register("instruments", InstrumentViewSet, basename="trading-instrument")
router.register("accounts", AccountViewSet, basename="trading-account")
router.register("venues", VenueViewSet, basename="trading-venue")
router.register("positions", PositionViewSet, basename="trading-position")
router.register("orders", TradeOrderViewSet, basename="trading-order")

urlpatterns = [
    path("market-data/", MarketDataApi.as_view(), name="trading-market-data"),
    path("venues/<str:code>/session/", VenueSessionApi.as_view(), name="trading-venue-session"),
    path("", include(router.urls)),
]
