"""The site's URLs with the sandbox marketplaces mounted, as ``OMS_SANDBOX_MARKETPLACES`` does
under ``make run`` (``oms_site.urls`` reads the flag once, at import)."""

from django.urls import include, path

from oms_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, path("sandbox/", include("commerce.marketplaces.sandbox"))]
