"""Fixtures of the tenancy suite: two tenants with staff, memberships and orders."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from orders.models import OrderStatus
from tests.conftest import member
from tests.factories import UserFactory, order_in_status


@pytest.fixture
def world(tenant: Any, other_tenant: Any) -> SimpleNamespace:
    """Alpha and beta, each with an admin, another member and orders.

    Both tenants have a trade order ``T-000001`` (references are per tenant), so a search or a
    filter that leaked across tenants would find two rows.
    """
    alpha_admin = member(tenant, "admin", username="alpha.admin")
    alpha_viewer = member(tenant, "viewer", username="alpha.viewer")
    beta_admin = member(other_tenant, "admin", username="beta.admin")
    beta_seller = member(other_tenant, "seller", username="beta.seller")
    return SimpleNamespace(
        alpha=tenant,
        beta=other_tenant,
        alpha_admin=alpha_admin,
        alpha_viewer=alpha_viewer,
        beta_admin=beta_admin,
        beta_seller=beta_seller,
        alpha_open=order_in_status(tenant=tenant, status=OrderStatus.OPEN, client_order_id="a-1"),
        alpha_held=order_in_status(tenant=tenant, status=OrderStatus.HELD, client_order_id="a-2"),
        alpha_sale=order_in_status(tenant=tenant, kind="sales", client_order_id="a-3"),
        beta_open=order_in_status(
            tenant=other_tenant, status=OrderStatus.OPEN, client_order_id="b-1"
        ),
        beta_sale=order_in_status(
            tenant=other_tenant, kind="sales", status=OrderStatus.OPEN, client_order_id="b-2"
        ),
    )


@pytest.fixture
def root(db: Any) -> Any:
    """A platform superuser who belongs to no tenant."""
    return UserFactory(username="root", is_superuser=True)
