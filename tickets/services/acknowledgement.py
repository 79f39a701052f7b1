"""The automatic acknowledgement a customer receives when a new ticket opens."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from tickets.models import AutoAcknowledgement, Message, Ticket
from tickets.services.outbound import message_create_outbound


def acknowledgement_text(*, ticket: Ticket) -> str:
    with translation.override(ticket.customer.language or "en"):
        greeting = (
            _("Hello %(name)s,") % {"name": ticket.customer.first_name} if ticket.customer.first_name else _("Hello,")
        )
        body = _(
            "Thank you for contacting us. Your request number is #%(number)s.\n"
            "An agent will reply as soon as possible.\n\n"
            "To add anything, simply reply to this message."
        ) % {"number": ticket.number}
    return f"{greeting}\n\n{body}"


@transaction.atomic
def ticket_send_auto_acknowledgement(*, ticket_id: int) -> Message | None:
    """Queue the acknowledgement for a ticket; returns None when one already exists."""
    ticket = Ticket.objects.select_for_update().select_related("customer").get(pk=ticket_id)
    if AutoAcknowledgement.objects.filter(ticket=ticket).exists():
        return None
    message = message_create_outbound(ticket=ticket, body_text=acknowledgement_text(ticket=ticket), is_automatic=True)
    AutoAcknowledgement.objects.create(ticket=ticket, message=message)
    return message
