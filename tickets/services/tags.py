"""Contact reasons (tags): the list admins keep so managers can see why customers write."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from tickets.models import Tag

MANAGE_SETTINGS = "accounts.manage_settings"
TAG_NAME_MAX_LENGTH = 64


def tag_create(*, actor: User, name: str, is_complaint: bool = False) -> Tag:
    """A new contact reason; only admins add to the list, so it stays short and reportable."""
    if not actor.has_perm(MANAGE_SETTINGS):
        raise PermissionDeniedError(_("Only admins add contact reasons."))
    name = name.strip()
    if not name:
        raise ApplicationError(_("A contact reason needs a name."))
    if len(name) > TAG_NAME_MAX_LENGTH:
        raise ApplicationError(
            _("A contact reason's name has at most %(count)s characters.") % {"count": TAG_NAME_MAX_LENGTH}
        )
    try:
        with transaction.atomic():
            return Tag.objects.create(name=name, is_complaint=is_complaint)
    except IntegrityError as error:
        raise ConflictError(_("There already is a contact reason named %(name)s.") % {"name": name}) from error
