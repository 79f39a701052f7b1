"""Bulk changes from the inbox: each ticket goes through its own service call and access check."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError
from tickets.access import access_ticket
from tickets.services.lifecycle import ticket_assign, ticket_change_status, ticket_set_tags


@dataclass
class BulkResult:
    updated: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def tickets_bulk_update(
    *,
    actor: User,
    ticket_ids: list[int],
    action: str,
    status: str = "",
    tag: str = "",
    assignee: User | None = None,
) -> BulkResult:
    """Apply one change to many tickets; a ticket that refuses it is reported, the others still change."""
    result = BulkResult()
    for ticket_id in ticket_ids:
        try:
            ticket = access_ticket(actor, ticket_id, for_change=True)
            if action == "assign_me":
                ticket_assign(ticket_id=ticket.pk, actor=actor, assignee=actor)
            elif action == "assign":
                ticket_assign(ticket_id=ticket.pk, actor=actor, assignee=assignee)
            elif action == "status":
                ticket_change_status(ticket_id=ticket.pk, status=status, actor=actor)
            elif action == "tag":
                ticket_set_tags(ticket_id=ticket.pk, actor=actor, add=[tag])
            else:
                raise ApplicationError(f"Unknown bulk action: {action}")
        except ApplicationError as error:
            result.errors[ticket_id] = error.message
        else:
            result.updated.append(ticket_id)
    return result
