"""Fail-closed scoping of tenant-owned models (tenancy/scoping.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Count, Prefetch
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderSequence, OrderStatus
from tenancy.models import Membership, Tenant
from tenancy.scoping import TenantScopeError
from tests.conftest import member, tenancy_snapshot
from tests.factories import order_in_status

UNSCOPED = {
    "Order": (
        "Query on tenant-owned Order without a tenant: use .for_tenant(tenant) "
        "(or .all_tenants(reason=...) for platform jobs)."
    ),
    "OrderEvent": (
        "Query on tenant-owned OrderEvent without a tenant: use .for_tenant(tenant) "
        "(or .all_tenants(reason=...) for platform jobs)."
    ),
}

# Every way to run a query; each must refuse an unscoped queryset before touching the database.
QUERIES: dict[str, Callable[[Any], Any]] = {
    "list": list,
    "iter": lambda qs: next(iter(qs)),
    "len": len,
    "bool": bool,
    "slice": lambda qs: list(qs[:1]),
    "index": lambda qs: qs[0],
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "get": lambda qs: qs.get(reference="T-000001"),
    "first": lambda qs: qs.first(),
    "last": lambda qs: qs.last(),
    "latest": lambda qs: qs.latest("created_at"),
    "aggregate": lambda qs: qs.aggregate(n=Count("id")),
    "update": lambda qs: qs.update(note="changed"),
    "delete": lambda qs: qs.delete(),
    "iterator": lambda qs: qs.iterator(),
    "values": lambda qs: list(qs.values("id")),
    "values_list": lambda qs: list(qs.values_list("id", flat=True)),
    "in_bulk": lambda qs: qs.in_bulk(),
    "get_or_create": lambda qs: qs.get_or_create(reference="T-000001"),
    "update_or_create": lambda qs: qs.update_or_create(reference="T-000001"),
    "dates": lambda qs: list(qs.dates("created_at", "day")),
    "explain": lambda qs: qs.explain(),
}

UNSCOPED_QUERYSETS: dict[str, Callable[[], Any]] = {
    "all": lambda: Order.objects.all(),
    "filtered": lambda: Order.objects.filter(kind="trade").exclude(status="draft"),
    "ordered_values": lambda: Order.objects.order_by("-id").select_related("created_by"),
}


@pytest.fixture
def two_tenant_orders(tenant: Tenant, other_tenant: Tenant) -> dict[str, Order]:
    return {
        "alpha_open": order_in_status(tenant=tenant, status=OrderStatus.OPEN),
        "alpha_draft": order_in_status(tenant=tenant, status=OrderStatus.DRAFT),
        "beta_open": order_in_status(tenant=other_tenant, status=OrderStatus.OPEN),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("queryset", UNSCOPED_QUERYSETS.values(), ids=UNSCOPED_QUERYSETS.keys())
@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_unscoped_query_raises_and_changes_nothing(two_tenant_orders, queryset, query):
    # given orders in two tenants and a queryset that names no tenant
    before = tenancy_snapshot()
    # when any query runs on it
    with pytest.raises(TenantScopeError) as exc:
        query(queryset())
    # then it is refused and no row changed
    assert str(exc.value) == UNSCOPED["Order"]
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["count", "list", "exists", "first"])
@pytest.mark.parametrize("model", [Order, OrderEvent, OrderSequence, Membership])
def test_every_tenant_owned_model_is_unscoped_by_default(two_tenant_orders, model, query):
    # given rows of every tenant-owned model in two tenants (memberships included)
    member(two_tenant_orders["alpha_open"].tenant, "viewer")
    # when the default manager is queried without a tenant
    with pytest.raises(TenantScopeError) as exc:
        QUERIES[query](model.objects.all())
    # then it refuses, naming the model
    assert str(exc.value).startswith(f"Query on tenant-owned {model.__name__} without a tenant")


@pytest.mark.django_db
@pytest.mark.parametrize("write", ["update", "delete"])
@pytest.mark.parametrize("model", [Membership, OrderSequence])
def test_unscoped_bulk_writes_refuse_on_rows_without_dependants(two_tenant_orders, model, write):
    # given rows that Django would delete without loading them first (no dependants)
    member(two_tenant_orders["alpha_open"].tenant, "viewer")
    member(two_tenant_orders["beta_open"].tenant, "viewer")
    before = tenancy_snapshot()
    qs = model.objects.all()
    run = (lambda: qs.update(updated_at=timezone.now())) if write == "update" else qs.delete
    # when every tenant's rows are updated or deleted in bulk
    with pytest.raises(TenantScopeError) as exc:
        run()
    # then it is refused and nothing changed
    assert str(exc.value).startswith(f"Query on tenant-owned {model.__name__} without a tenant")
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["count", "exists", "aggregate", "in_bulk", "explain"])
def test_manager_shortcuts_refuse_without_tenant(two_tenant_orders, query):
    # given orders in two tenants
    # when a query method is called on the manager itself
    with pytest.raises(TenantScopeError) as exc:
        QUERIES[query](Order.objects)
    # then it is refused like a queryset
    assert str(exc.value) == UNSCOPED["Order"]


@pytest.mark.django_db
@pytest.mark.parametrize("tenant_arg", ["instance", "id"])
def test_for_tenant_sees_only_that_tenant(two_tenant_orders, tenant, tenant_arg):
    # given orders in two tenants
    scope = tenant if tenant_arg == "instance" else tenant.pk
    # when the manager is scoped to alpha (as a Tenant or as its id)
    qs = Order.objects.for_tenant(scope)
    # then every query sees exactly alpha's orders
    expected = {two_tenant_orders["alpha_open"].pk, two_tenant_orders["alpha_draft"].pk}
    assert set(qs.values_list("pk", flat=True)) == expected
    assert qs.count() == 2
    assert qs.filter(pk=two_tenant_orders["beta_open"].pk).exists() is False
    assert qs.aggregate(n=Count("id")) == {"n": 2}
    assert {o.pk for o in qs.iterator()} == expected
    assert qs.get(status=OrderStatus.OPEN) == two_tenant_orders["alpha_open"]


@pytest.mark.django_db
def test_for_tenant_get_of_another_tenants_id_is_does_not_exist(two_tenant_orders, tenant):
    # given beta's order id
    beta_id = two_tenant_orders["beta_open"].pk
    # when alpha's scope looks it up
    # then it does not exist, exactly like a missing id
    with pytest.raises(Order.DoesNotExist):
        Order.objects.for_tenant(tenant).get(pk=beta_id)
    with pytest.raises(Order.DoesNotExist):
        Order.objects.for_tenant(tenant).get(pk=beta_id + 1000)


@pytest.mark.django_db
def test_scoped_update_and_delete_touch_only_that_tenant(two_tenant_orders, tenant, other_tenant):
    # given orders in two tenants
    beta_before = list(
        Order.objects.for_tenant(other_tenant).values_list("pk", "note", "updated_at")
    )
    # when alpha's scope updates every row
    updated = Order.objects.for_tenant(tenant).update(note="alpha only")
    # then only alpha's two rows changed
    assert updated == 2
    assert list(Order.objects.for_tenant(tenant).values_list("note", flat=True)) == [
        "alpha only",
        "alpha only",
    ]
    assert (
        list(Order.objects.for_tenant(other_tenant).values_list("pk", "note", "updated_at"))
        == beta_before
    )


@pytest.mark.django_db
def test_scoped_delete_removes_only_that_tenants_rows(tenant, other_tenant):
    # given a membership in each tenant
    member(tenant, "viewer", username="a.viewer")
    member(other_tenant, "viewer", username="b.viewer")
    # when alpha's memberships are deleted through the scope
    deleted = Membership.objects.for_tenant(tenant).delete()
    # then only alpha's row is gone
    assert deleted == (1, {"tenancy.Membership": 1})
    assert list(
        Membership.objects.all_tenants(reason="test").values_list("user__username", flat=True)
    ) == ["b.viewer"]


@pytest.mark.django_db
def test_for_tenant_refuses_an_unsaved_tenant(two_tenant_orders):
    # given a tenant that was never saved
    unsaved = Tenant(slug="ghost", name="Ghost")
    # when it is used as a scope
    with pytest.raises(TenantScopeError) as exc:
        Order.objects.for_tenant(unsaved)
    # then it is refused (a None id would match nothing, or worse)
    assert str(exc.value) == "for_tenant() needs a saved tenant."


@pytest.mark.django_db
def test_all_tenants_with_a_reason_sees_every_tenant(two_tenant_orders):
    # given orders in two tenants
    # when a platform job uses the escape hatch with a reason
    qs = Order.objects.all_tenants(reason="platform job: expire due orders of every tenant")
    # then it sees every tenant's orders
    assert set(qs.values_list("pk", flat=True)) == {o.pk for o in two_tenant_orders.values()}
    assert qs.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["manager", "queryset"])
def test_all_tenants_requires_a_reason(two_tenant_orders, source):
    # given the escape hatch on the manager or on an (unscoped) queryset
    target: Any = Order.objects if source == "manager" else Order.objects.filter(kind="trade")
    # when it is called with an empty reason, or with none at all
    with pytest.raises(TenantScopeError) as exc:
        target.all_tenants(reason="")
    with pytest.raises(TypeError):
        target.all_tenants()
    with pytest.raises(TypeError):
        target.all_tenants("positional reasons are refused")
    # then it is refused
    assert str(exc.value) == "all_tenants() needs a reason."


@pytest.mark.django_db
def test_chained_querysets_keep_the_scope(two_tenant_orders, tenant):
    # given a scoped queryset
    scoped = Order.objects.for_tenant(tenant)
    # when it is refined in every usual way
    chained = (
        scoped.filter(kind="trade")
        .exclude(status=OrderStatus.CANCELED)
        .select_related("created_by")
        .annotate(n_events=Count("events"))
        .order_by("-n_events", "pk")
        .distinct()
        .all()
    )
    # then the refined querysets still run, and still see only alpha's rows
    assert list(chained.values_list("pk", "n_events")) == [
        (two_tenant_orders["alpha_open"].pk, 3),
        (two_tenant_orders["alpha_draft"].pk, 1),
    ]
    assert list(chained.values_list("reference", flat=True)[:1]) == ["T-000001"]
    assert chained.only("pk").defer("note").using("default").count() == 2
    assert list(chained.none()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("lookup", ["tenant", "tenant_id"])
def test_an_equality_filter_on_the_tenant_scopes(two_tenant_orders, tenant, lookup):
    # given orders in two tenants
    value = tenant if lookup == "tenant" else tenant.pk
    # when the queryset is filtered on one tenant (as Django's unique validation does)
    qs = Order.objects.filter(**{lookup: value})
    # then it runs and sees only that tenant's orders
    assert set(qs.values_list("pk", flat=True)) == {
        two_tenant_orders["alpha_open"].pk,
        two_tenant_orders["alpha_draft"].pk,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda t: Order.objects.filter(tenant__in=[t]),
        lambda t: Order.objects.filter(tenant__slug=t.slug),
        lambda t: Order.objects.exclude(tenant=t),
        lambda t: Order.objects.filter(tenant=None),
        lambda t: Order.objects.filter(tenant_id=True),
    ],
    ids=["tenant__in", "tenant__slug", "exclude", "none", "bool"],
)
def test_other_tenant_lookups_do_not_scope(two_tenant_orders, tenant, make):
    # given orders in two tenants
    # when the filter does not pin one tenant by equality
    # then the queryset is still unscoped and refuses to run
    with pytest.raises(TenantScopeError):
        list(make(tenant))


COMBINATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
    "xor": lambda a, b: a ^ b,
    "union": lambda a, b: a.union(b),
    "intersection": lambda a, b: a.intersection(b),
    "difference": lambda a, b: a.difference(b),
}


@pytest.mark.django_db
@pytest.mark.parametrize("combine", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_combining_a_scoped_queryset_with_an_unscoped_one_raises(
    two_tenant_orders, tenant, combine
):
    # given alpha's scope and a queryset naming no tenant
    scoped = Order.objects.for_tenant(tenant)
    unscoped = Order.objects.filter(kind="trade")
    # when they are combined either way round
    # then it is refused: the result would reach beta's rows
    with pytest.raises(TenantScopeError):
        list(combine(scoped, unscoped))
    with pytest.raises(TenantScopeError):
        list(combine(unscoped, scoped))


@pytest.mark.django_db
def test_combining_scoped_querysets_of_two_tenants_is_explicit_and_allowed(
    two_tenant_orders, tenant, other_tenant
):
    # given each tenant's scope
    alpha = Order.objects.for_tenant(tenant)
    beta = Order.objects.for_tenant(other_tenant)
    # when they are combined
    # then the result is exactly the union of the two scopes
    assert set((alpha | beta).values_list("pk", flat=True)) == {
        o.pk for o in two_tenant_orders.values()
    }
    assert {o.pk for o in alpha.union(beta)} == {o.pk for o in two_tenant_orders.values()}
    assert list(alpha & beta) == []


@pytest.mark.django_db
def test_related_manager_is_scoped_by_the_instance(two_tenant_orders, tenant):
    # given an open order of alpha (created, submitted, accepted) and orders elsewhere
    order = two_tenant_orders["alpha_open"]
    # when its journal is read through the related manager
    events = order.events.all()
    # then it runs without an explicit tenant, sees only this order's rows, and the SQL
    # carries the tenant (defence in depth, and the shard key)
    assert list(events.values_list("kind", flat=True)) == [
        "created",
        "submitted",
        "accepted",
    ]
    assert order.events.count() == 3
    assert order.events.filter(kind="created").exists() is True
    assert f'"orders_orderevent"."tenant_id" = {tenant.pk}' in str(events.query)


@pytest.mark.django_db
def test_reverse_relation_from_a_user_is_not_scoped(tenant, other_tenant):
    # given a user who belongs to two tenants
    user = member(tenant, "trader")
    Membership.objects.create(tenant=other_tenant, user=user, role="viewer")
    # when their memberships are read through the user (which has no tenant)
    # then it refuses: a user's rows span tenants, so it takes an explicit all_tenants()
    with pytest.raises(TenantScopeError):
        list(user.memberships.all())


@pytest.mark.django_db
def test_prefetch_across_tenants_loads_every_instances_rows(two_tenant_orders):
    # given orders of two tenants (a platform listing, e.g. a superuser's admin)
    orders = Order.objects.all_tenants(reason="test: platform listing").order_by("pk")
    # when their journals are prefetched in one go
    loaded = {o.pk: [e.kind for e in o.events.all()] for o in orders.prefetch_related("events")}
    # then each order has its own full journal (not only the first instance's tenant's)
    assert loaded == {
        two_tenant_orders["alpha_open"].pk: ["created", "submitted", "accepted"],
        two_tenant_orders["alpha_draft"].pk: ["created"],
        two_tenant_orders["beta_open"].pk: ["created", "submitted", "accepted"],
    }


@pytest.mark.django_db
def test_prefetch_within_one_tenant(two_tenant_orders, tenant):
    # given alpha's orders
    orders = Order.objects.for_tenant(tenant).order_by("pk").prefetch_related("events")
    # when their journals are prefetched
    loaded = [(o.pk, len(o.events.all())) for o in orders]
    # then each has its journal
    assert loaded == [
        (two_tenant_orders["alpha_open"].pk, 3),
        (two_tenant_orders["alpha_draft"].pk, 1),
    ]


@pytest.mark.django_db
def test_prefetch_with_an_unscoped_queryset_raises(two_tenant_orders, tenant):
    # given a Prefetch whose queryset names no tenant
    prefetch = Prefetch("events", queryset=OrderEvent.objects.filter(kind="created"))
    # when alpha's orders are loaded with it
    with pytest.raises(TenantScopeError) as exc:
        list(Order.objects.for_tenant(tenant).prefetch_related(prefetch))
    # then it is refused
    assert str(exc.value) == UNSCOPED["OrderEvent"]
