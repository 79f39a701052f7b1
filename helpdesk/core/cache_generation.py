"""A number in the shared cache (Redis) that every change bumps: a copy kept anywhere, stamped with the
number it was read at, is out of date once the number has moved. Used by the per-process rule cache
(tickets) and the per-user permission cache (accounts).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection, transaction


class CacheGeneration:
    def __init__(self, key: str) -> None:
        self.key = key

    @staticmethod
    def _fresh() -> int:
        # Started from the clock, not from 1: after the key is lost (a Redis restart) no copy read
        # before can carry the same number by chance.
        return int(time.time() * 1000)

    def current(self, known: int | None = None) -> int:
        """The number now; ``known`` is a value already read with others (one round trip for both)."""
        generation = known if known is not None else cache.get(self.key)
        if generation is None:
            cache.add(self.key, self._fresh(), timeout=None)
            generation = cache.get(self.key, 0)
        return int(generation)

    def bump(self) -> None:
        try:
            cache.incr(self.key)
        except ValueError:  # not there yet (or evicted): any value differs from what copies were read at
            cache.add(self.key, self._fresh(), timeout=None)


def now_and_on_commit(action: Callable[[], None]) -> None:
    """Run ``action`` now and, inside a transaction, again once it commits.

    Now: nothing read during the transaction is kept as current. On commit: copies other processes
    made while it was open, which could not see the change yet, are out of date too.
    """
    action()
    if connection.in_atomic_block:
        transaction.on_commit(action)
