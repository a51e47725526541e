"""Per-kind policies: how a domain app (trading, commerce) shapes the common workflow.

The orders app knows no domain. A domain registers, in its ``AppConfig.ready()``, a policy for
its kind of order:

- ``generic_entry``: whether ``POST /api/v1/orders/`` may enter this kind (a kind whose
  orders need domain detail has its own entry endpoint);
- ``accept_on_pass``: whether an order that passes screening becomes ``open`` at once (the
  default) or stays ``pending`` until the domain acknowledges it (a venue's New, say);
- ``expires_generically``: whether the beat task expires this kind at ``expires_at`` (a
  domain whose orders live at a venue expires them there instead);
- ``request_handlers``: transitions a person requests that the domain carries out itself
  (a trade order's cancel goes to its venue and waits for the confirmation);
- ``after``: callbacks run inside the transaction after a person's transition (or after
  submission + screening, under ``"submit"``), e.g. to enqueue routing with ``delay_on_commit``;
- ``after_many``: the same for a set-based entry, called once with every order of the batch
  (one routing task for a batch instead of one per order); without it, ``after`` runs per order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orders.models import Order

RequestHandler = Callable[..., "Order"]
AfterHook = Callable[["Order"], None]
AfterManyHook = Callable[[list["Order"]], None]


@dataclass(frozen=True)
class KindPolicy:
    generic_entry: bool = True
    accept_on_pass: bool = True
    expires_generically: bool = True
    request_handlers: Mapping[str, RequestHandler] = field(default_factory=dict)
    after: Mapping[str, AfterHook] = field(default_factory=dict)
    after_many: Mapping[str, AfterManyHook] = field(default_factory=dict)


_DEFAULT = KindPolicy()
_policies: dict[str, KindPolicy] = {}


def kind_register(kind: str, policy: KindPolicy) -> None:
    _policies[kind] = policy


def kind_unregister(kind: str) -> None:
    _policies.pop(kind, None)


def kinds_expiring_generically(kinds: list[str]) -> list[str]:
    return [kind for kind in kinds if kind_policy(kind).expires_generically]


def kind_policy(kind: str) -> KindPolicy:
    return _policies.get(kind, _DEFAULT)


def kind_after(order: Order, step: str) -> None:
    hook: Any = kind_policy(order.kind).after.get(step)
    if hook is not None:
        hook(order)


def kind_after_many(kind: str, orders: list[Order], step: str) -> None:
    policy = kind_policy(kind)
    hook: Any = policy.after_many.get(step)
    if hook is not None:
        hook(orders)
        return
    for order in orders:
        kind_after(order, step)
