"""The screens' running-counter stores: in-process and Django cache, and how one is chosen."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.services import counters as module
from compliance.services.counters import CacheCounters, MemoryCounters, counters


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: Any) -> Clock:
    fake = Clock()
    monkeypatch.setattr(module.time, "monotonic", fake)
    return fake


def test_memory_count_starts_at_one_and_restarts_after_its_ttl(clock: Clock) -> None:
    store = MemoryCounters()
    assert [store.count("k", 2) for _ in range(3)] == [1, 2, 3]
    assert store.count("other", 2) == 1
    clock.now += 1.999
    assert store.count("k", 2) == 4  # the ttl runs from the first count
    clock.now += 0.001
    assert store.count("k", 2) == 1


def test_memory_swap_returns_the_previous_value_until_it_expires(clock: Clock) -> None:
    store = MemoryCounters()
    assert store.swap("k", "a", 5) is None
    clock.now += 4.9
    assert store.swap("k", "b", 5) == "a"
    clock.now += 5
    assert store.swap("k", "c", 5) is None


def test_memory_purges_expired_entries(clock: Clock) -> None:
    store = MemoryCounters()
    store.count("old", 1)
    clock.now += module.PURGE_EVERY + 1
    store.count("new", 10)
    assert list(store._data) == ["new"]
    store.clear()
    assert store._data == {}


def test_cache_store_counts_and_swaps_in_the_django_cache() -> None:
    from django.core.cache import cache

    store = CacheCounters()
    assert [store.count("thr", 5) for _ in range(3)] == [1, 2, 3]
    assert cache.get("thr") == 3
    assert store.swap("dup", (1.0, 7), 5) is None
    assert store.swap("dup", (2.0, 8), 5) == (1.0, 7)


def test_auto_takes_memory_with_a_process_local_cache_and_the_cache_otherwise(
    settings: Any,
) -> None:
    settings.COMPLIANCE_COUNTERS = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert isinstance(counters(), MemoryCounters)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert isinstance(counters(), CacheCounters)
    settings.COMPLIANCE_COUNTERS = "memory"
    assert isinstance(counters(), MemoryCounters)


def test_an_unknown_mode_is_refused(settings: Any) -> None:
    settings.COMPLIANCE_COUNTERS = "disk"
    with pytest.raises(ValueError, match="COMPLIANCE_COUNTERS must be auto, memory or cache"):
        counters()
