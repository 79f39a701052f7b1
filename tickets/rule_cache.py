"""The rules every new or changed ticket reads (priority rules, routing rules, SLA policies, webhook
endpoints) and the ticket page's picker lists, kept in memory per process instead of queried each time.

Every change to one of them bumps a generation number in the shared cache (Redis) the moment it is
saved and again once it commits; a process compares its copy's generation with the shared one (one
cache read, not a query, reused for GENERATION_CHECK_SECONDS) and reads the rules again when they
differ. A copy is also dropped after RULE_CACHE_SECONDS whatever happens, so even a change made in
a transaction that was then rolled back cannot linger. Only lists are kept: the rules, and the
choices every ticket page offers (macros, staff, teams, tags); tickets and customers are always
read fresh, and who may see or do what is never decided from a kept copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from helpdesk.core.cache_generation import CacheGeneration, now_and_on_commit

GENERATION_KEY = "tickets:rule-cache:generation"
_generation = CacheGeneration(GENERATION_KEY)
RULE_CACHE_SECONDS = 60.0
# The shared generation read is reused this long: a new ticket reads several rule lists, and a
# change made in another process is seen within this time (one made in this process at once).
GENERATION_CHECK_SECONDS = 1.0

T = TypeVar("T")


@dataclass(frozen=True)
class _Copy:
    generation: int
    loaded_at: float
    value: Any


_copies: dict[str, _Copy] = {}
_checked: tuple[int, float] | None = None  # (generation, when it was read)
_lock = threading.Lock()


def _current_generation(now: float) -> int:
    global _checked
    checked = _checked
    if checked is not None and now - checked[1] < GENERATION_CHECK_SECONDS:
        return checked[0]
    generation = _generation.current()
    _checked = (generation, now)
    return generation


def cached_rules(name: str, load: Callable[[], T]) -> T:
    """``load()``'s result, read again only when a rule changed (anywhere) or the copy is old."""
    # The generation is read before the rules: a change committed in between bumps it again, so a
    # copy is never stored under a generation newer than what it saw.
    now = time.monotonic()
    generation = _current_generation(now)
    copy = _copies.get(name)
    if copy is not None and copy.generation == generation and now - copy.loaded_at < RULE_CACHE_SECONDS:
        return copy.value  # type: ignore[no-any-return]
    value = load()
    with _lock:
        _copies[name] = _Copy(generation=generation, loaded_at=now, value=value)
    return value


def _forget() -> None:
    global _checked
    with _lock:
        _copies.clear()
        _checked = None


def _forget_and_bump() -> None:
    _forget()
    _generation.bump()


def rules_changed(**_signal: Any) -> None:
    """Signal receiver for every model the cached rules are read from (connected in TicketsConfig.ready())."""
    now_and_on_commit(_forget_and_bump)


def rule_cache_clear() -> None:
    """Forget this process's copies (tests roll back rule changes without any signal)."""
    _forget()
