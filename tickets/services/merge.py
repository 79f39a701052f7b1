"""Merging duplicate tickets and splitting a message out into a ticket of its own."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from customers.models import Customer
from customers.services import customer_merge
from helpdesk.core.exceptions import ApplicationError, PermissionDeniedError
from tickets.access import tickets_visible_to
from tickets.choices import MessageDirection, TicketStatus
from tickets.events import after_ticket_change
from tickets.models import Message, Ticket, TicketActivity
from tickets.services.intake import ticket_on_created
from tickets.services.lifecycle import ticket_route_when_tagged, ticket_touch
from tickets.status_effects import after_status_change


@transaction.atomic
def ticket_merge(*, source_id: int, target_id: int, actor: User, merge_customers: bool = False) -> Ticket:
    """Move the source's timeline, tags and order onto the target; the source closes and points to it.

    Tickets of two different customer records merge only when the agent says they are one person
    (``merge_customers``): the source's customer is then folded into the target's, so its identities,
    orders and other tickets move too and the survivor's sidebar shows everything.
    """
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
    merged_customer = None
    if source.customer_id != target.customer_id:
        merged_customer = _merge_customers_of(source=source, target=target, actor=actor, allowed=merge_customers)
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    carried_tags = list(source.tags.exclude(pk__in=target.tags.all()))
    target.tags.add(*carried_tags)
    if carried_tags:
        ticket_route_when_tagged(ticket=target)
    if target.order_id is None and source.order_id is not None:
        target.order_id = source.order_id
    target.last_message_at = max(target.last_message_at, source.last_message_at)
    target.created_at = min(target.created_at, source.created_at)
    complaint_fields = _carry_complaint_deadline(source=source, target=target)
    ticket_touch(ticket=target, fields=["order_id", "last_message_at", "created_at", *complaint_fields])
    now = timezone.now()
    previous_status = source.status
    Ticket.objects.filter(pk=source.pk).update(
        merged_into=target, status=TicketStatus.CLOSED, closed_at=now, status_changed_at=now, updated_at=now
    )
    source.refresh_from_db()
    # A merge closes the source outside the status table; its SLA clocks stop and its agent's capacity frees up.
    after_status_change(ticket=source, previous=previous_status)
    _clock_an_unanswered_customer_message(ticket=target)
    details: dict[str, object] = {"from": source.number, "messages": moved}
    if merged_customer is not None:
        details["customer"] = merged_customer
    TicketActivity.objects.create(ticket=target, actor=actor, kind=TicketActivity.Kind.MERGE, details=details)
    TicketActivity.objects.create(
        ticket=source, actor=actor, kind=TicketActivity.Kind.MERGE, details={"into": target.number}
    )
    after_ticket_change(ticket=target, change="updated")
    after_ticket_change(ticket=source, change="updated")
    return target


def _clock_an_unanswered_customer_message(*, ticket: Ticket) -> None:
    """The survivor's newest customer-facing message may be the source's, still unanswered: it gets the
    response clock a customer's message written onto the survivor would have started at that time."""
    from tickets.services.sla import sla_unanswered_since
    from tickets.sla_hooks import sla_after_customer_message

    waiting_since = sla_unanswered_since(ticket=ticket)
    if waiting_since is not None:
        sla_after_customer_message(ticket=ticket, received_at=waiting_since)


def _carry_complaint_deadline(*, source: Ticket, target: Ticket) -> list[str]:
    """The survivor answers the earlier of the two complaint deadlines, and whether its notice went out."""
    if source.complaint_due_at is None:
        return []
    if target.complaint_due_at is not None and target.complaint_due_at <= source.complaint_due_at:
        return []
    target.complaint_due_at = source.complaint_due_at
    target.complaint_extension_sent_at = source.complaint_extension_sent_at
    return ["complaint_due_at", "complaint_extension_sent_at"]


def _merge_customers_of(*, source: Ticket, target: Ticket, actor: User, allowed: bool) -> str:
    """Fold the source ticket's customer into the target's; answers with the folded customer's name."""
    if not allowed:
        raise ApplicationError(
            _(
                "These tickets belong to different customers. Tick “same person” to merge the customers "
                "as well, or leave the tickets apart."
            )
        )
    if not actor.has_perm("customers.change_customer"):
        raise PermissionDeniedError(_("You may not merge customers."))
    # Folding a customer moves all their tickets, and where replies to them go: only for someone who
    # may see every one of them (a supervisor, or an agent whose teams hold them all).
    theirs = Ticket.objects.filter(customer_id=source.customer_id)
    if theirs.filter(tickets_visible_to(actor)).count() != theirs.count():
        raise PermissionDeniedError(
            _("This customer has tickets you may not see; ask a supervisor to merge the customers.")
        )
    customers = Customer.objects.in_bulk([source.customer_id, target.customer_id])
    folded = customers[source.customer_id]
    customer_merge(source=folded, target=customers[target.customer_id])
    source.customer_id = target.customer_id
    return str(folded)


def split_leaves_a_customer_message(*, customer_message_count: int) -> bool:
    """Whether a ticket with this many customer messages may give one away to a new ticket.

    The ticket left behind must keep a message of the customer's to answer: the acknowledgement,
    replies and notes on it are not a conversation without one.
    """
    return customer_message_count >= 2


@transaction.atomic
def ticket_split(*, message_id: int, actor: User) -> Ticket:
    """Give one customer message its own ticket (the customer asked about something else)."""
    # The ticket is locked before its message, in the order merges lock them, so the two never deadlock.
    ticket_id = Message.objects.filter(pk=message_id).values_list("ticket_id", flat=True).first()
    if ticket_id is None:
        raise ApplicationError(_("That message does not exist."))
    original = Ticket.objects.select_for_update().get(pk=ticket_id)
    message = Message.objects.select_for_update().get(pk=message_id)
    if message.ticket_id != original.pk:
        raise ApplicationError(_("That message has just moved to another ticket; open it there and try again."))
    if message.direction != MessageDirection.INBOUND:
        raise ApplicationError(_("Only a customer's message can be split into a new ticket."))
    customer_messages = original.messages.filter(direction=MessageDirection.INBOUND).count()
    if not split_leaves_a_customer_message(customer_message_count=customer_messages):
        raise ApplicationError(
            _("This is the ticket's only message from the customer; splitting it would leave nothing to answer.")
        )
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
    # The customer has waited since they wrote it: the new ticket (and its SLA clocks) starts then.
    Ticket.objects.filter(pk=ticket.pk).update(created_at=message.created_at)
    ticket.created_at = message.created_at
    Message.objects.filter(pk=message.pk).update(ticket=ticket)
    message.ticket = ticket
    from tickets.sla_hooks import sla_after_messages_moved

    sla_after_messages_moved(ticket=original)
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
