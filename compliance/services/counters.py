"""Running counters of the pre-trade screens (message throttle, duplicate-order window).

A screening asks for all of its counters at once (:meth:`Counters.run`), so a store that lives
in another process answers in one round trip however many throttle and duplicate rules apply.
The store is chosen by ``settings.COMPLIANCE_COUNTERS``:

- ``cache``: shared by every process that screens, the choice for a deployment where several
  web or worker processes enter one tenant's orders. With Django's Redis cache backend the
  counters go to that Redis in one pipeline per screening (``SET NX EX`` + ``INCR`` for a count,
  ``SET GET EX`` for a swap: atomic per key); with any other shared cache backend, through the
  Django cache API (``add``/``incr``, ``get``/``set``), one call per operation.
- ``memory``: a dictionary in this process, behind a lock. Exact when one process screens a
  tenant's orders (and the only sensible choice when the cache itself is process-local): a
  counter costs about a microsecond.

The default (``auto``) is ``memory`` when the default cache is Django's process-local
``LocMemCache`` (the counters would be process-local anyway) and ``cache`` otherwise.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

PURGE_EVERY = 5.0  # seconds between sweeps of expired entries (memory store)


@dataclass(frozen=True)
class Count:
    """Add one to the key's count (a new key starts at one and lives ``ttl`` seconds); the
    answer is the new count."""

    key: str
    ttl: int


@dataclass(frozen=True)
class Swap:
    """Store ``value`` under the key for ``ttl`` seconds; the answer is what was there
    (``None`` if nothing or expired)."""

    key: str
    value: str
    ttl: int


Op = Count | Swap


class Counters(Protocol):
    def run(self, ops: Sequence[Op]) -> list[Any]:
        """Apply the operations in order; one answer per operation."""
        ...


class MemoryCounters:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._purge_at = 0.0

    def run(self, ops: Sequence[Op]) -> list[Any]:
        now = time.monotonic()
        answers: list[Any] = []
        with self._lock:
            if now >= self._purge_at:
                self._data = {k: v for k, v in self._data.items() if v[0] > now}
                self._purge_at = now + PURGE_EVERY
            data = self._data
            for op in ops:
                entry = data.get(op.key)
                live = entry is not None and entry[0] > now
                if isinstance(op, Count):
                    n = entry[1] + 1 if live and entry is not None else 1
                    data[op.key] = (entry[0] if live and entry is not None else now + op.ttl, n)
                    answers.append(n)
                else:
                    data[op.key] = (now + op.ttl, op.value)
                    answers.append(entry[1] if live and entry is not None else None)
        return answers

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class CacheCounters:
    """Through the Django cache API, one call per operation (any shared backend)."""

    def run(self, ops: Sequence[Op]) -> list[Any]:
        cache = caches["default"]  # resolved per call: Django's cache handles are per thread
        answers: list[Any] = []
        for op in ops:
            if isinstance(op, Count):
                answers.append(1 if cache.add(op.key, 1, timeout=op.ttl) else cache.incr(op.key))
            else:
                answers.append(cache.get(op.key))
                cache.set(op.key, op.value, timeout=op.ttl)
        return answers


class RedisCounters:
    """The default cache's Redis, one pipeline per screening; keys in the cache's namespace
    (``make_key``: its prefix and version), so clearing the cache clears them too."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)

    def run(self, ops: Sequence[Op]) -> list[Any]:
        make_key = caches["default"].make_key
        pipe = self._client.pipeline(transaction=False)
        for op in ops:
            key = make_key(op.key)
            if isinstance(op, Count):
                pipe.set(key, 0, ex=op.ttl, nx=True)
                pipe.incr(key)
            else:
                pipe.set(key, op.value, ex=op.ttl, get=True)
        replies = iter(pipe.execute())
        answers: list[Any] = []
        for op in ops:
            if isinstance(op, Count):
                next(replies)  # the SET NX
                answers.append(int(next(replies)))
            else:
                previous = next(replies)
                answers.append(None if previous is None else previous.decode())
        return answers


_memory = MemoryCounters()


@functools.cache
def counters() -> Counters:
    """The configured store (see the module docstring); resolved once per settings change."""
    mode = getattr(settings, "COMPLIANCE_COUNTERS", "auto")
    cache = settings.CACHES["default"]
    if mode == "auto":
        mode = "memory" if cache["BACKEND"].endswith("LocMemCache") else "cache"
    if mode == "memory":
        return _memory
    if mode == "cache":
        if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
            location = cache["LOCATION"]
            servers = re.split("[;,]", location) if isinstance(location, str) else location
            return RedisCounters(servers[0])  # Django's RedisCache writes to the first
        return CacheCounters()
    raise ValueError(f"COMPLIANCE_COUNTERS must be auto, memory or cache, not {mode!r}.")


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("COMPLIANCE_COUNTERS", "CACHES"):
        counters.cache_clear()


def counters_reset() -> None:
    """Forget the in-process counters (tests, benchmarks)."""
    _memory.clear()
