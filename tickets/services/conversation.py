"""Agents' replies and internal notes, with the optimistic version check and @mentions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import transaction
from django.db.models import BooleanField, Case, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError, ConflictError
from tickets.access import staff_who_may_see
from tickets.choices import MessageDirection, TicketStatus
from tickets.events import after_ticket_change, notify_staff
from tickets.html import sanitise_html
from tickets.models import Mention, Message, Ticket
from tickets.services.lifecycle import ticket_apply_status, ticket_lock, ticket_lock_surviving, ticket_touch
from tickets.services.outbound import message_create_outbound

_MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


class StaleTicketError(ConflictError):
    """The ticket changed after the agent loaded it; the reply is held back, not sent."""


def _check_version(*, ticket: Ticket, expected_version: int | None, last_seen_message_id: int | None) -> None:
    if expected_version is None or ticket.version == expected_version:
        return
    newer = Message.objects.filter(ticket=ticket)
    if last_seen_message_id is not None:
        newer = newer.filter(pk__gt=last_seen_message_id)
    raise StaleTicketError(
        _("This ticket changed while you were writing. Your reply was not sent; read the new messages first."),
        extra={"current_version": ticket.version, "new_message_ids": list(newer.values_list("pk", flat=True))},
    )


def _check_open(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.CLOSED:
        raise ApplicationError(_("This ticket is closed; a reply would reach nobody. Open a follow-up ticket."))
    if ticket.merged_into_id:
        raise ApplicationError(_("This ticket was merged into another; reply there."))


@transaction.atomic
def ticket_reply(
    *,
    ticket_id: int,
    author: User,
    body_text: str,
    body_html: str = "",
    expected_version: int | None = None,
    last_seen_message_id: int | None = None,
    status: str | None = None,
) -> Message:
    """Send a reply to the customer through the ticket's channel; optionally change the status with it."""
    if not body_text.strip():
        raise ApplicationError(_("A reply needs some text."))
    ticket = ticket_lock(ticket_id=ticket_id)
    _check_open(ticket)
    _check_version(ticket=ticket, expected_version=expected_version, last_seen_message_id=last_seen_message_id)
    message = message_create_outbound(
        ticket=ticket,
        body_text=body_text.strip(),
        body_html=sanitise_html(body_html) if body_html else "",
        author=author,
    )
    now = timezone.now()
    ticket.last_message_at = now
    fields = ["last_message_at"]
    if ticket.first_agent_reply_at is None:
        ticket.first_agent_reply_at = now
        fields.append("first_agent_reply_at")
    if ticket.assignee_id is None:
        ticket.assignee = author
        fields.append("assignee")
    ticket_touch(ticket=ticket, fields=fields)
    target_status = status or (TicketStatus.OPEN if ticket.status == TicketStatus.NEW else None)
    if target_status:
        ticket_apply_status(ticket=ticket, status=target_status, actor=author)
    from tickets.sla_hooks import sla_after_agent_reply

    sla_after_agent_reply(ticket=ticket, replied_at=now)
    after_ticket_change(ticket=ticket, change="updated")
    return message


def mentioned_users(body_text: str, *, ticket: Ticket) -> list[User]:
    """The colleagues a note names who may see ``ticket``, in one query.

    ``@alex@store.test`` names the active staff member with exactly that email. ``@alex`` names the
    active staff member whose email's local part is exactly ``alex`` (any case), but only if just one
    does: when ``alex@one.test`` and ``alex@two.test`` both work here, ``@alex`` names nobody and the
    whole address must be written. A trailing full stop is not part of a handle. A colleague who may
    not see the ticket (tickets.access) is left out, so they learn nothing of it.
    """
    handles = {handle.rstrip(".").lower() for handle in _MENTION.findall(body_text)}
    if not handles:
        return []
    query = Q()
    for handle in handles:
        query |= Q(email__iexact=handle) if "@" in handle else Q(email__istartswith=f"{handle}@")
    candidates = (
        User.objects.filter(query, is_active=True, is_staff=True)
        .annotate(may_see=Case(When(staff_who_may_see(ticket), then=True), default=False, output_field=BooleanField()))
        .order_by("pk")
    )
    named: dict[int, User] = {}
    by_local_part: dict[str, list[User]] = {}
    for user in candidates:
        email = user.email.lower()
        if email in handles:
            named[user.pk] = user
        local_part = email.rsplit("@", 1)[0]
        if local_part in handles:
            by_local_part.setdefault(local_part, []).append(user)
    for users in by_local_part.values():
        if len(users) == 1:
            named[users[0].pk] = users[0]
    return [named[pk] for pk in sorted(named) if named[pk].may_see]  # type: ignore[attr-defined]


@transaction.atomic
def ticket_add_note(*, ticket_id: int, author: User, body_text: str) -> Message:
    """An internal note: visible to staff only; every @mentioned colleague who may see the ticket is
    notified once (see ``mentioned_users``)."""
    if not body_text.strip():
        raise ApplicationError(_("A note needs some text."))
    ticket = ticket_lock(ticket_id=ticket_id)
    note = Message.objects.create(
        ticket=ticket,
        channel=ticket.channel,
        direction=MessageDirection.NOTE,
        author=author,
        body_text=body_text.strip(),
    )
    for user in mentioned_users(body_text, ticket=ticket):
        if user.pk == author.pk:
            continue
        Mention.objects.create(message=note, user=user)
        notify_staff(
            user_id=user.pk,
            kind="mention",
            payload={
                "ticket_id": ticket.pk,
                "number": ticket.number,
                "note_id": note.pk,
                "by": author.display_name,
                "excerpt": note.body_text[:140],
            },
        )
    ticket_touch(ticket=ticket, is_conversation_change=False)
    after_ticket_change(ticket=ticket, change="updated")
    return note


@transaction.atomic
def ticket_add_automatic_note(
    *,
    ticket_id: int,
    channel: str,
    body_text: str,
    external_message_id: str | None = None,
    references: Sequence[str] = (),
    sender_address: str = "",
) -> Message:
    """A note the helpdesk writes itself (a delivery failure), on the ticket a merge carried the conversation to."""
    ticket = ticket_lock_surviving(ticket_id=ticket_id) or ticket_lock(ticket_id=ticket_id)
    note = Message.objects.create(
        ticket=ticket,
        channel=channel,
        direction=MessageDirection.NOTE,
        body_text=body_text,
        external_message_id=external_message_id,
        references=list(references),
        sender_address=sender_address[:254],
        is_automatic=True,
    )
    ticket_touch(ticket=ticket, is_conversation_change=False)
    after_ticket_change(ticket=ticket, change="updated")
    return note
