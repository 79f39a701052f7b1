"""What every new ticket goes through once, whatever channel it came from.

Each step lives in its own module; they run in this order inside the creating
transaction: priority rules (they read the first message), routing (it may use
the priority), then the SLA clock (it depends on priority, channel and team).
"""

from __future__ import annotations

from tickets.models import Message, Ticket
from tickets.services.priority_rules import priority_rules_apply
from tickets.services.routing import ticket_route
from tickets.services.sla import sla_start


def ticket_on_created(*, ticket: Ticket, first_message: Message) -> None:
    """Apply the desk's rules to a ticket that has just been created."""
    priority_rules_apply(ticket=ticket, first_message=first_message)
    ticket_route(ticket=ticket)
    sla_start(ticket=ticket)
