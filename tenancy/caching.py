"""Dropping cached copies when the rows behind them change.

A copy is dropped twice: at once, and again when the transaction commits, because a request
that reads between the two would otherwise cache the old rows again until the copy expires.
A family of copies too wide to name (every user's, every tenant's) carries a generation
number instead: bumping it makes every copy stale."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction


def forget(keys: Iterable[str]) -> None:
    """Drop these cache keys now and when the current transaction commits."""
    keys = sorted(set(keys))
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def bump_generation(key: str) -> None:
    """Advance the generation counter `key` now and when the current transaction commits."""

    def bump() -> None:
        cache.add(key, 0, None)
        cache.incr(key)

    bump()
    transaction.on_commit(bump)
