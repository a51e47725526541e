"""Parsing helpers shared by the connectors: defensive reads of JSON, timestamps, money, pacing.

A marketplace can answer valid JSON of the wrong shape (an address sent as a string, a list
entry that is not an object). Every connector reads its answers through :class:`Json`, which
checks the type of each value it hands out, so the wrong shape never reaches the code as an
``AttributeError``. Where the wrong shape is found decides what it costs:

- in the *envelope* of an answer (the objects that hold the order list and the paging: a
  ``payload`` that is not an object, an ``orders`` that is not an array) -> a
  :class:`~commerce.marketplaces.http.MalformedResponse`: the page cannot be trusted, the run
  fails with the reason and nothing of that page is stored;
- inside one order (including its items, which Amazon serves by a second call) ->
  :class:`BadOrder` naming the field: that order is rejected (counted in the run's errors with
  its external id and the reason) and the rest of the page is stored. A webhook answers 400
  naming the field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from commerce.marketplaces.http import MalformedResponse


class BadOrder(ValueError):
    """One order does not have the documented shape (``field``: where, when known)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def iso_utc(value: datetime) -> str:
    """``2024-05-01T12:00:00Z`` (what every marketplace accepts for UTC instants)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, *, what: str) -> datetime:
    """An ISO 8601 instant with an offset (or ``Z``) -> aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise BadOrder(f"{what} is missing.", field=what)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadOrder(f"{what} {value!r} is not an ISO 8601 time.", field=what) from None
    if parsed.tzinfo is None:
        raise BadOrder(f"{what} {value!r} has no time zone offset.", field=what)
    return parsed.astimezone(UTC)


def number_of(value: Any) -> Decimal | None:
    """The finite number a JSON value spells (a number, or a string of one), else None."""
    if type(value) is int:
        return Decimal(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def decimal_of(value: Any, *, what: str, default: Decimal | None = None) -> Decimal:
    if value is None or value == "":
        if default is not None:
            return default
        raise BadOrder(f"{what} is missing.", field=what)
    result = number_of(value)
    if result is None:
        raise BadOrder(f"{what} {value!r} is not a number.", field=what)
    return result


def text(value: Any, limit: int) -> str:
    """A scalar as text (for ids read outside an order's shape checks; never fails)."""
    return "" if value is None else str(value)[:limit]


def count_of(value: Any) -> int | None:
    """A non-negative JSON integer (a page's ``total``), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


_EMPTY: Mapping[str, Any] = {}


class Json:
    """One JSON object of a marketplace answer, read with the type of each value checked.

    ``path`` names the object in messages (``""`` for an order's root, so that an error names
    the order's own field, e.g. ``shipping_address``); ``envelope`` picks the error raised on
    a wrong shape (see the module docstring). A missing or ``null`` object or array reads as
    empty: marketplaces omit what does not apply. Reading costs little where the shape is
    right (a page holds thousands of values): a nested object's path is only spelled out when
    an error names it.
    """

    __slots__ = ("_key", "_parent", "_path", "envelope", "value")

    def __init__(
        self,
        value: Any,
        *,
        path: str = "",
        envelope: bool = False,
        parent: Json | None = None,
        key: str = "",
    ) -> None:
        self._path: str | None = path if parent is None else None
        self._parent = parent
        self._key = key
        self.envelope = envelope
        if type(value) is not dict and not isinstance(value, Mapping):
            raise self.error(f"{self.path or 'The order'} is not a JSON object.", self.path)
        self.value: Mapping[str, Any] = value

    @property
    def path(self) -> str:
        if self._path is None:
            assert self._parent is not None
            self._path = self._parent.at(self._key)
        return self._path

    @classmethod
    def answer(cls, value: Any, what: str) -> Json:
        """The envelope of an answer (a wrong shape fails the page)."""
        return cls(value, path=what, envelope=True)

    @classmethod
    def order(cls, value: Any) -> Json:
        """One order (a wrong shape rejects that order only)."""
        return cls(value)

    def error(self, message: str, field: str) -> Exception:
        if self.envelope:
            return MalformedResponse(message)
        return BadOrder(message, field=field)

    def at(self, key: str) -> str:
        path = self.path
        return f"{path}.{key}" if path else key

    def get(self, key: str) -> Any:
        return self.value.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def obj(self, key: str) -> Json:
        """The object under ``key`` (empty when missing or null)."""
        value = self.value.get(key)
        return Json(
            _EMPTY if value is None else value, envelope=self.envelope, parent=self, key=key
        )

    def array(self, key: str) -> list[Any]:
        """The array under ``key`` as is (empty when missing or null)."""
        value = self.value.get(key)
        if value is None:
            return []
        if type(value) is not list:
            raise self.error(f"{self.at(key)} is not a JSON array.", self.at(key))
        return value

    def objs(self, key: str) -> list[Json]:
        """The array of objects under ``key`` (each entry checked)."""
        envelope = self.envelope
        return [
            Json(item, envelope=envelope, parent=self, key=f"{key}[{index}]")
            for index, item in enumerate(self.array(key))
        ]

    def first(self, key: str) -> Json:
        """The first object of the array under ``key`` (empty when the array is)."""
        entries = self.array(key)
        if not entries:
            return Json(_EMPTY, envelope=self.envelope, parent=self, key=key)
        return Json(entries[0], envelope=self.envelope, parent=self, key=f"{key}[0]")

    def text(self, key: str, limit: int) -> str:
        """A scalar as text ("" when missing or null; an object or array is a wrong shape)."""
        value = self.value.get(key)
        if type(value) is str:
            return value[:limit]
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.error(f"{self.at(key)} is not text.", self.at(key))
        return str(value)[:limit]

    def decimal(self, key: str, *, default: Decimal | None = None) -> Decimal:
        value = self.value.get(key)
        # The common case first, without spelling out the field's path (errors only need it).
        number = number_of(value)
        if number is not None:
            return number
        try:
            return decimal_of(value, what=self.at(key), default=default)
        except BadOrder as exc:
            raise self.error(str(exc), exc.field) from None

    def time(self, key: str) -> datetime:
        try:
            return parse_time(self.value.get(key), what=self.at(key))
        except BadOrder as exc:
            raise self.error(str(exc), exc.field) from None


class Pacer:
    """Client-side token bucket for one rate-limited operation: ``burst`` calls at once, then
    ``rate`` calls per second (updated from the marketplace's rate-limit header when it sends
    one). :meth:`wait` returns how long to sleep before the next call."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def wait(self) -> float:
        now = self.clock()
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.stamp = max(now, self.stamp)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        wait = (1 - self.tokens) / self.rate
        self.tokens = 0.0
        self.stamp += wait  # the slept time has paid for this call's token
        return wait

    def update(self, header: str) -> None:
        """A rate-limit header's requests/second (ignored when absent or not a number)."""
        try:
            rate = float(header)
        except ValueError:
            return
        if rate > 0:
            self.rate = rate
