"""Contact reasons (tags): the list admins keep so managers can see why customers write.

A contact reason's name is compared without regard to case or spacing: "Refund", "refund" and
" refund " are one reason, so the list cannot hold two that only look different, and naming one
(on a ticket, in a macro) finds it however it is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from tickets.models import Tag

MANAGE_SETTINGS = "accounts.manage_settings"
TAG_NAME_MAX_LENGTH = 64


def tag_name_clean(name: str) -> str:
    """A name as it is kept: runs of spaces are one space, none at the ends."""
    return " ".join(name.split())


def _name_key(name: str) -> str:
    return tag_name_clean(name).casefold()


def tags_named(names: Iterable[str]) -> tuple[dict[str, Tag], list[str]]:
    """The contact reasons for these names, whatever their case or spacing, and the names none has.

    The first maps each name as given to its tag; the second lists the unknown names as given, sorted.
    """
    wanted = {name for name in names if tag_name_clean(name)}
    if not wanted:
        return {}, []
    # iexact is UPPER(name) = UPPER(%s): the comparison the unique constraint makes.
    condition = reduce(or_, (Q(name__iexact=tag_name_clean(name)) for name in wanted))
    by_key = {_name_key(tag.name): tag for tag in Tag.objects.filter(condition)}
    found = {name: by_key[_name_key(name)] for name in wanted if _name_key(name) in by_key}
    return found, sorted(wanted - found.keys())


def tag_create(*, actor: User, name: str, is_complaint: bool = False) -> Tag:
    """A new contact reason; only admins add to the list, so it stays short and reportable."""
    if not actor.has_perm(MANAGE_SETTINGS):
        raise PermissionDeniedError(_("Only admins add contact reasons."))
    name = tag_name_clean(name)
    if not name:
        raise ApplicationError(_("A contact reason needs a name."))
    if len(name) > TAG_NAME_MAX_LENGTH:
        raise ApplicationError(
            _("A contact reason's name has at most %(count)s characters.") % {"count": TAG_NAME_MAX_LENGTH}
        )
    existing = Tag.objects.filter(name__iexact=name).first()
    if existing is not None:
        raise ConflictError(_("There already is a contact reason named %(name)s.") % {"name": existing.name})
    try:
        with transaction.atomic():
            return Tag.objects.create(name=name, is_complaint=is_complaint)
    except IntegrityError as error:  # created by someone else since the check
        raise ConflictError(_("There already is a contact reason named %(name)s.") % {"name": name}) from error
