"""Per-tenant role checks behind the order FSM's ``permission=`` hooks.

django-fsm-2 calls ``permission(instance, user)``; here that means: does the user hold, in the
order's tenant, a role allowed to run this transition for this kind of order. System transitions
(acceptance, fills, expiry...) are run by services, never offered to a person.
"""

from __future__ import annotations

from typing import Any

from tenancy.roles import REVIEWERS, SALES_ENTRY, TRADE_CANCEL, TRADE_ENTRY
from tenancy.selectors import user_has_role

ENTRY_ROLES: dict[str, frozenset[str]] = {"trade": TRADE_ENTRY, "sales": SALES_ENTRY}
CANCEL_ROLES: dict[str, frozenset[str]] = {"trade": TRADE_CANCEL, "sales": SALES_ENTRY}


def _role_in(order: Any, user: Any, roles: frozenset[str]) -> bool:
    return user_has_role(user=user, tenant_id=order.tenant_id, roles=roles)


def can_enter(order: Any, user: Any) -> bool:
    return _role_in(order, user, ENTRY_ROLES[order.kind])


def can_cancel(order: Any, user: Any) -> bool:
    return _role_in(order, user, CANCEL_ROLES[order.kind])


def can_review(order: Any, user: Any) -> bool:
    return _role_in(order, user, REVIEWERS)


def can_reject(order: Any, user: Any) -> bool:
    """``order`` is an orders.Order (typed Any: django-fsm passes a plain Model).

    A held order is declined by a reviewer; a pending one is rejected by the system only."""
    from orders.models import OrderStatus

    return order.status == OrderStatus.HELD and can_review(order, user)


def system_only(order: Any, user: Any) -> bool:
    return False
