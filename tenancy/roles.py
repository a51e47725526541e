"""Role sets used for per-tenant permission checks (never Django's global permissions)."""

from __future__ import annotations

from tenancy.models import Role

ALL_ROLES: frozenset[str] = frozenset(Role.values)
TENANT_ADMINS: frozenset[str] = frozenset({Role.ADMIN})
REVIEWERS: frozenset[str] = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
TRADE_ENTRY: frozenset[str] = frozenset({Role.ADMIN, Role.TRADER, Role.PORTFOLIO_MANAGER})
TRADE_CANCEL: frozenset[str] = TRADE_ENTRY | {Role.OPERATIONS}
SALES_ENTRY: frozenset[str] = frozenset({Role.ADMIN, Role.SELLER, Role.OPERATIONS})
# Instruments, accounts and venues: everyone reads; administrators and operations maintain them.
REFERENCE_DATA: frozenset[str] = frozenset({Role.ADMIN, Role.OPERATIONS})
