"""Outbound email: threading headers so the customer's mail client keeps one conversation."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, linebreaks

from helpdesk.core.exceptions import ApplicationError
from tickets.models import Message


def ticket_reply_address(*, ticket_number: int) -> str:
    local, _at, domain = settings.DEFAULT_FROM_EMAIL.partition("@")
    return f"{local}+t{ticket_number}@{domain}"


def send_email_message(message: Message) -> None:
    ticket = message.ticket
    recipient = ticket.customer.primary_email
    if not recipient:
        raise ApplicationError(f"Ticket #{ticket.number} has no customer email address to reply to.")
    headers = {"Message-ID": message.external_message_id or ""}
    if message.references:
        headers["In-Reply-To"] = message.references[-1]
        headers["References"] = " ".join(message.references)
    if message.is_automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    subject = ticket.subject if ticket.subject.lower().startswith("re:") else f"Re: {ticket.subject}"
    email = EmailMultiAlternatives(
        subject=f"{subject} [#{ticket.number}]",
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[ticket_reply_address(ticket_number=ticket.number)],
        headers=headers,
    )
    email.attach_alternative(message.body_html or linebreaks(escape(message.body_text)), "text/html")
    email.send(fail_silently=False)
