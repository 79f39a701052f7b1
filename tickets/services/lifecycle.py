"""Status, priority, tags, assignment, escalation: every change a ticket goes through, guarded here."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Team, User
from helpdesk.core.exceptions import ApplicationError
from tickets.choices import Priority, TicketStatus
from tickets.events import after_ticket_change
from tickets.models import Escalation, Ticket, TicketActivity
from tickets.services.tags import tags_named
from tickets.status_machine import check_transition


def ticket_lock(*, ticket_id: int) -> Ticket:
    """Fetch a ticket for writing, holding its row lock until the transaction ends."""
    try:
        return Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket_id)
    except Ticket.DoesNotExist:
        raise ApplicationError(_("That ticket does not exist.")) from None


# Merges form chains (A into B, later B into C); a conversation follows at most this many links.
MAX_MERGE_LINKS = 10


def ticket_lock_surviving(*, ticket_id: int) -> Ticket | None:
    """The ticket a merge carried this one's conversation to (itself when it was never merged), locked.

    Each link is read under its row lock, so a merge committed meanwhile is followed, never missed.
    None when the chain is longer than MAX_MERGE_LINKS.
    """
    for _link in range(MAX_MERGE_LINKS):
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket_id)
        if ticket.merged_into_id is None:
            return ticket
        ticket_id = ticket.merged_into_id
    return None


def ticket_touch(*, ticket: Ticket, fields: Iterable[str] = (), is_conversation_change: bool = True) -> None:
    """Save the given fields; a change that makes a drafted reply obsolete (a new message, a new
    status or owner) raises the version, so a colleague's reply written before it is held back."""
    changes: dict[str, object] = {name: getattr(ticket, name) for name in fields}
    if is_conversation_change:
        changes["version"] = F("version") + 1
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now(), **changes)
    ticket.refresh_from_db(fields=["version", "updated_at"])


def _record(ticket: Ticket, actor: User | None, kind: str, **details: object) -> None:
    TicketActivity.objects.create(ticket=ticket, actor=actor, kind=kind, details=details)


def ticket_apply_status(*, ticket: Ticket, status: str, actor: User | None) -> None:
    """Move a locked ticket to ``status`` after checking the transition; no save of other fields."""
    check_transition(current=ticket.status, target=status)
    if ticket.status == status:
        return
    previous = ticket.status
    now = timezone.now()
    ticket.status = status
    ticket.status_changed_at = now
    if status == TicketStatus.SOLVED:
        ticket.solved_at = now
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
    elif previous == TicketStatus.SOLVED:
        ticket.solved_at = None
    ticket_touch(ticket=ticket, fields=["status", "status_changed_at", "solved_at", "closed_at"])
    _record(ticket, actor, TicketActivity.Kind.STATUS, before=previous, after=status)
    from tickets.status_effects import after_status_change

    after_status_change(ticket=ticket, previous=previous)


@transaction.atomic
def ticket_change_status(*, ticket_id: int, status: str, actor: User | None) -> Ticket:
    ticket = ticket_lock(ticket_id=ticket_id)
    if status not in TicketStatus.values:
        raise ApplicationError(_("Unknown status: %(status)s") % {"status": status})
    ticket_apply_status(ticket=ticket, status=status, actor=actor)
    after_ticket_change(ticket=ticket, change="updated")
    return ticket


@transaction.atomic
def ticket_set_priority(*, ticket_id: int, priority: str, actor: User | None) -> Ticket:
    if priority not in Priority.values:
        raise ApplicationError(_("Unknown priority: %(priority)s") % {"priority": priority})
    ticket = ticket_lock(ticket_id=ticket_id)
    if ticket.priority != priority:
        previous, ticket.priority = ticket.priority, priority
        ticket_touch(ticket=ticket, fields=["priority"], is_conversation_change=False)
        _record(ticket, actor, TicketActivity.Kind.PRIORITY, before=previous, after=priority)
        from tickets.sla_hooks import sla_after_priority_change

        sla_after_priority_change(ticket=ticket)
        after_ticket_change(ticket=ticket, change="updated")
    return ticket


def ticket_route_when_tagged(*, ticket: Ticket) -> None:
    """A ticket given contact reasons before it has a team is routed again after commit: rules asking for
    tags can only match once it has some (a new ticket has none when it is first routed)."""
    if ticket.team_id is None:
        from tickets.tasks import route_tagged_ticket_task

        transaction.on_commit(partial(route_tagged_ticket_task.delay, ticket.pk), robust=True)


