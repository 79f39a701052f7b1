"""Writes to staff accounts and workspace settings."""

from django.db import transaction

from accounts.models import StaffSecuritySettings, User


@transaction.atomic
def security_settings_update(*, actor: User, is_mfa_required_for_staff: bool) -> StaffSecuritySettings:
    security = StaffSecuritySettings.load()
    security = StaffSecuritySettings.objects.select_for_update().get(pk=security.pk)
    security.is_mfa_required_for_staff = is_mfa_required_for_staff
    security.save(update_fields=["is_mfa_required_for_staff"])
    return security
