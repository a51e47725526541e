"""Fail-closed tenant scoping for every tenant-owned model.

``Model.objects`` returns a :class:`TenantQuerySet` that refuses to run (raises
:class:`TenantScopeError`) until it is scoped with ``for_tenant(tenant)``. The one escape hatch,
``all_tenants(reason=...)``, is for platform-level jobs (a superuser in the admin, a beat task that
then passes each tenant id explicitly); it is named so that it stands out in review.

An equality filter on the tenant (``filter(tenant=t)`` / ``filter(tenant_id=t.pk)``) scopes a
queryset just as ``for_tenant`` does; Django's own unique and constraint validation builds its
queries that way. Combining a scoped queryset with an unscoped one (``|``, ``&``, ``^``,
``union``...) raises, since the result would reach other tenants' rows.

Related managers (``order.events``) are scoped automatically by the owning instance's tenant;
``prefetch_related`` on instances of several tenants is scoped to exactly those tenants.
Django's internal ``_base_manager`` (used for FK access and deletion) stays a plain manager: a
foreign key between tenant-owned rows never crosses tenants (``TenantOwned.save`` refuses it),
so following one is safe.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from tenancy.models import Tenant

_M = TypeVar("_M", bound=models.Model)


class TenantScopeError(RuntimeError):
    """A query on a tenant-owned model ran without a tenant: a programming error."""


_TENANT_LOOKUPS = ("tenant", "tenant_id")


def _names_one_tenant(lookups: Mapping[str, Any]) -> bool:
    """Whether ``filter(**lookups)`` pins the tenant to one saved tenant (an id or a Tenant)."""
    for key in _TENANT_LOOKUPS:
        value: Any = lookups.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        if isinstance(value, models.Model) and value._meta.label == "tenancy.Tenant":
            return value.pk is not None
    return False


def instance_tenant_id(instance: models.Model) -> int | None:
    """The tenant an instance belongs to (a Tenant belongs to itself), or None."""
    tenant_id: int | None = getattr(instance, "tenant_id", None)
    if tenant_id is None and instance._meta.label == "tenancy.Tenant":
        tenant_id = instance.pk
    return tenant_id


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

    def filter(self, *args: Any, **kwargs: Any) -> Self:
        qs = super().filter(*args, **kwargs)
        if not qs._tenant_scoped and _names_one_tenant(kwargs):
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

    @staticmethod
    def _require_scoped_operand(other: Any) -> None:
        if isinstance(other, TenantQuerySet) and not (
            other._tenant_scoped or other.query.is_empty()
        ):
            raise TenantScopeError(
                f"Combining with an unscoped {other.model.__name__} queryset would reach every "
                "tenant: scope both sides with .for_tenant(tenant)."
            )

    def _merge_sanity_check(self, other: Any) -> None:  # behind | & ^
        self._require_scoped_operand(other)
        super()._merge_sanity_check(other)  # type: ignore[misc]

    def _combinator_query(self, combinator: str, *other_qs: Any, all: bool = False) -> Self:
        for other in other_qs:  # union(), intersection(), difference()
            self._require_scoped_operand(other)
        qs: Self = super()._combinator_query(combinator, *other_qs, all=all)  # type: ignore[misc]
        return qs

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Django builds related managers as subclasses of this one; their prefetch would
        # otherwise be scoped to the first instance's tenant and silently drop the rows of
        # every other tenant's instances.
        prefetch = cls.__dict__.get("get_prefetch_querysets")
        if prefetch is not None:
            cls.get_prefetch_querysets = _prefetch_for_instance_tenants(prefetch)  # type: ignore[attr-defined]

    def get_queryset(self) -> TenantQuerySet[_M]:
        qs: TenantQuerySet[_M] = self._queryset_class(self.model, using=self._db)
        instance = getattr(self, "instance", None)  # set on related managers
        if instance is not None:
            tenant_id = instance_tenant_id(instance)
            if tenant_id is not None:
                qs = qs.for_tenant(tenant_id)
        return qs

    def for_tenant(self, tenant: Tenant | int) -> TenantQuerySet[_M]:
        return self.get_queryset().for_tenant(tenant)

    def all_tenants(self, *, reason: str) -> TenantQuerySet[_M]:
        return self.get_queryset().all_tenants(reason=reason)


def _prefetch_for_instance_tenants(prefetch: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a related manager's ``get_prefetch_querysets``: scope to the instances' tenants."""

    @functools.wraps(prefetch)
    def get_prefetch_querysets(
        self: TenantManager[Any], instances: list[models.Model], querysets: Any = None
    ) -> Any:
        tenant_ids = {instance_tenant_id(instance) for instance in instances}
        if querysets is None and instances and None not in tenant_ids:
            manager: TenantManager[Any] = self.model._default_manager
            scoped = manager.all_tenants(reason="prefetch for instances of these tenants only")
            querysets = [scoped.filter(tenant_id__in=sorted(tenant_ids))]
        return prefetch(self, instances, querysets)

    return get_prefetch_querysets
