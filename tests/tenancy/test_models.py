"""TenantOwned rows: foreign keys stay inside the tenant; uniqueness includes the tenant."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from orders.models import EventKind, Order, OrderEvent, OrderStatus
from tenancy.models import Membership
from tenancy.scoping import TenantScopeError
from tests.conftest import member, tenancy_snapshot
from tests.factories import UserFactory, order_in_status


def _note(**kwargs):
    return OrderEvent(
        kind=EventKind.NOTE, actor_name="test", reason="note", data={"by": "test"}, **kwargs
    )


@pytest.mark.django_db
@pytest.mark.parametrize("given_as", ["instance", "id"])
def test_save_refuses_a_foreign_key_to_another_tenants_row(tenant, other_tenant, given_as):
    # given beta's order
    beta_order = order_in_status(tenant=other_tenant, status=OrderStatus.OPEN)
    before = tenancy_snapshot()
    link: dict[str, Any] = (
        {"order": beta_order} if given_as == "instance" else {"order_id": beta_order.pk}
    )
    # when an alpha row pointing to it is saved
    with pytest.raises(TenantScopeError) as exc:
        _note(tenant=tenant, **link).save()
    # then it is refused and nothing was written
    assert str(exc.value) == "OrderEvent.order points to a row of another tenant."
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("given_as", ["instance", "id"])
def test_save_accepts_a_foreign_key_inside_the_tenant(tenant, given_as):
    # given alpha's order
    order = order_in_status(tenant=tenant, status=OrderStatus.OPEN)
    link: dict[str, Any] = {"order": order} if given_as == "instance" else {"order_id": order.pk}
    # when an alpha row pointing to it is saved
    _note(tenant=tenant, **link).save()
    # then it is written
    assert list(order.events.values_list("kind", flat=True)) == [
        "created",
        "submitted",
        "accepted",
        "note",
    ]


@pytest.mark.django_db
def test_full_clean_reports_another_tenants_id_exactly_like_a_missing_one(tenant, other_tenant):
    # given beta's order, and an id that exists nowhere
    beta_order = order_in_status(tenant=other_tenant)
    missing_id = beta_order.pk + 1000
    # when alpha rows pointing to each are validated
    with pytest.raises(ValidationError) as crossing:
        _note(tenant=tenant, order_id=beta_order.pk).full_clean()
    with pytest.raises(ValidationError) as missing:
        _note(tenant=tenant, order_id=missing_id).full_clean()
    # then both fail on the field with the same words (only the id differs)
    assert crossing.value.message_dict == {
        "order": [f"order instance with id {beta_order.pk} is not a valid choice."]
    }
    assert missing.value.message_dict == {
        "order": [f"order instance with id {missing_id} is not a valid choice."]
    }


@pytest.mark.django_db
def test_full_clean_accepts_a_foreign_key_inside_the_tenant(tenant):
    # given alpha's order
    order = order_in_status(tenant=tenant)
    # when an alpha row pointing to it is validated
    # then it is valid
    assert _note(tenant=tenant, order=order).full_clean() is None


@pytest.mark.django_db
def test_full_clean_checks_the_tenant_constraint_without_a_scope_error(tenant, other_tenant):
    # given a user who is a member of alpha
    user = member(tenant, "trader")
    before = tenancy_snapshot()
    # when a second alpha membership is validated (Django queries the default manager)
    with pytest.raises(ValidationError) as exc:
        Membership(tenant=tenant, user=user, role="viewer").full_clean()
    # then it is a validation error, not a TenantScopeError, and nothing changed
    assert exc.value.message_dict == {
        "__all__": ["Membership with this Tenant and User already exists."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_uniqueness_includes_the_tenant(tenant, other_tenant):
    # given a user who is a member of alpha
    user = member(tenant, "trader")
    # when the same user joins beta
    membership = Membership(tenant=other_tenant, user=user, role="viewer")
    membership.full_clean()
    membership.save()
    # then both memberships exist
    assert Membership.objects.all_tenants(reason="test").filter(user=user).count() == 2


@pytest.mark.django_db
def test_a_second_membership_in_one_tenant_is_refused_by_the_database(tenant):
    # given a member of alpha
    user = member(tenant, "trader")
    before = tenancy_snapshot()
    # when a second alpha membership is inserted without validation
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(tenant=tenant, user=user, role="viewer")
    # then the constraint refuses it and nothing changed
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_order_references_and_client_ids_are_unique_per_tenant_only(tenant, other_tenant):
    # given an alpha order with a client order id
    alpha = order_in_status(tenant=tenant, client_order_id="same-id")
    # when beta uses the same client order id
    beta = order_in_status(tenant=other_tenant, client_order_id="same-id")
    # then beta gets its own order, with its own reference sequence
    assert (alpha.reference, beta.reference) == ("T-000001", "T-000001")
    assert alpha.pk != beta.pk
    assert Order.objects.for_tenant(other_tenant).count() == 1


@pytest.mark.django_db
def test_an_unrelated_user_foreign_key_is_not_a_tenant_check(tenant):
    # given a user who belongs to no tenant at all (users are platform-wide)
    outsider: Any = UserFactory(username="outsider")
    # when an alpha membership points to that user
    Membership(tenant=tenant, user=outsider, role="viewer").save()
    # then it is saved: only foreign keys to tenant-owned rows are checked
    assert Membership.objects.for_tenant(tenant).filter(user=outsider).count() == 1
