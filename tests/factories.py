from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from orders.models import Order, OrderStatus
from orders.services import order_apply_transition, order_create, order_lock
from tenancy.models import Membership, Role, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    base_currency = "USD"
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.TRADER


_counter = iter(range(1, 10**9))

# How to reach each status from draft through the services (system steps where needed).
PATHS: dict[str, list[str]] = {
    OrderStatus.DRAFT: [],
    OrderStatus.PENDING: ["submit"],
    OrderStatus.HELD: ["submit", "hold"],
    OrderStatus.OPEN: ["submit", "accept"],
    OrderStatus.PARTIAL: ["submit", "accept", "fill_partially"],
    OrderStatus.COMPLETED: ["submit", "accept", "complete"],
    OrderStatus.CANCELED: ["cancel"],
    OrderStatus.REJECTED: ["submit", "reject"],
    OrderStatus.EXPIRED: ["submit", "accept", "expire"],
}


def order_in_status(
    *, tenant: Tenant, status: str = OrderStatus.DRAFT, kind: str = "trade", **kwargs: Any
) -> Order:
    """An order driven to ``status`` through the real services (journal included)."""
    client_order_id = kwargs.pop("client_order_id", f"cid-{next(_counter)}")
    # An expiry already in the past is refused at entry; set it after, as if time had passed.
    expires_at = kwargs.pop("expires_at", None)
    created = order_create(
        tenant=tenant,
        actor=None,
        kind=kind,
        client_order_id=client_order_id,
        payload={"kind": kind, "client_order_id": client_order_id, **kwargs},
        submit=False,
        **kwargs,
    )
    order = created.order
    if expires_at is not None:
        Order.objects.for_tenant(tenant).filter(pk=order.pk).update(expires_at=expires_at)
    for step in PATHS[status]:
        order = order_lock(tenant=tenant, order_id=order.pk)
        order_apply_transition(order=order, transition=step, actor=None, check_permission=False)
    return Order.objects.for_tenant(tenant).get(pk=order.pk)
