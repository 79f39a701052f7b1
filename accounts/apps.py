from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_sync_role_groups, dispatch_uid="accounts.sync_role_groups")
        _connect_permission_cache()


def _connect_permission_cache() -> None:
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from accounts.models import StaffSecuritySettings, User
    from accounts.permission_cache import permissions_changed, user_changed

    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"permission-cache-{through.__name__}")
    for model in (Group, Permission):
        post_save.connect(permissions_changed, sender=model, dispatch_uid=f"permission-cache-save-{model.__name__}")
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"permission-cache-del-{model.__name__}")
    post_save.connect(user_changed, sender=User, dispatch_uid="permission-cache-user-save")
    post_save.connect(_security_settings_saved, sender=StaffSecuritySettings, dispatch_uid="security-settings-cache")
    post_delete.connect(user_changed, sender=User, dispatch_uid="permission-cache-user-delete")
    _connect_token_cache()


def _connect_token_cache() -> None:
    from django.db.models.signals import post_delete, post_save, pre_delete
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from accounts.token_authentication import token_deleted, token_user_changed

    post_delete.connect(token_deleted, sender=Token, dispatch_uid="token-cache-token-delete")
    post_save.connect(token_user_changed, sender=User, dispatch_uid="token-cache-user-save")
    # Before the delete: the user's token is deleted with them, and afterwards it cannot be looked up.
    pre_delete.connect(token_user_changed, sender=User, dispatch_uid="token-cache-user-delete")


def _sync_role_groups(**kwargs: object) -> None:
    from accounts.roles import sync_role_groups

    sync_role_groups()


def _security_settings_saved(**_signal: object) -> None:
    from django.core.cache import cache

    from accounts.models import MFA_REQUIRED_CACHE_KEY
    from helpdesk.core.cache_generation import now_and_on_commit

    now_and_on_commit(lambda: cache.delete(MFA_REQUIRED_CACHE_KEY))
