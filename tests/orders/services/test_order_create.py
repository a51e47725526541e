"""orders.services.order_create: creation, submission, references, idempotency, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oms_site.errors import IdempotencyConflict, PermissionDenied, ValidationFailed
from orders.models import Order, OrderEvent, OrderSequence
from orders.services import order_create
from tests.conftest import member
from tests.factories import TenantFactory, order_in_status
from tests.orders.helpers import ROLES, counts, event_rows, reload

pytestmark = pytest.mark.django_db

DIFFERS = ["Differs from the original submission with this client_order_id."]


def _create(tenant, actor, kind="trade", client_order_id="c-1", **payload):
    return order_create(
        tenant=tenant,
        actor=actor,
        kind=kind,
        client_order_id=client_order_id,
        payload={"kind": kind, "client_order_id": client_order_id, **payload},
        note=payload.get("note", ""),
        expires_at=payload.get("expires_at"),
    )


def test_create_submits_screens_and_opens_with_a_full_journal(tenant, trader):
    # given an empty tenant and a trader
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    # when the trader creates a trade order
    result = _create(tenant, trader, note="first", expires_at=expires)
    # then it is created, submitted, screened (no screens) and accepted
    order = reload(result.order)
    assert result.created is True
    assert (order.kind, order.reference, order.client_order_id) == ("trade", "T-000001", "c-1")
    assert (order.status, order.status_reason, order.note) == ("open", "", "first")
    assert order.expires_at == expires
    assert order.created_by == trader
    assert order.submission == {
        "kind": "trade",
        "client_order_id": "c-1",
        "note": "first",
        "expires_at": "2031-01-02T03:04:05Z",
    }
    assert event_rows(order) == [
        ("created", "", "draft", "alpha.trader", ""),
        ("submitted", "draft", "pending", "alpha.trader", ""),
        ("screened", "pending", "pending", "system", ""),
        ("accepted", "pending", "open", "system", ""),
    ]
    data = list(
        OrderEvent.objects.for_tenant(tenant).filter(order=order).values_list("data", flat=True)
    )
    assert data == [
        {"reference": "T-000001", "client_order_id": "c-1"},
        {},
        {"outcome": "accept", "screens": [], "findings": []},
        {"screening": "accept"},
    ]


def test_create_without_submit_leaves_a_draft_with_one_event(tenant):
    # given a seller
    seller = member(tenant, "seller", username="alpha.seller")
    # when a sales order is created with submit=False
    result = order_create(
        tenant=tenant,
        actor=seller,
        kind="sales",
        client_order_id="draft-1",
        payload={"x": 1},
        submit=False,
    )
    # then it stays a draft, journaled once
    order = reload(result.order)
    assert (order.status, order.reference) == ("draft", "S-000001")
    assert event_rows(order) == [("created", "", "draft", "alpha.seller", "")]


def test_system_creation_has_no_creator_and_journals_system(tenant):
    # given no actor (an import or a platform job)
    # when it creates an order
    result = _create(tenant, None)
    # then the journal names the system
    order = reload(result.order)
    assert order.created_by is None
    assert [row[3] for row in event_rows(order)] == ["system", "system", "system", "system"]


def test_references_are_gapless_per_tenant_and_kind(tenant, other_tenant):
    # given two tenants
    # when orders of both kinds are created in both tenants, interleaved
    refs = [
        order_in_status(tenant=tenant, kind="trade").reference,
        order_in_status(tenant=tenant, kind="sales").reference,
        order_in_status(tenant=other_tenant, kind="trade").reference,
        order_in_status(tenant=tenant, kind="trade").reference,
        order_in_status(tenant=tenant, kind="sales").reference,
        order_in_status(tenant=tenant, kind="trade").reference,
        order_in_status(tenant=other_tenant, kind="sales").reference,
    ]
    # then each (tenant, kind) counts 1, 2, 3... on its own
    assert refs == [
        "T-000001",
        "S-000001",
        "T-000001",
        "T-000002",
        "S-000002",
        "T-000003",
        "S-000001",
    ]
    assert sorted(OrderSequence.objects.for_tenant(tenant).values_list("kind", "last_value")) == [
        ("sales", 2),
        ("trade", 3),
    ]


def test_failed_creation_consumes_no_reference_and_persists_nothing(tenant, trader):
    # given one order already numbered T-000001
    _create(tenant, trader, client_order_id="first")
    before = counts(tenant)

    def detail_create(order: Order) -> None:
        raise RuntimeError("detail row refused")

    # when a creation fails inside the transaction (the domain detail raises)
    with pytest.raises(RuntimeError, match="detail row refused"):
        order_create(
            tenant=tenant,
            actor=trader,
            kind="trade",
            client_order_id="second",
            payload={},
            detail_create=detail_create,
        )
    # then nothing is persisted and the next order gets the next number
    assert counts(tenant) == before
    assert _create(tenant, trader, client_order_id="third").order.reference == "T-000002"


def test_failed_first_creation_leaves_no_counter_row(tenant, trader):
    # given a tenant that never numbered a sales order
    def detail_create(order: Order) -> None:
        raise RuntimeError("boom")

    # when its first sales creation fails
    with pytest.raises(RuntimeError, match="boom"):
        order_create(
            tenant=tenant,
            actor=None,
            kind="sales",
            client_order_id="s1",
            payload={},
            detail_create=detail_create,
        )
    # then no counter, order or event exists, and the next one is S-000001
    assert counts(tenant) == (0, 0, [])
    assert _create(tenant, None, kind="sales", client_order_id="s2").order.reference == "S-000001"


def test_detail_create_runs_inside_the_creation_with_the_new_order(tenant, trader):
    # given a domain detail hook that records what it saw
    seen = []

    def detail_create(order: Order) -> None:
        seen.append((order.pk is not None, order.reference, order.status))

    # when an order is created with it
    order_create(
        tenant=tenant,
        actor=trader,
        kind="trade",
        client_order_id="d-1",
        payload={},
        detail_create=detail_create,
    )
    # then it ran once, before submission, on the saved order
    assert seen == [(True, "T-000001", "draft")]


def test_same_client_id_and_payload_returns_the_existing_order(tenant, trader):
    # given an order
    first = _create(tenant, trader, note="n", expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    before = counts(tenant)
    # when the same submission arrives again
    again = _create(tenant, trader, note="n", expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    # then it is the same order, and nothing new is written
    assert again.created is False
    assert again.order.pk == first.order.pk
    assert counts(tenant) == before


def test_same_client_id_with_a_different_payload_names_the_differing_fields(tenant, trader):
    # given an order
    first = _create(tenant, trader, note="n", price=Decimal("1.50"))
    before = counts(tenant)
    # when the same client id arrives with another note and price, and an extra field
    with pytest.raises(IdempotencyConflict) as exc:
        _create(tenant, trader, note="m", price=Decimal("1.5"), side="buy")
    # then the conflict names exactly those fields and nothing changes
    assert exc.value.errors == {"note": DIFFERS, "price": DIFFERS, "side": DIFFERS}
    assert exc.value.extra == {"order_id": first.order.pk, "reference": "T-000001"}
    assert exc.value.as_dict()["code"] == "idempotency_conflict"
    assert counts(tenant) == before


def test_a_missing_field_on_replay_is_a_difference(tenant, trader):
    # given an order submitted with a note
    _create(tenant, trader, note="n")
    before = counts(tenant)
    # when the replay omits it
    with pytest.raises(IdempotencyConflict) as exc:
        order_create(
            tenant=tenant,
            actor=trader,
            kind="trade",
            client_order_id="c-1",
            payload={"kind": "trade", "client_order_id": "c-1"},
        )
    # then the note is named
    assert exc.value.errors == {"note": DIFFERS}
    assert counts(tenant) == before


def test_same_client_id_for_another_kind_or_tenant_is_another_order(tenant, other_tenant):
    # given a trade order "c-1" in tenant alpha
    trade = _create(tenant, None, kind="trade")
    # when "c-1" is used for a sales order, and in another tenant
    sales = _create(tenant, None, kind="sales")
    foreign = _create(other_tenant, None, kind="trade")
    # then each is a new order with its own reference
    assert (sales.created, foreign.created) == (True, True)
    assert len({trade.order.pk, sales.order.pk, foreign.order.pk}) == 3
    assert (trade.order.reference, sales.order.reference, foreign.order.reference) == (
        "T-000001",
        "S-000001",
        "T-000001",
    )
    assert counts(tenant)[0] == 2
    assert counts(other_tenant)[0] == 1


def test_unknown_kind_is_refused_and_nothing_persisted(tenant, trader):
    # given a tenant
    # when an order of an unknown kind is created
    with pytest.raises(ValidationFailed) as exc:
        _create(tenant, trader, kind="bond")
    # then it is a validation error naming the kind
    assert exc.value.errors == {"kind": ["Unknown order kind 'bond'."]}
    assert counts(tenant) == (0, 0, [])


ENTRY = {
    "trade": {"admin", "trader", "portfolio_manager"},
    "sales": {"admin", "seller", "operations"},
}


@pytest.mark.parametrize("kind", ["trade", "sales"])
@pytest.mark.parametrize("role", ROLES)
def test_entry_roles_per_kind(tenant, role, kind):
    # given a member with this role
    user = member(tenant, role, username=f"u-{role}")
    # when they create an order of this kind
    if role in ENTRY[kind]:
        result = _create(tenant, user, kind=kind)
        # then entry roles create it
        assert (result.created, reload(result.order).status) == (True, "open")
        assert counts(tenant)[:2] == (1, 4)
    else:
        with pytest.raises(PermissionDenied) as exc:
            _create(tenant, user, kind=kind)
        # and other roles are refused with nothing persisted
        assert exc.value.message == f"Your role may not enter {kind} orders."
        assert counts(tenant) == (0, 0, [])


def test_a_role_in_another_tenant_grants_nothing(tenant, other_tenant):
    # given a trader of beta only
    outsider = member(other_tenant, "admin", username="beta.admin")
    # when they create an order in alpha
    with pytest.raises(PermissionDenied) as exc:
        _create(tenant, outsider)
    # then it is refused and nothing is persisted
    assert exc.value.message == "Your role may not enter trade orders."
    assert counts(tenant) == (0, 0, [])


def test_inactive_tenant_refuses_creation(db):
    # given an inactive tenant
    dormant: Any = TenantFactory(slug="dormant", active=False)
    # when the system creates an order there
    with pytest.raises(PermissionDenied) as exc:
        _create(dormant, None)
    # then it is refused and nothing is persisted
    assert exc.value.message == "This tenant is inactive."
    assert counts(dormant) == (0, 0, [])
