"""The screening protocol: the gate compliance plugs into.

Trading and commerce never import compliance. Compliance registers screens here from its
``AppConfig.ready()``; submission services call :func:`screening_run` explicitly. A screen looks
at an order and returns a :class:`Decision`; the merged decision routes the order:
any hard breach -> ``rejected``, else any soft breach -> ``held``, else (warnings or nothing)
-> accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from orders.models import Order


class Severity(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    WARN = "warn"


class Outcome(StrEnum):
    REJECT = "reject"
    HOLD = "hold"
    ACCEPT = "accept"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "data": self.data,
        }


@dataclass(frozen=True)
class Decision:
    findings: tuple[Finding, ...] = ()
    screens: tuple[str, ...] = ()

    @property
    def hard(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.HARD]

    @property
    def soft(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.SOFT]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARN]

    @property
    def outcome(self) -> Outcome:
        if self.hard:
            return Outcome.REJECT
        if self.soft:
            return Outcome.HOLD
        return Outcome.ACCEPT

    def summary(self) -> str:
        chosen = self.hard or self.soft or self.warnings
        return "; ".join(f"{f.rule}: {f.message}" for f in chosen)[:500]

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "screens": list(self.screens),
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def merge(cls, decisions: Iterable[tuple[str, Decision]]) -> Decision:
        findings: list[Finding] = []
        names: list[str] = []
        for name, decision in decisions:
            names.append(name)
            findings.extend(decision.findings)
        return cls(findings=tuple(findings), screens=tuple(names))


class Screen(Protocol):
    def __call__(self, order: Order) -> Decision: ...


class ManyScreen(Protocol):
    def __call__(self, orders: Sequence[Order]) -> list[Decision]: ...


@dataclass(frozen=True)
class _Registration:
    name: str
    screen: Screen
    kinds: frozenset[str] | None
    many: ManyScreen | None = None

    def applies(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


_registry: dict[str, _Registration] = {}


def screen_register(
    name: str,
    screen: Screen,
    *,
    kinds: Iterable[str] | None = None,
    many: ManyScreen | None = None,
) -> None:
    """Register (or replace) a screen; ``kinds`` limits it to some order kinds. ``many``: the
    screen's set-based entry point (orders -> the decision ``screen`` gives each, in order),
    which :func:`screening_run_many` calls once for a whole set of orders."""
    _registry[name] = _Registration(name, screen, frozenset(kinds) if kinds else None, many)


def screen_unregister(name: str) -> None:
    _registry.pop(name, None)


def screens_registered(kind: str | None = None) -> list[str]:
    """The registered screens' names (``kind``: those that apply to that order kind)."""
    return [r.name for r in _registry.values() if kind is None or r.applies(kind)]


def screening_run(order: Order) -> Decision:
    """Run every screen that applies to the order's kind, in registration order."""
    applicable = [r for r in _registry.values() if r.applies(order.kind)]
    return Decision.merge((r.name, r.screen(order)) for r in applicable)


def screening_run_many(orders: Sequence[Order], kind: str) -> list[Decision]:
    """What :func:`screening_run` decides for each of ``orders`` (all of ``kind``): every
    screen that applies, in registration order, the decisions merged per order. A screen with
    a set-based entry point is called once for all of them; any other once per order."""
    per_screen: list[tuple[str, list[Decision]]] = []
    for registration in _registry.values():
        if registration.applies(kind):
            if registration.many is not None:
                results = list(registration.many(orders))
            else:
                results = [registration.screen(order) for order in orders]
            per_screen.append((registration.name, results))
    return [
        Decision.merge((name, results[n]) for name, results in per_screen)
        for n in range(len(orders))
    ]
