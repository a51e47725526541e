"""Running counters of the pre-trade screens (message throttle, duplicate-order window).

Two stores behind one small interface, chosen by ``settings.COMPLIANCE_COUNTERS``:

- ``cache``: the Django cache. With Redis (``REDIS_URL``) the counters are shared by every
  process that screens, and ``incr`` is atomic: the choice for a deployment where several web
  or worker processes enter one tenant's orders.
- ``memory``: a dictionary in this process, behind a lock. Exact when one process screens a
  tenant's orders (and the only sensible choice when the cache itself is process-local), and
  free of the cache's key validation and pickling: a counter costs about a microsecond.

The default (``auto``) is ``memory`` when the default cache is Django's process-local
``LocMemCache`` (the counters would be process-local anyway) and ``cache`` otherwise.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

PURGE_EVERY = 5.0  # seconds between sweeps of expired entries (memory store)


class Counters(Protocol):
    def count(self, key: str, ttl: int) -> int:
        """Add one to the key's count (a new key starts at one and lives ``ttl`` seconds);
        return the new count."""
        ...

    def swap(self, key: str, value: Any, ttl: int) -> Any:
        """Store ``value`` under the key for ``ttl`` seconds; return what was there (``None``
        if nothing or expired)."""
        ...


class MemoryCounters:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._purge_at = 0.0

    def _purge(self, now: float) -> None:
        if now >= self._purge_at:
            self._data = {k: v for k, v in self._data.items() if v[0] > now}
            self._purge_at = now + PURGE_EVERY

    def count(self, key: str, ttl: int) -> int:
        now = time.monotonic()
        with self._lock:
            self._purge(now)
            entry = self._data.get(key)
            if entry is None or entry[0] <= now:
                self._data[key] = (now + ttl, 1)
                return 1
            n: int = entry[1] + 1
            self._data[key] = (entry[0], n)
            return n

    def swap(self, key: str, value: Any, ttl: int) -> Any:
        now = time.monotonic()
        with self._lock:
            self._purge(now)
            entry = self._data.get(key)
            self._data[key] = (now + ttl, value)
            return entry[1] if entry is not None and entry[0] > now else None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class CacheCounters:
    """The default cache, resolved per call (Django's cache handles are per thread)."""

    def count(self, key: str, ttl: int) -> int:
        cache = caches["default"]
        return 1 if cache.add(key, 1, timeout=ttl) else int(cache.incr(key))

    def swap(self, key: str, value: Any, ttl: int) -> Any:
        cache = caches["default"]
        previous = cache.get(key)
        cache.set(key, value, timeout=ttl)
        return previous


_memory = MemoryCounters()


@functools.cache
def counters() -> Counters:
    """The configured store (see the module docstring); resolved once per settings change."""
    mode = getattr(settings, "COMPLIANCE_COUNTERS", "auto")
    if mode == "auto":
        backend = settings.CACHES["default"]["BACKEND"]
        mode = "memory" if backend.endswith("LocMemCache") else "cache"
    if mode == "memory":
        return _memory
    if mode == "cache":
        return CacheCounters()
    raise ValueError(f"COMPLIANCE_COUNTERS must be auto, memory or cache, not {mode!r}.")


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("COMPLIANCE_COUNTERS", "CACHES"):
        counters.cache_clear()


def counters_reset() -> None:
    """Forget the in-process counters (tests, benchmarks)."""
    _memory.clear()
