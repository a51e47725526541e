"""What every detector is: a name, documented default parameters, a severity, and a
``detect(window, params) -> findings`` function over one scan window."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

Params = Mapping[str, Any]


@dataclass(frozen=True)
class ScanWindow:
    """What one scan of one detector covers: ids ``after < id <= upto`` are new (each kind of
    row by its own cursor); rows up to ``upto`` may be read as look-back context."""

    tenant_id: int
    exec_after: int
    exec_upto: int
    order_after: int
    order_upto: int
    restricted_after: int
    restricted_upto: int

    @property
    def has_new(self) -> bool:
        return (
            self.exec_upto > self.exec_after
            or self.order_upto > self.order_after
            or self.restricted_upto > self.restricted_after
        )

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "exec_after": self.exec_after,
            "exec_upto": self.exec_upto,
            "order_after": self.order_after,
            "order_upto": self.order_upto,
            "restricted_after": self.restricted_after,
            "restricted_upto": self.restricted_upto,
            **extra,
        }


@dataclass
class Finding:
    """One alert to raise: its dedupe key names the evidence, so it is raised once."""

    dedupe_key: str
    title: str
    account_codes: list[str]
    order_ids: list[int]
    execution_ids: list[int]
    figures: dict[str, Any] = field(default_factory=dict)
    order_id: int | None = None  # the one order an order-level finding is about

    def evidence(self, detector: str, params: Params) -> dict[str, Any]:
        return {
            "detector": detector,
            "accounts": list(self.account_codes),
            "orders": list(self.order_ids),
            "executions": list(self.execution_ids),
            "figures": _plain(self.figures),
            "params": _plain(dict(params)),
        }


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    title: str
    severity: str
    defaults: Mapping[str, Any]
    detect: Callable[[ScanWindow, Params], list[Finding]]
    uses: frozenset[str] = frozenset({"executions"})  # which cursors make it run


def dec(value: Any) -> Decimal:
    """A SQL number (Decimal on PostgreSQL, float or int on SQLite) as an exact Decimal."""
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def plain_decimal(value: Decimal) -> str:
    """``100.00000000`` -> ``"100"``, ``0.50`` -> ``"0.5"`` (no exponent)."""
    return format(value.normalize(), "f")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
