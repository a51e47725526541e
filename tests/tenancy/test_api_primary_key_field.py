"""TenantPrimaryKeyRelatedField (tenancy/api.py): another tenant's id is a missing id."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet
from django.urls import path
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from orders.models import EventKind, Order, OrderEvent, OrderStatus
from orders.services import event_record
from tenancy.api import TenantAPIView, TenantPrimaryKeyRelatedField
from tenancy.models import Membership, Tenant
from tenancy.roles import ALL_ROLES
from tests.conftest import client_for, tenancy_snapshot
from tests.factories import order_in_status


def _missing(pk: int) -> str:
    return f'Invalid pk "{pk}" - object does not exist.'


class OrderNoteSerializer(serializers.Serializer[Any]):
    order = TenantPrimaryKeyRelatedField(model=Order)
    related = TenantPrimaryKeyRelatedField(model=Order, many=True, required=False)
    text = serializers.CharField(max_length=100)


class OrderNoteApi(TenantAPIView):
    """A tiny tenant view that journals a note on one of the caller's orders."""

    serializer_class = OrderNoteSerializer
    write_roles = ALL_ROLES

    def tenant_queryset(self, tenant: Tenant) -> QuerySet[Order]:
        return Order.objects.for_tenant(tenant)

    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.validated_data["order"]
        event = event_record(
            order=order,
            kind=EventKind.NOTE,
            actor=request.user,
            reason=serializer.validated_data["text"],
            data={"related": [o.pk for o in serializer.validated_data.get("related", [])]},
        )
        return Response({"event": event.pk, "order": order.pk}, status=status.HTTP_201_CREATED)


urlpatterns = [path("api/test/order-notes/", OrderNoteApi.as_view())]

NOTES = "/api/test/order-notes/"


@pytest.fixture
def orders(tenant, other_tenant):
    return {
        "alpha": order_in_status(tenant=tenant, status=OrderStatus.OPEN),
        "alpha_2": order_in_status(tenant=tenant, status=OrderStatus.DRAFT),
        "beta": order_in_status(tenant=other_tenant, status=OrderStatus.OPEN),
    }


@pytest.mark.django_db
def test_own_tenants_id_is_accepted(orders, tenant):
    # given alpha's orders and alpha as the request tenant
    serializer = OrderNoteSerializer(
        data={"order": orders["alpha"].pk, "related": [orders["alpha_2"].pk], "text": "hi"},
        context={"tenant": tenant},
    )
    # when it validates
    # then the ids become alpha's orders
    assert serializer.is_valid() is True
    assert serializer.validated_data["order"] == orders["alpha"]
    assert serializer.validated_data["related"] == [orders["alpha_2"]]


@pytest.mark.django_db
def test_another_tenants_id_fails_exactly_like_a_missing_id(orders, tenant):
    # given beta's order id and an id that exists nowhere
    beta_id = orders["beta"].pk
    missing_id = beta_id + 1000
    before = tenancy_snapshot()
    # when alpha's request names each
    foreign = OrderNoteSerializer(data={"order": beta_id, "text": "x"}, context={"tenant": tenant})
    missing = OrderNoteSerializer(
        data={"order": missing_id, "text": "x"}, context={"tenant": tenant}
    )
    # then both fail with the same "does not exist" error (only the echoed id differs)
    assert (foreign.is_valid(), missing.is_valid()) == (False, False)
    assert foreign.errors == {"order": [_missing(beta_id)]}
    assert missing.errors == {"order": [_missing(missing_id)]}
    assert foreign.errors["order"][0].code == missing.errors["order"][0].code == "does_not_exist"
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_many_refuses_the_foreign_id_among_own_ids(orders, tenant):
    # given one of alpha's ids and one of beta's
    serializer = OrderNoteSerializer(
        data={
            "order": orders["alpha"].pk,
            "related": [orders["alpha_2"].pk, orders["beta"].pk],
            "text": "x",
        },
        context={"tenant": tenant},
    )
    # when it validates
    # then the list is refused on beta's id
    assert serializer.is_valid() is False
    assert serializer.errors == {"related": [_missing(orders["beta"].pk)]}


@pytest.mark.django_db
def test_without_a_tenant_in_the_context_every_id_is_refused(orders):
    # given no tenant in the serializer context (a view that forgot to pass it)
    serializer = OrderNoteSerializer(data={"order": orders["alpha"].pk, "text": "x"})
    # when it validates
    # then even an existing id does not exist: it fails closed
    assert serializer.is_valid() is False
    assert serializer.errors == {"order": [_missing(orders["alpha"].pk)]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Incorrect type. Expected pk value, received str."),
        (True, "Incorrect type. Expected pk value, received bool."),
        (None, "This field may not be null."),
        (2**63, _missing(2**63)),
        (10**30, _missing(10**30)),
        (-1, _missing(-1)),
    ],
)
def test_malformed_ids_are_field_errors(orders, tenant, value, message):
    # given a value that is not an id
    serializer = OrderNoteSerializer(data={"order": value, "text": "x"}, context={"tenant": tenant})
    # when it validates
    # then it is a field error
    assert serializer.is_valid() is False
    assert serializer.errors == {"order": [message]}


def test_a_model_that_is_not_tenant_owned_is_refused():
    # given a model without the fail-closed tenant manager
    # when the field is declared on it
    with pytest.raises(TypeError) as exc:
        TenantPrimaryKeyRelatedField(model=Tenant)
    # then it is refused at declaration time
    assert str(exc.value) == "Tenant is not tenant-owned."


@pytest.mark.django_db
def test_the_field_scopes_each_model_by_its_own_manager(tenant, other_tenant, trader):
    # given memberships in two tenants
    field = TenantPrimaryKeyRelatedField(model=Membership)
    beta_membership = Membership.objects.create(tenant=other_tenant, user=trader, role="viewer")
    field.bind("membership", serializers.Serializer(context={"tenant": tenant}))
    # when the field's queryset is read
    # then it is alpha's memberships only
    assert list(field.get_queryset()) == list(Membership.objects.for_tenant(tenant))
    assert beta_membership not in field.get_queryset()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_accepts_an_id_of_the_request_tenant(orders, trader, tenant):
    # given a trader of alpha
    api = client_for(trader)
    # when they post a note on alpha's order
    response = api.post(NOTES, {"order": orders["alpha"].pk, "text": "call"}, format="json")
    # then it is journaled on that order
    event = OrderEvent.objects.for_tenant(tenant).get(kind=EventKind.NOTE)
    assert response.status_code == 201
    assert response.json() == {"event": event.pk, "order": orders["alpha"].pk}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_answers_another_tenants_id_like_a_missing_id(orders, trader):
    # given a trader of alpha, beta's order id, and an id that exists nowhere
    api = client_for(trader)
    beta_id = orders["beta"].pk
    missing_id = beta_id + 1000
    before = tenancy_snapshot()
    # when they post notes naming each
    foreign = api.post(NOTES, {"order": beta_id, "text": "x"}, format="json")
    missing = api.post(NOTES, {"order": missing_id, "text": "x"}, format="json")
    # then both are the same 400 field error, and nothing was journaled
    assert (foreign.status_code, foreign.json()) == (
        400,
        {"code": "invalid", "detail": "Invalid input.", "errors": {"order": [_missing(beta_id)]}},
    )
    assert (missing.status_code, missing.json()) == (
        400,
        {
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {"order": [_missing(missing_id)]},
        },
    )
    assert tenancy_snapshot() == before
