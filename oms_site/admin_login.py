"""A throttled admin login: failed attempts are counted per client address and per username.

After ``ADMIN_LOGIN_MAX_FAILURES`` failures (default 10) within ``ADMIN_LOGIN_WINDOW_SECONDS``
(default 900) from one address, or for one username from anywhere, further attempts answer
429 until the window passes, good passwords included, so a password cannot be guessed faster
than that. Counters live in the Django cache (Redis in production: shared by every web
process). A successful login does not reset them: an attacker cannot interleave its own
account's logins to keep going.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def _keys(request: HttpRequest) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    username = str(request.POST.get("username", "")).strip().lower()
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    return [f"admin-login:addr:{address}", f"admin-login:user:{digest}"]


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    limit = int(getattr(settings, "ADMIN_LOGIN_MAX_FAILURES", 10))
    window = int(getattr(settings, "ADMIN_LOGIN_WINDOW_SECONDS", 900))
    keys = _keys(request)
    if any(int(cache.get(key, 0)) >= limit for key in keys):
        response = HttpResponse(
            "Too many failed login attempts; try again later.",
            status=429,
            content_type="text/plain",
        )
        response["Retry-After"] = str(window)
        return response
    response = admin.site.login(request, extra_context)
    failed = response.status_code == 200  # the form again: the credentials were refused
    if failed:
        for key in keys:
            cache.add(key, 0, timeout=window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window)
    return response
