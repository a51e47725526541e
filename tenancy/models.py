from __future__ import annotations

import zoneinfo
from collections.abc import Collection
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tenancy.scoping import TenantManager, TenantScopeError

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
    """Base of every tenant-owned model: tenant FK, timestamps, fail-closed default manager.

    A foreign key to another tenant-owned row must stay inside the tenant: ``full_clean``
    reports another tenant's id exactly like a missing one, and ``save`` refuses it (a
    programming error: forms, serializers and services scope their lookups before that).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[TenantManager[TenantOwned]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        only = None if update_fields is None or "tenant" in update_fields else update_fields
        crossing = self._fields_crossing_tenants(only=only)
        if crossing:
            raise TenantScopeError(
                f"{type(self).__name__}.{crossing[0].name} points to a row of another tenant."
            )
        super().save(*args, **kwargs)

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        errors: dict[str, Any] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        skip = set(exclude or ()) | set(errors)
        names = [f.name for f in self._meta.concrete_fields if f.name not in skip]
        for field in self._fields_crossing_tenants(only=names):
            value = getattr(self, field.attname)
            errors[field.name] = [
                ValidationError(  # the message of a missing id, word for word
                    field.error_messages["invalid"],
                    code="invalid",
                    params={
                        "model": field.related_model._meta.verbose_name,
                        "pk": value,
                        "field": field.remote_field.field_name,
                        "value": value,
                    },
                )
            ]
        if errors:
            raise ValidationError(errors)

    def _fields_crossing_tenants(self, *, only: Collection[str] | None = None) -> list[Any]:
        """Foreign keys of this row that point to a tenant-owned row of another tenant."""
        if self.tenant_id is None:
            return []
        crossing = []
        for field in self._meta.concrete_fields:
            related = field.related_model
            if not isinstance(field, models.ForeignKey) or not isinstance(related, type):
                continue
            if not issubclass(related, TenantOwned):
                continue
            if only is not None and field.name not in only:
                continue
            value = getattr(self, field.attname)
            if value is None:
                continue
            if field.is_cached(self):
                target = field.get_cached_value(self)
                target_tenant_id = getattr(target, "tenant_id", None)
            else:
                lookup: dict[str, Any] = {field.target_field.attname: value}
                target_tenant_id = (
                    related._base_manager.filter(**lookup)
                    .values_list("tenant_id", flat=True)
                    .first()
                )
            if target_tenant_id is not None and target_tenant_id != self.tenant_id:
                crossing.append(field)
        return crossing


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
