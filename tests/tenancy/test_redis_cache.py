"""The cache keeps one Redis client object a server for the process, and still behaves as
Django's Redis cache, through a restart of the connection."""

from __future__ import annotations

from django.core.cache import cache, caches

from tenancy.redis_cache import RedisCache


def test_the_cache_is_ours_and_reuses_its_client():
    assert isinstance(caches["default"], RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: one pool, one client


def test_reads_and_writes_through_the_kept_client():
    cache.set("redis-cache-test:a", {"n": 1}, 30)
    cache.set_many({"redis-cache-test:b": 2, "redis-cache-test:c": [3]}, 30)
    assert cache.get("redis-cache-test:a") == {"n": 1}
    assert cache.get_many(["redis-cache-test:b", "redis-cache-test:c", "redis-cache-test:x"]) == {
        "redis-cache-test:b": 2,
        "redis-cache-test:c": [3],
    }
    assert cache.add("redis-cache-test:counter", 0, 30)
    assert cache.incr("redis-cache-test:counter") == 1
    cache.delete_many(["redis-cache-test:a", "redis-cache-test:b", "redis-cache-test:c"])
    assert cache.get("redis-cache-test:a") is None
    cache.delete("redis-cache-test:counter")


def test_a_dropped_connection_is_replaced_on_the_next_call():
    cache.set("redis-cache-test:d", "kept", 30)
    client = cache._cache.get_client()
    client.connection_pool.disconnect()  # as after a Redis restart: every connection closed
    assert cache.get("redis-cache-test:d") == "kept"
    assert cache._cache.get_client() is client
    cache.delete("redis-cache-test:d")
