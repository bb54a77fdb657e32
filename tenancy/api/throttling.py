"""API rate limits per token and per tenant, counted in Redis (the Django cache).

A fixed window a scope: one counter `throttle:<scope>:<who>:<window>` a request, the key
expiring with its window. DRF's `SimpleRateThrottle` keeps every request's timestamp in one
cached list, which at generous rates (thousands a minute) is rewritten whole on every call; a
counter costs the same at any rate. Every window of a request is counted in one pipelined round
trip (`count_requests`: `SET … NX EX` to open a window, `INCR` to count it, for each scope),
where the cache's own `incr` took two round trips a scope (`EXISTS`, then `INCRBY`) and a third
to open a window. A refusal is DRF's 429 with `Retry-After`, the seconds left in the window.
Rates are `API_THROTTLE_RATES` in settings (`"<n>/<second|minute|hour>"`, `None` for no
limit), read on every request so tests can override them.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"600/minute"` -> (600, 60); None for no limit."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


class FixedWindowThrottle(BaseThrottle):
    scope = ""

    def identity(self, request, view) -> str | None:
        raise NotImplementedError

    def window(self, request, view, now: float) -> tuple[str, int, int, int] | None:
        """(key, limit, period, window number) of the request's window; None: no limit."""
        rate = parse_rate(settings.API_THROTTLE_RATES.get(self.scope))
        who = self.identity(request, view)
        if rate is None or who is None:
            return None
        limit, period = rate
        window = int(now // period)
        return f"throttle:{self.scope}:{who}:{window}", limit, period, window

    def allow_request(self, request, view) -> bool:
        return not count_requests([self], request, view)

    def wait(self) -> float | None:
        return self._wait


def count_requests(throttles, request, view) -> list[float]:
    """Counts the request in the window of every throttle of `throttles` (FixedWindowThrottle)
    in one Redis round trip; the waits (seconds) of those whose limit it exceeds, each throttle
    keeping its own for `wait()`."""
    now = time.time()
    windows = []
    for throttle in throttles:
        throttle._wait = None
        found = throttle.window(request, view, now)
        if found is not None:
            windows.append((throttle, *found))
    if not windows:
        return []
    # The cache's client (its keys prefixed and versioned as `cache.incr` writes them).
    client = cache._cache.get_client(write=True)
    pipe = client.pipeline(transaction=False)
    for _, key, _, period, _ in windows:
        redis_key = cache.make_and_validate_key(key)
        pipe.set(redis_key, 0, ex=period + 1, nx=True)
        pipe.incr(redis_key)
    counts = pipe.execute()[1::2]
    waits = []
    for (throttle, _, limit, period, window), used in zip(windows, counts, strict=True):
        if used > limit:
            throttle._wait = max(1, math.ceil((window + 1) * period - now))
            waits.append(throttle._wait)
    return waits


class TokenRateThrottle(FixedWindowThrottle):
    """Per API token (its id), or per user for a session."""

    scope = "token"

    def identity(self, request, view) -> str | None:
        token_id = getattr(request.auth, "pk", None)
        if token_id is not None:
            return f"t{token_id}"
        user = getattr(request, "user", None)
        return f"u{user.pk}" if user is not None and user.is_authenticated else None


class TenantRateThrottle(FixedWindowThrottle):
    """Per tenant, every caller together (checked after the membership, so the tenant is
    known)."""

    scope = "tenant"

    def identity(self, request, view) -> str | None:
        tenant_id = getattr(request._request, "tenant_id", None)
        return None if tenant_id is None else str(tenant_id)
