"""API rate limits per token and per tenant, counted in Redis (the Django cache).

A fixed window a scope: one `INCR` of `throttle:<scope>:<who>:<window>` a request, the key
expiring with its window. DRF's `SimpleRateThrottle` keeps every request's timestamp in one
cached list, which at generous rates (thousands a minute) is rewritten whole on every call; a
counter costs the same at any rate. A refusal is DRF's 429 with `Retry-After`, the seconds left
in the window. Rates are `API_THROTTLE_RATES` in settings (`"<n>/<second|minute|hour>"`,
`None` for no limit), read on every request so tests can override them.
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

    def allow_request(self, request, view) -> bool:
        self._wait = None
        rate = parse_rate(settings.API_THROTTLE_RATES.get(self.scope))
        who = self.identity(request, view)
        if rate is None or who is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{who}:{window}"
        try:
            used = cache.incr(key)
        except ValueError:  # the window's first request
            used = 1 if cache.add(key, 1, period + 1) else cache.incr(key)
        if used <= limit:
            return True
        self._wait = max(1, math.ceil((window + 1) * period - now))
        return False

    def wait(self) -> float | None:
        return self._wait


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
