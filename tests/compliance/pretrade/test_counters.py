"""The screens' running-counter stores (process memory, the Django cache API, Redis in one
pipeline) and how one is chosen."""

from __future__ import annotations

import os
from typing import Any

import pytest

from compliance.services import counters as module
from compliance.services.counters import (
    CacheCounters,
    Count,
    MemoryCounters,
    RedisCounters,
    Swap,
    counters,
)


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
    assert store.run([Count("k", 2), Count("k", 2), Count("other", 2), Count("k", 2)]) == [
        1,
        2,
        1,
        3,
    ]
    clock.now += 1.999
    assert store.run([Count("k", 2)]) == [4]  # the ttl runs from the first count
    clock.now += 0.001
    assert store.run([Count("k", 2)]) == [1]


def test_memory_swap_returns_the_previous_value_until_it_expires(clock: Clock) -> None:
    store = MemoryCounters()
    assert store.run([Swap("k", "a", 5)]) == [None]
    clock.now += 4.9
    assert store.run([Swap("k", "b", 5), Swap("k", "c", 5)]) == ["a", "b"]
    clock.now += 5
    assert store.run([Swap("k", "d", 5)]) == [None]


def test_memory_purges_expired_entries(clock: Clock) -> None:
    store = MemoryCounters()
    store.run([Count("old", 1)])
    clock.now += module.PURGE_EVERY + 1
    store.run([Count("new", 10)])
    assert list(store._data) == ["new"]
    store.clear()
    assert store._data == {}


def test_cache_store_counts_and_swaps_through_the_django_cache() -> None:
    from django.core.cache import cache

    store = CacheCounters()
    assert store.run([Count("thr", 5), Count("thr", 5), Swap("dup", "1.0 7", 5)]) == [1, 2, None]
    assert store.run([Count("thr", 5), Swap("dup", "2.0 8", 5)]) == [3, "1.0 7"]
    assert (cache.get("thr"), cache.get("dup")) == (3, "2.0 8")


@pytest.mark.redis
def test_redis_store_answers_a_whole_screening_in_one_pipeline(settings: Any) -> None:
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "counters-test",
        }
    }
    settings.COMPLIANCE_COUNTERS = "cache"
    store = counters()
    assert isinstance(store, RedisCounters)
    from django.core.cache import caches

    raw = redis.Redis.from_url(url)
    key = caches["default"].make_key("thr")
    raw.delete(key, caches["default"].make_key("dup"))
    round_trips = []
    execute = store._client.pipeline().__class__.execute

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        round_trips.append(len(self.command_stack))
        return execute(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store._client.pipeline().__class__, "execute", counting)
        first = store.run([Count("thr", 5), Swap("dup", "1.5 7", 9), Count("thr", 5)])
        second = store.run([Swap("dup", "2.5 8", 9), Count("thr", 5)])
    assert (first, second) == ([1, None, 2], ["1.5 7", 3])
    assert round_trips == [5, 3]  # one pipeline per call: SET NX + INCR per count, SET GET
    assert 0 < raw.ttl(key) <= 5
    assert 0 < raw.ttl(caches["default"].make_key("dup")) <= 9
    raw.delete(key, caches["default"].make_key("dup"))


def test_auto_takes_memory_with_a_process_local_cache_and_the_cache_otherwise(
    settings: Any,
) -> None:
    settings.COMPLIANCE_COUNTERS = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert isinstance(counters(), MemoryCounters)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert isinstance(counters(), CacheCounters)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6399/3,redis://127.0.0.1:6398/3",
        }
    }
    store = counters()
    assert isinstance(store, RedisCounters)
    assert store._client.connection_pool.connection_kwargs["port"] == 6399
    settings.COMPLIANCE_COUNTERS = "memory"
    assert isinstance(counters(), MemoryCounters)


def test_an_unknown_mode_is_refused(settings: Any) -> None:
    settings.COMPLIANCE_COUNTERS = "disk"
    with pytest.raises(ValueError, match="COMPLIANCE_COUNTERS must be auto, memory or cache"):
        counters()
