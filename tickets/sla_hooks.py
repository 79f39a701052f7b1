"""The SLA clock's reaction to status changes; pending and on hold pause it."""

from __future__ import annotations

from tickets.models import Ticket


def sla_after_status_change(*, ticket: Ticket, previous: str) -> None:
    """Filled in by the SLA module: pause, resume or stop the ticket's SLA clocks."""


def sla_after_agent_reply(*, ticket: Ticket, replied_at: object) -> None:
    """Filled in by the SLA module: mark the first or next response target met."""


def sla_after_customer_message(*, ticket: Ticket, received_at: object) -> None:
    """Filled in by the SLA module: a customer's new message starts the next-response clock."""
