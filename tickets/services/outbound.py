"""Creating outgoing messages together with their outbox row, so each is delivered exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from accounts.models import User
from helpdesk.core.chained_insert import ChildRow, insert_with_children
from tickets.choices import MessageDirection
from tickets.models import Message, MessageDelivery, Ticket


def outbound_message_id(*, ticket: Ticket) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "helpdesk.localhost"
    return f"<{uuid.uuid4().hex}.t{ticket.number}@{domain}>"


def thread_references(*, ticket: Ticket) -> list[str]:
    """Message-IDs of the conversation so far, oldest first, for In-Reply-To and References."""
    ids = (
        Message.objects.filter(ticket=ticket, external_message_id__isnull=False)
        .exclude(direction=MessageDirection.NOTE)
        .order_by("created_at", "id")
        .values_list("external_message_id", flat=True)
    )
    return [value for value in ids if value][-20:]


def message_create_outbound(
    *,
    ticket: Ticket,
    body_text: str,
    body_html: str = "",
    author: User | None = None,
    is_automatic: bool = False,
    is_queued_after_commit: bool = True,
    written_with: Sequence[ChildRow] = (),
) -> Message:
    """Record a reply to the customer and queue its delivery after commit. Call inside a transaction.

    The message and its outbox row are one statement; ``written_with`` adds rows that point to the
    new message to it (the record that a ticket's acknowledgement was sent). A caller that sends
    the message itself once the transaction commits passes ``is_queued_after_commit=False`` (the
    acknowledgement task does).
    """
    from tickets.tasks import deliver_message_task

    message = Message(
        ticket=ticket,
        channel=ticket.channel,
        direction=MessageDirection.OUTBOUND,
        author=author,
        body_text=body_text,
        body_html=body_html,
        external_message_id=outbound_message_id(ticket=ticket),
        references=thread_references(ticket=ticket),
        is_automatic=is_automatic,
    )
    insert_with_children(message, [ChildRow(MessageDelivery(message=message), "message"), *written_with])
    if is_queued_after_commit:
        message_id = message.pk
        transaction.on_commit(lambda: deliver_message_task.delay(message_id), robust=True)  # else swept up by beat
    return message
