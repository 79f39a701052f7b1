"""The authentication backend: Django's ModelBackend, with each user's permissions cached between requests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from accounts.permission_cache import cached_permissions


class CachedPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            parent = super()
            user_obj._perm_cache = cached_permissions(user_obj.pk, lambda: parent.get_all_permissions(user_obj))
        return user_obj._perm_cache  # type: ignore[no-any-return]
