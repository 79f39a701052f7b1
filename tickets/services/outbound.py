"""Creating outgoing messages together with their outbox row, so each is delivered exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.models import User
from helpdesk.core.chained_insert import ChildRow, insert_with_children
from tickets.choices import MessageDirection
from tickets.models import Message, MessageDelivery, Ticket


def outbound_message_id(*, ticket: Ticket) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "helpdesk.localhost"
    return f"<{uuid.uuid4().hex}.t{ticket.number}@{domain}>"


def thread_references_for(*, ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    """Message-IDs of each conversation so far, oldest first (the last 20), for In-Reply-To and References."""
    found: dict[int, list[str]] = {ticket_id: [] for ticket_id in ticket_ids}
    rows = (
        Message.objects.filter(ticket_id__in=ticket_ids, external_message_id__isnull=False)
        .exclude(direction=MessageDirection.NOTE)
        .order_by("created_at", "id")
        .values_list("ticket_id", "external_message_id")
    )
    for ticket_id, value in rows:
        if value:
            found[ticket_id].append(value)
    return {ticket_id: values[-20:] for ticket_id, values in found.items()}


def thread_references(*, ticket: Ticket) -> list[str]:
    return thread_references_for(ticket_ids=[ticket.pk])[ticket.pk]


@dataclass(frozen=True)
class OutboundDraft:
    ticket: Ticket
    body_text: str
    body_html: str = ""
    author: User | None = None


def _outbound_message(draft: OutboundDraft, *, references: list[str], is_automatic: bool) -> Message:
    return Message(
        ticket=draft.ticket,
        channel=draft.ticket.channel,
        direction=MessageDirection.OUTBOUND,
        author=draft.author,
        body_text=draft.body_text,
        body_html=draft.body_html,
        external_message_id=outbound_message_id(ticket=draft.ticket),
        references=references,
        is_automatic=is_automatic,
    )


def _queue_after_commit(message_ids: list[int]) -> None:
    from tickets.tasks import deliver_message_task

    def queue() -> None:
        for message_id in message_ids:
            deliver_message_task.delay(message_id)

    transaction.on_commit(queue, robust=True)  # else swept up by beat


def message_create_outbound(
    *,
    ticket: Ticket,
    body_text: str,
    body_html: str = "",
    author: User | None = None,
    is_automatic: bool = False,
    is_queued_after_commit: bool = True,
) -> Message:
    """Record a reply to the customer and queue its delivery after commit. Call inside a transaction.

    The message and its outbox row are one statement. A caller that sends the message itself once
    the transaction commits passes ``is_queued_after_commit=False``.
    """
    draft = OutboundDraft(ticket=ticket, body_text=body_text, body_html=body_html, author=author)
    message = _outbound_message(draft, references=thread_references(ticket=ticket), is_automatic=is_automatic)
    insert_with_children(message, [ChildRow(MessageDelivery(message=message), "message")])
    if is_queued_after_commit:
        _queue_after_commit([message.pk])
    return message


def outbound_messages_create(
    *, drafts: Sequence[OutboundDraft], is_automatic: bool = False, is_queued_after_commit: bool = True
) -> list[Message]:
    """Record many messages to customers at once (one statement for the messages, one for their outbox rows)."""
    if not drafts:
        return []
    references = thread_references_for(ticket_ids=[draft.ticket.pk for draft in drafts])
    messages = Message.objects.bulk_create(
        [_outbound_message(d, references=references[d.ticket.pk], is_automatic=is_automatic) for d in drafts]
    )
    MessageDelivery.objects.bulk_create([MessageDelivery(message=message) for message in messages])
    if is_queued_after_commit:
        _queue_after_commit([message.pk for message in messages])
    return messages
