from __future__ import annotations

import zoneinfo
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tenancy.scoping import TenantManager

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


class Tenant(models.Model):
    """A firm. Everything a firm owns carries its tenant id (see TenantOwned)."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    base_currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    TRADER = "trader", "Trader"
    PORTFOLIO_MANAGER = "portfolio_manager", "Portfolio manager"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    OPERATIONS = "operations", "Operations"
    SELLER = "seller", "Seller"
    VIEWER = "viewer", "Viewer"


class TenantOwned(models.Model):
    """Base of every tenant-owned model: tenant FK, timestamps, fail-closed default manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[TenantManager[TenantOwned]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        abstract = True


class Membership(TenantOwned):
    """A user's role in one tenant. A user may belong to several tenants, one role in each."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Membership]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]
        ordering = ("tenant_id", "user_id")

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id}: {self.role}"
