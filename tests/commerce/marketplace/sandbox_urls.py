"""The site's URLs with the sandbox marketplaces mounted (as with OMS_SANDBOX_MARKETPLACES on)."""

from django.urls import include, path

from oms_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, path("sandbox/", include("commerce.marketplaces.sandbox"))]
