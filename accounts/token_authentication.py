"""API token authentication with each token's user kept in the shared cache between requests.

DRF's TokenAuthentication reads the token and its user with one joined query on every request. The
user is kept in the cache (Redis) under a digest of the token (never the token itself) for
TOKEN_USER_TIMEOUT; saving or deleting the user, or deleting the token, replaces the copy at once and
again on commit with a FORGOTTEN mark, and a copy is only ever added, never written over one, so a
request that read the token just before it was revoked cannot bring it back. Nothing read inside a
transaction that changed a user or a permission is kept.

The copy carries the user's permissions too, stamped with the permission generation they were read
at (``accounts.permission_cache``), and both are read in one round trip: a request with a known
token asks Redis once before its view runs. Permissions stamped with an older generation are read
again as usual, and the copy is left to expire rather than renewed.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.permission_cache import GENERATION_KEY, change_pending, permissions_generation
from helpdesk.core.cache_generation import now_and_on_commit

TOKEN_USER_TIMEOUT = 300
# A token revoked (or its user changed) leaves this in place of its copy for a while, so a request that
# read the token from the database just before cannot put a copy back afterwards (copies are only added).
FORGOTTEN = "forgotten"
FORGOTTEN_SECONDS = 60


def _cache_key(token_key: str) -> str:
    return "accounts:api-token:" + hashlib.sha256(token_key.encode()).hexdigest()


# What Django's auth backends cache on a user object; never pickled into the copy, which carries its own.
_PERMISSION_ATTRIBUTES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")


def _keep(cache_key: str, user: Any, *, known_generation: int | None) -> None:
    """Keep ``user`` and their permissions for the token; read the generation before the permissions."""
    if change_pending():
        return
    generation = permissions_generation(known=known_generation)
    permissions = user.get_all_permissions()
    kept = copy.copy(user)
    for attribute in _PERMISSION_ATTRIBUTES:
        kept.__dict__.pop(attribute, None)
    if not change_pending():
        cache.add(cache_key, (kept, generation, sorted(permissions)), TOKEN_USER_TIMEOUT)


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        cache_key = _cache_key(key)
        found = cache.get_many([cache_key, GENERATION_KEY])
        kept = found.get(cache_key)
        if not isinstance(kept, tuple):
            user, token = super().authenticate_credentials(key)
            _keep(cache_key, user, known_generation=found.get(GENERATION_KEY))
            return user, token
        user, generation, permissions = kept
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if generation == permissions_generation(known=found.get(GENERATION_KEY)):
            user._perm_cache = set(permissions)
        # Otherwise roles changed since: the backend reads the permissions (its own cache) until the copy
        # expires. The copy is not renewed: a renewal could land after the token was revoked.
        return user, Token(key=key, user=user)


def _forget(token_keys: list[str]) -> None:
    if token_keys:
        forgotten = dict.fromkeys((_cache_key(key) for key in token_keys), FORGOTTEN)
        now_and_on_commit(lambda: cache.set_many(forgotten, FORGOTTEN_SECONDS))


def token_deleted(*, instance: Token, **_signal: Any) -> None:
    """Signal receiver: a token was deleted (revoked or replaced); it stops working on the next request."""
    _forget([instance.key])


def token_user_changed(*, instance: Any, **_signal: Any) -> None:
    """Signal receiver: a user was saved or deleted; the copy kept for their token is dropped."""
    _forget(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))
