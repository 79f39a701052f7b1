"""API token authentication with each token's user kept in the shared cache between requests.

DRF's TokenAuthentication reads the token and its user with one joined query on every request. The
user is kept in the cache (Redis) under a digest of the token (never the token itself) for
TOKEN_USER_TIMEOUT; saving or deleting the user, or deleting the token, drops the copy at once and
again on commit. Nothing read inside a transaction that changed a user or a permission is kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.permission_cache import change_pending
from helpdesk.core.cache_generation import now_and_on_commit

TOKEN_USER_TIMEOUT = 300


def _cache_key(token_key: str) -> str:
    return "accounts:api-token:" + hashlib.sha256(token_key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        cache_key = _cache_key(key)
        user = cache.get(cache_key)
        if user is None:
            user, token = super().authenticate_credentials(key)
            if not change_pending():
                cache.set(cache_key, user, TOKEN_USER_TIMEOUT)
            return user, token
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)


def _forget(token_keys: list[str]) -> None:
    if token_keys:
        cache_keys = [_cache_key(key) for key in token_keys]
        now_and_on_commit(lambda: cache.delete_many(cache_keys))


def token_deleted(*, instance: Token, **_signal: Any) -> None:
    """Signal receiver: a token was deleted (revoked or replaced); it stops working on the next request."""
    _forget([instance.key])


def token_user_changed(*, instance: Any, **_signal: Any) -> None:
    """Signal receiver: a user was saved or deleted; the copy kept for their token is dropped."""
    _forget(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))
