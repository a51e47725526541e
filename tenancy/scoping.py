"""Fail-closed tenant scoping for every tenant-owned model.

``Model.objects`` returns a :class:`TenantQuerySet` that refuses to run (raises
:class:`TenantScopeError`) until it is scoped with ``for_tenant(tenant)``. The one escape hatch,
``all_tenants(reason=...)``, is for platform-level jobs (a superuser in the admin, a beat task that
then passes each tenant id explicitly); it is named so that it stands out in review.

Related managers (``order.events``) are scoped automatically by the owning instance's tenant.
Django's internal ``_base_manager`` (used for FK access and deletion) stays a plain manager: a
foreign key between tenant-owned rows never crosses tenants, so following one is safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from tenancy.models import Tenant

_M = TypeVar("_M", bound=models.Model)


class TenantScopeError(RuntimeError):
    """A query on a tenant-owned model ran without a tenant: a programming error."""


class TenantQuerySet(models.QuerySet[_M]):
    _tenant_scoped: bool = False

    def for_tenant(self, tenant: Tenant | int) -> Self:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        if tenant_id is None:
            raise TenantScopeError("for_tenant() needs a saved tenant.")
        qs = self.filter(tenant_id=tenant_id)
        qs._tenant_scoped = True
        return qs

    def all_tenants(self, *, reason: str) -> Self:
        """Escape hatch for platform-level work; ``reason`` documents why at the call site."""
        if not reason:
            raise TenantScopeError("all_tenants() needs a reason.")
        qs = self.all()
        qs._tenant_scoped = True
        return qs

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._tenant_scoped = self._tenant_scoped
        return clone

    def _require_scope(self) -> None:
        if not self._tenant_scoped:
            raise TenantScopeError(
                f"Query on tenant-owned {self.model.__name__} without a tenant: "
                "use .for_tenant(tenant) (or .all_tenants(reason=...) for platform jobs)."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._require_scope()
        return super().iterator(chunk_size=chunk_size)

    def count(self) -> int:
        self._require_scope()
        return super().count()

    def exists(self) -> bool:
        self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def in_bulk(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope()
        return super().in_bulk(*args, **kwargs)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)


class TenantManager(models.Manager[_M]):
    """Default manager of tenant-owned models; see the module docstring.

    ``TenantManager.from_queryset(SubclassOfTenantQuerySet)`` keeps the scoping.
    """

    _queryset_class = TenantQuerySet

    def get_queryset(self) -> TenantQuerySet[_M]:
        qs: TenantQuerySet[_M] = self._queryset_class(self.model, using=self._db)
        instance = getattr(self, "instance", None)  # set on related managers
        if instance is not None:
            tenant_id = getattr(instance, "tenant_id", None)
            if tenant_id is None and instance._meta.label == "tenancy.Tenant":
                tenant_id = instance.pk
            if tenant_id is not None:
                qs = qs.for_tenant(tenant_id)
        return qs

    def for_tenant(self, tenant: Tenant | int) -> TenantQuerySet[_M]:
        return self.get_queryset().for_tenant(tenant)

    def all_tenants(self, *, reason: str) -> TenantQuerySet[_M]:
        return self.get_queryset().all_tenants(reason=reason)