@transaction.atomic
def ticket_set_tags(
    *, ticket_id: int, actor: User | None, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Ticket:
    """Add and remove contact reasons, named in any case or spacing; only tags admins keep may be used."""
    ticket = ticket_lock(ticket_id=ticket_id)
    add, remove = list(add), list(remove)
    known, unknown = tags_named([*add, *remove])
    unknown_added = sorted(set(unknown) & set(add))
    if unknown_added:
        raise ApplicationError(_("Unknown contact reasons: %(names)s") % {"names": ", ".join(unknown_added)})
    added = {known[name] for name in add if name in known}
    removed = {known[name] for name in remove if name in known} - added
    ticket.tags.add(*added)
    if added:
        ticket_route_when_tagged(ticket=ticket)
    ticket.tags.remove(*removed)
    ticket_touch(ticket=ticket, is_conversation_change=False)
    _record(
        ticket,
        actor,
        TicketActivity.Kind.TAGS,
        added=sorted(tag.name for tag in added),
        removed=sorted({tag.name for tag in removed} | {name for name in remove if name not in known}),
    )
    from tickets.services.complaints import complaint_start_clock, complaint_stop_clock

    if any(tag.is_complaint for tag in added):
        complaint_start_clock(ticket=ticket)
    elif any(tag.is_complaint for tag in removed) and not ticket.tags.filter(is_complaint=True).exists():
        complaint_stop_clock(ticket=ticket)
    after_ticket_change(ticket=ticket, change="updated")
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket_id: int, actor: User | None, assignee: User | None, team: Team | None = None, keep_team: bool = True
) -> Ticket:
    ticket = ticket_lock(ticket_id=ticket_id)
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ApplicationError(_("Tickets can only be assigned to active staff."))
    before = {"assignee": ticket.assignee_id, "team": ticket.team_id}
    ticket.assignee = assignee
    if team is not None or not keep_team:
        ticket.team = team
    if before == {"assignee": ticket.assignee_id, "team": ticket.team_id}:
        return ticket
    opened = ticket_open_on_assignment(ticket=ticket, actor=actor) if assignee is not None else []
    ticket_touch(ticket=ticket, fields=["assignee", "team", "status", "status_changed_at"])
    assignment = TicketActivity(
        ticket=ticket,
        actor=actor,
        kind=TicketActivity.Kind.ASSIGNMENT,
        details={"before": before, "after": {"assignee": ticket.assignee_id, "team": ticket.team_id}},
    )
    TicketActivity.objects.bulk_create([assignment, *opened])
    from tickets.sla_hooks import sla_after_owner_change

    sla_after_owner_change(
        ticket=ticket,
        is_assignee_changed=before["assignee"] != ticket.assignee_id,
        is_team_changed=before["team"] != ticket.team_id,
    )
    after_ticket_change(ticket=ticket, change="updated")
    return ticket


def ticket_open_on_assignment(*, ticket: Ticket, actor: User | None) -> list[TicketActivity]:
    """A NEW ticket that gets an owner is OPEN; returns the status history row to store with the assignment.

    NEW and OPEN count, pause and route alike, so the status hooks have nothing to do here; the change
    is still recorded like any other, in the same insert as the assignment.
    """
    if ticket.status != TicketStatus.NEW:
        return []
    check_transition(current=ticket.status, target=TicketStatus.OPEN)
    ticket.status = TicketStatus.OPEN
    ticket.status_changed_at = timezone.now()
    return [
        TicketActivity(
            ticket=ticket,
            actor=actor,
            kind=TicketActivity.Kind.STATUS,
            details={"before": TicketStatus.NEW, "after": TicketStatus.OPEN},
        )
    ]


@transaction.atomic
def ticket_escalate(
    *, ticket_id: int, actor: User, reason: str, team: Team | None = None, supervisor: User | None = None
) -> Escalation:
    """Hand a ticket up to a team or a supervisor, recording who, when and why."""
    if not reason.strip():
        raise ApplicationError(_("Say why the ticket is escalated."))
    if team is None and supervisor is None:
        raise ApplicationError(_("Escalate to a team or to a supervisor."))
    if supervisor is not None and not supervisor.has_perm("tickets.view_all_tickets"):
        raise ApplicationError(_("%(name)s is not a supervisor.") % {"name": supervisor.display_name})
    ticket = ticket_lock(ticket_id=ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise ApplicationError(_("A closed ticket cannot be escalated."))
    escalation = Escalation.objects.create(
        ticket=ticket, escalated_by=actor, to_team=team, to_supervisor=supervisor, reason=reason.strip()
    )
    before = {"assignee": ticket.assignee_id, "team": ticket.team_id}
    if team is not None:
        ticket.team = team
    if supervisor is not None:
        ticket.assignee = supervisor
    ticket_touch(ticket=ticket, fields=["team", "assignee"])
    from tickets.sla_hooks import sla_after_owner_change

    sla_after_owner_change(
        ticket=ticket,
        is_assignee_changed=before["assignee"] != ticket.assignee_id,
        is_team_changed=before["team"] != ticket.team_id,
    )
    _record(
        ticket,
        actor,
        TicketActivity.Kind.ESCALATION,
        team=team.pk if team else None,
        supervisor=supervisor.pk if supervisor else None,
        reason=escalation.reason,
    )
    after_ticket_change(ticket=ticket, change="updated")
    return escalation
