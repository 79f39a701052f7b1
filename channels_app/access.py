"""Checked fetches: the only way a channel page gets an object a user may touch."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import User
from channels_app.models import QuarantinedEmail

QUARANTINE_PERMISSION = "accounts.manage_settings"


def access_quarantined_email(user: User, quarantined_email_id: int) -> QuarantinedEmail:
    """Quarantined mail may hold anyone's data: admins only."""
    if not user.has_perm(QUARANTINE_PERMISSION):
        raise PermissionDenied
    try:
        return QuarantinedEmail.objects.get(pk=quarantined_email_id)
    except QuarantinedEmail.DoesNotExist:
        raise Http404 from None
