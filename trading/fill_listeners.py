"""Post-fill listeners: how other apps learn of new executions without trading importing them.

An app registers a callable from its ``AppConfig.ready()``; ``fill_apply`` calls every
listener with the new execution, inside the fill's transaction (a listener that starts work
elsewhere defers it with ``transaction.on_commit``). Listeners must be quick and must not
raise: an exception would roll the fill back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trading.models import Execution

FillListener = Callable[["Execution"], None]
_listeners: list[FillListener] = []


def fill_listener_register(listener: FillListener) -> None:
    """Register once (registering the same callable again changes nothing)."""
    if listener not in _listeners:
        _listeners.append(listener)


def fill_listeners_notify(execution: Execution) -> None:
    for listener in tuple(_listeners):
        listener(execution)
