"""Each staff member's permission set, kept in the shared cache between requests.

Django's ModelBackend reads a user's permissions with two queries on the first check of every
request. Roles change rarely, so the set is kept in the cache (Redis) per user, stamped with a
generation number: any change to groups, their permissions or anyone's memberships bumps it, and a
change to a user's own record drops that user's copy. A copy also expires after PERMISSIONS_TIMEOUT.

A transaction that changes permissions may still roll back, so while one is open on this connection
nothing computed in it is kept: a role granted and then rolled back can never linger in the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

from helpdesk.core.cache_generation import CacheGeneration, now_and_on_commit

GENERATION_KEY = "accounts:permissions:generation"
PERMISSIONS_TIMEOUT = 600
_generation = CacheGeneration(GENERATION_KEY)


def permissions_generation(known: int | None = None) -> int:
    """The permission generation now; ``known`` is the value of GENERATION_KEY read with other keys."""
    return _generation.current(known=known)


def _user_key(user_id: int) -> str:
    return f"accounts:permissions:user:{user_id}"


def cached_permissions(user_id: int, compute: Callable[[], set[str]]) -> set[str]:
    """The user's permissions from the cache when still current, else ``compute()`` (and kept)."""
    key = _user_key(user_id)
    # The generation is read before computing: a change in between bumps it, so the copy stored
    # below is never stamped newer than what it saw.
    found = cache.get_many([GENERATION_KEY, key])
    generation = _generation.current(known=found.get(GENERATION_KEY))
    stored = found.get(key)
    if stored is not None and stored[0] == generation:
        return set(stored[1])
    permissions = compute()
    if not change_pending():
        cache.set(key, (generation, sorted(permissions)), PERMISSIONS_TIMEOUT)
    return permissions


_PENDING = "_helpdesk_permission_change_pending"


def change_pending() -> bool:
    """Whether this connection's open transaction changed a user or a permission (keep nothing read now)."""
    if not connection.in_atomic_block:
        setattr(connection, _PENDING, False)  # whatever was open has committed or rolled back by now
        return False
    return bool(getattr(connection, _PENDING, False))


def _changed(action: Callable[[], None]) -> None:
    if connection.in_atomic_block:
        setattr(connection, _PENDING, True)
    now_and_on_commit(action)


def permissions_changed(**_signal: Any) -> None:
    """Signal receiver: a group, a permission or a membership changed; every copy is out of date."""
    _changed(_generation.bump)


def user_changed(*, instance: Any, **_signal: Any) -> None:
    """Signal receiver: a user's own record changed (active, superuser, role); drop their copy."""
    key = _user_key(instance.pk)
    _changed(lambda: cache.delete(key))
