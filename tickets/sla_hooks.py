"""The SLA clock's reaction to status changes; pending and on hold pause it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from tickets.models import Ticket


def sla_after_status_change(*, ticket: Ticket, previous: str) -> None:
    """Pause, resume or stop the ticket's SLA clocks to match its new status (the ticket is locked)."""
    from tickets.services.sla import STOPPED_STATUSES, sla_follow_status

    if previous in STOPPED_STATUSES and ticket.status in STOPPED_STATUSES:
        return  # solved to closed: every clock stopped already, at the solving
    changed_at = ticket.status_changed_at
    sla_follow_status(ticket=ticket, at=changed_at if isinstance(changed_at, datetime) else timezone.now())


def sla_after_agent_reply(*, ticket: Ticket, replied_at: datetime) -> None:
    """Mark the first or next response target met."""
    from tickets.services.sla import sla_record_agent_reply

    sla_record_agent_reply(ticket=ticket, replied_at=replied_at)


def sla_after_customer_message(*, ticket: Ticket, received_at: datetime) -> None:
    """A customer's new message starts the next-response clock (and follows a reopening by ingest)."""
    from tickets.services.sla import sla_record_customer_message

    sla_record_customer_message(ticket=ticket, received_at=received_at)


def sla_after_priority_change(*, ticket: Ticket) -> None:
    """Another priority may mean another policy: its targets are refitted (the ticket is locked)."""
    from tickets.services.sla import sla_follow_policy

    sla_follow_policy(ticket=ticket, at=timezone.now())


def sla_after_owner_change(*, ticket: Ticket, is_assignee_changed: bool, is_team_changed: bool) -> None:
    """A new assignee (or a new team, so a new lead) has not been warned of the running clocks yet."""
    from tickets.services.sla import sla_forget_warnings

    sla_forget_warnings(ticket=ticket, assignee=is_assignee_changed, lead=is_team_changed)


def sla_after_messages_moved(*, ticket: Ticket) -> None:
    """A customer message split off may be the one the next-response clock was timing (the ticket is locked)."""
    from tickets.services.sla import sla_follow_moved_messages

    sla_follow_moved_messages(ticket=ticket)
