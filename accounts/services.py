"""Writes to staff accounts and workspace settings."""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Availability
from accounts.models import AgentProfile, StaffSecuritySettings, User
from helpdesk.core.exceptions import ApplicationError


@transaction.atomic
def security_settings_update(*, actor: User, is_mfa_required_for_staff: bool) -> StaffSecuritySettings:
    security = StaffSecuritySettings.load()
    security = StaffSecuritySettings.objects.select_for_update().get(pk=security.pk)
    security.is_mfa_required_for_staff = is_mfa_required_for_staff
    security.save(update_fields=["is_mfa_required_for_staff"])
    return security


# Higher apps react to availability changes (tickets hands waiting tickets to an agent who becomes
# available) by registering here from their AppConfig.ready(); accounts imports no other app.
AvailabilityListener = Callable[[AgentProfile, str], None]
_availability_listeners: list[AvailabilityListener] = []


def register_availability_listener(listener: AvailabilityListener) -> None:
    if listener not in _availability_listeners:
        _availability_listeners.append(listener)


@transaction.atomic
def agent_set_availability(*, user: User, availability: str) -> AgentProfile:
    """Set a staff member's availability; listeners hear of a change inside this transaction."""
    if availability not in Availability.values:
        raise ApplicationError(_("Unknown availability: %(availability)s") % {"availability": availability})
    if not (user.is_active and user.is_staff):
        raise ApplicationError(_("Only active staff have an availability."))
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    profile = AgentProfile.objects.select_for_update().get(pk=profile.pk)
    previous = profile.availability
    if previous == availability:
        return profile
    profile.availability = availability
    profile.availability_changed_at = timezone.now()
    profile.save(update_fields=["availability", "availability_changed_at", "updated_at"])
    for listener in _availability_listeners:
        listener(profile, previous)
    return profile
