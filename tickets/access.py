"""Who may touch which ticket, attachment and macro: the only way a page or an API view gets one.

Supervisors and admins (``tickets.view_all_tickets``) see every ticket. An agent sees the tickets
assigned to them, their teams' tickets, and the shared queue: tickets with neither an assignee nor
a team. A ticket someone may not see is answered exactly like one that does not exist (404), so
ticket ids and numbers reveal nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Team, User
from helpdesk.core.exceptions import NotFoundError, PermissionDeniedError
from tickets.models import Attachment, Macro, Ticket

VIEW_ALL_TICKETS = "tickets.view_all_tickets"
VIEW_TICKET = "tickets.view_ticket"
ADD_TICKET = "tickets.add_ticket"
CHANGE_TICKET = "tickets.change_ticket"
MANAGE_SETTINGS = "accounts.manage_settings"
VIEW_ORDER = "orders.view_order"


def _is_active_staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def tickets_visible_to(user: User) -> Q:
    """The ticket filter for ``user``; lists and single fetches both use it, so they always agree."""
    if not _is_active_staff(user):
        return Q(pk__in=[])
    if user.has_perm(VIEW_ALL_TICKETS):
        return Q()
    if not user.has_perm(VIEW_TICKET):
        return Q(pk__in=[])
    my_teams = Team.objects.filter(members=user).values("pk")
    return Q(assignee=user) | Q(team__in=my_teams) | Q(assignee__isnull=True, team__isnull=True)


def _holders_of(perm: str) -> Q:
    """A User filter for holding ``perm`` as ``User.has_perm`` reads it: superuser, own or a group's."""
    app_label, codename = perm.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).values("pk")
    return (
        Q(is_superuser=True)
        | Q(pk__in=User.user_permissions.through.objects.filter(permission__in=permission).values("user_id"))
        | Q(pk__in=User.groups.through.objects.filter(group__permissions__in=permission).values("user_id"))
    )


def staff_who_may_see(ticket: Ticket) -> Q:
    """The User filter for everyone ``tickets_visible_to`` lets see ``ticket``: the same rule from the
    ticket's side, so many colleagues are checked in one query (who to notify about a ticket)."""
    sees_all = _holders_of(VIEW_ALL_TICKETS)
    if ticket.assignee_id is None and ticket.team_id is None:
        sees_this = _holders_of(VIEW_TICKET)
    else:
        routed_to = Q(pk=ticket.assignee_id) if ticket.assignee_id is not None else Q(pk__in=[])
        if ticket.team_id is not None:
            routed_to |= Q(pk__in=Team.members.through.objects.filter(team_id=ticket.team_id).values("user_id"))
        sees_this = _holders_of(VIEW_TICKET) & routed_to
    return Q(is_active=True, is_staff=True) & (sees_all | sees_this)


def _ticket_queryset(user: User) -> QuerySet[Ticket]:
    return Ticket.objects.select_related("customer", "assignee", "team", "order").filter(tickets_visible_to(user))


def _checked(user: User, ticket: Ticket | None, *, for_change: bool) -> Ticket:
    if ticket is None:
        raise NotFoundError(_("There is no such ticket, or it is not yours to see."))
    if for_change and not user.has_perm(CHANGE_TICKET):
        raise PermissionDeniedError(_("You may read this ticket but not change it."))
    return ticket


def access_ticket(user: User, ticket_id: int, *, for_change: bool = False) -> Ticket:
    """The ticket with this id if ``user`` may see it (and change it, with ``for_change``)."""
    return _checked(user, _ticket_queryset(user).filter(pk=ticket_id).first(), for_change=for_change)


def access_ticket_by_number(user: User, number: int, *, for_change: bool = False) -> Ticket:
    """As ``access_ticket``, by the number customers and agents see (#1042)."""
    return _checked(user, _ticket_queryset(user).filter(number=number).first(), for_change=for_change)


def access_attachment(user: User, ticket_number: int, attachment_id: int) -> Attachment:
    """A kept file of a message on this ticket, if ``user`` may see the ticket.

    A merge moves the source's messages onto the target, so their files are found under the target's
    number. A file of another ticket, or one refused at intake (nothing stored), does not exist here.
    """
    ticket = access_ticket_by_number(user, ticket_number)
    attachment = (
        Attachment.objects.filter(pk=attachment_id, message__ticket_id=ticket.pk, refusal_reason="")
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise NotFoundError(_("There is no such file on this ticket."))
    return attachment


def check_order_lookup(user: User) -> None:
    """Looking up any store order by its number, from a ticket the user may open."""
    if not user.has_perm(VIEW_ORDER):
        raise PermissionDeniedError(_("You may not look up orders."))


def macros_visible_to(user: User) -> Q:
    """Shared macros and the user's own personal ones."""
    if not _is_active_staff(user):
        return Q(pk__in=[])
    return Q(owner__isnull=True) | Q(owner=user)


def access_macro(user: User, macro_id: int, *, for_use: bool = False) -> Macro:
    """A shared macro or one of the user's own; someone else's personal macro does not exist for them.

    ``for_use`` (previewing or applying it on a ticket, on the page or through the API): a switched-off
    macro does not exist either. Keeping it (changing it, switching it back on) still finds it.
    """
    visible = Macro.objects.filter(macros_visible_to(user), pk=macro_id)
    macro = (visible.filter(is_active=True) if for_use else visible).first()
    if macro is None:
        raise NotFoundError(_("There is no such macro, or it is someone else's personal macro."))
    return macro
