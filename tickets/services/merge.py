"""Merging duplicate tickets and splitting a message out into a ticket of its own."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError
from tickets.choices import MessageDirection, TicketStatus
from tickets.events import after_ticket_change
from tickets.models import Message, Ticket, TicketActivity
from tickets.services.intake import ticket_on_created
from tickets.services.lifecycle import ticket_touch
from tickets.status_effects import after_status_change


@transaction.atomic
def ticket_merge(*, source_id: int, target_id: int, actor: User) -> Ticket:
    """Move the source's timeline, tags and order onto the target; the source closes and points to it."""
    if source_id == target_id:
        raise ApplicationError(_("A ticket cannot be merged into itself."))
    first, second = sorted([source_id, target_id])
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    if len(locked) != 2:
        raise ApplicationError(_("Both tickets must exist to merge them."))
    source, target = locked[source_id], locked[target_id]
    if source.merged_into_id:
        raise ApplicationError(_("Ticket #%(number)s was already merged.") % {"number": source.number})
    if target.merged_into_id or target.status == TicketStatus.CLOSED:
        raise ApplicationError(_("Merge into an open ticket."))
    if source.customer_id != target.customer_id:
        raise ApplicationError(
            _("These tickets belong to different customers; merge the customers first if they are one person.")
        )
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    target.tags.add(*source.tags.all())
    if target.order_id is None and source.order_id is not None:
        target.order_id = source.order_id
    target.last_message_at = max(target.last_message_at, source.last_message_at)
    target.created_at = min(target.created_at, source.created_at)
    ticket_touch(ticket=target, fields=["order_id", "last_message_at", "created_at"])
    now = timezone.now()
    previous_status = source.status
    Ticket.objects.filter(pk=source.pk).update(
        merged_into=target, status=TicketStatus.CLOSED, closed_at=now, status_changed_at=now, updated_at=now
    )
    source.refresh_from_db()
    # A merge closes the source outside the status table; its SLA clocks stop and its agent's capacity frees up.
    after_status_change(ticket=source, previous=previous_status)
    TicketActivity.objects.create(
        ticket=target, actor=actor, kind=TicketActivity.Kind.MERGE, details={"from": source.number, "messages": moved}
    )
    TicketActivity.objects.create(
        ticket=source, actor=actor, kind=TicketActivity.Kind.MERGE, details={"into": target.number}
    )
    after_ticket_change(ticket=target, change="updated")
    after_ticket_change(ticket=source, change="updated")
    return target


@transaction.atomic
def ticket_split(*, message_id: int, actor: User) -> Ticket:
    """Give one customer message its own ticket (the customer asked about something else)."""
    try:
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
    except Message.DoesNotExist:
        raise ApplicationError(_("That message does not exist.")) from None
    if message.direction != MessageDirection.INBOUND:
        raise ApplicationError(_("Only a customer's message can be split into a new ticket."))
    original = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    if original.messages.count() < 2:
        raise ApplicationError(_("The ticket has only this message; there is nothing to split from."))
    subject = (message.body_text.strip().splitlines() or [original.subject])[0][:120]
    ticket = Ticket.objects.create(
        subject=subject or original.subject,
        customer=original.customer,
        channel=message.channel,
        status=TicketStatus.OPEN,
        priority=original.priority,
        team=original.team,
        order=original.order,
        split_from=original,
        last_message_at=message.created_at,
    )
    Message.objects.filter(pk=message.pk).update(ticket=ticket)
    message.ticket = ticket
    ticket_on_created(ticket=ticket, first_message=message)
    ticket_touch(ticket=original)
    TicketActivity.objects.create(
        ticket=original,
        actor=actor,
        kind=TicketActivity.Kind.SPLIT,
        details={"message": message.pk, "to": ticket.number},
    )
    TicketActivity.objects.create(
        ticket=ticket, actor=actor, kind=TicketActivity.Kind.SPLIT, details={"from": original.number}
    )
    after_ticket_change(ticket=ticket, change="created")
    after_ticket_change(ticket=original, change="updated")
    return ticket
