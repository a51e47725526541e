"""Admin registrations of third-party models the site overrides.

DRF's token admin lists every API token's key (a live credential) in plain text; here a
token shows its user and creation time only, and is searched by username.
"""

from __future__ import annotations

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class MaskedTokenAdmin(TokenAdmin):
    list_display = ("user", "created")
    search_fields = ("user__username",)
