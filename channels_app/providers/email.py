"""Outbound email: threading headers so the customer's mail client keeps one conversation."""

from __future__ import annotations

import smtplib
import threading

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
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
    _send(email)


_connections = threading.local()


def _send(email: EmailMultiAlternatives) -> None:
    """Through this worker's open SMTP connection, kept between messages.

    Opening one per message (TCP, greeting, EHLO, STARTTLS, AUTH) cost more than sending. A NOOP
    first finds a connection the server has dropped while idle, and a new one is opened before
    anything is sent, so a message never goes out twice because of it. Other backends (files,
    console, tests) send one message at a time as before.
    """
    wanted = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER)
    kept = getattr(_connections, "smtp", None)
    if kept is not None and kept[0] != wanted:  # the mail settings changed: the old server is not ours now
        kept[1].close()
        kept = None
    if kept is None:
        connection = get_connection(fail_silently=False)
        if not isinstance(connection, SmtpBackend):
            email.send(fail_silently=False)
            return
        _connections.smtp = kept = (wanted, connection)
    connection = kept[1]
    if connection.connection is not None and not _is_alive(connection):
        connection.close()
    connection.open()
    email.connection = connection
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError):
        connection.close()  # whatever state the session is in, the next message starts afresh
        raise


def _is_alive(connection: SmtpBackend) -> bool:
    try:
        return connection.connection.noop()[0] == 250  # type: ignore[union-attr]
    except (smtplib.SMTPException, OSError):
        return False
