"""``/api/v1/compliance/``: each area's API module contributes its own ``urlpatterns``."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("compliance.api.alerts")),
    path("", include("compliance.api.audit")),
    path("", include("compliance.api.rules")),
]
