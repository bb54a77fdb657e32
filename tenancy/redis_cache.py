"""Django's Redis cache with one Redis client object a server, kept for the process.

Django's `RedisCacheClient` builds a new `redis.Redis` for every cache call, on the same
connection pool; building one copies redis-py's table of about 170 response callbacks into a
case-insensitive dict, a few hundred Python calls each time, two or three times a request.
The client object holds no connection and no per-call state (its pool does the connecting and
is safe across threads and forks), so one a server serves every call.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}  # id of a pool (kept in `_pools`) -> its client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
