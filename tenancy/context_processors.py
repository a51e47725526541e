from typing import Any

from django.http import HttpRequest


def admin_tenant(request: HttpRequest) -> dict[str, Any]:
    return {
        "admin_tenant": getattr(request, "admin_tenant", None),
        "admin_memberships": getattr(request, "admin_memberships", []),
    }
