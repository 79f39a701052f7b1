"""What a status change sets in motion: the solve confirmation request, reminders, auto-close."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets.choices import TicketStatus
from tickets.events import after_ticket_change
from tickets.models import Ticket
from tickets.services.outbound import message_create_outbound

_CONFIRM_SALT = "tickets.confirm-solved"


def confirmation_token(*, ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "n": ticket.number}, salt=_CONFIRM_SALT)


def ticket_from_confirmation_token(token: str) -> int | None:
    max_age = timedelta(days=90)
    try:
        data = signing.loads(token, salt=_CONFIRM_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return int(data["t"])


def confirmation_request_text(*, ticket: Ticket) -> str:
    link = settings.SITE_URL + reverse("ticket-confirm-solved", args=[confirmation_token(ticket=ticket)])
    days = settings.TICKET_AUTO_CLOSE_DAYS
    with translation.override(ticket.customer.language or "en"):
        return _(
            "We believe your request #%(number)s is now solved.\n\n"
            "If it is, please confirm here: %(link)s\n"
            "If anything is still wrong, simply reply to this message and we will pick it up again.\n"
            "Without a reply we will close the request in %(days)s days."
        ) % {"number": ticket.number, "link": link, "days": days}


def pending_reminder_text(*, ticket: Ticket) -> str:
    with translation.override(ticket.customer.language or "en"):
        return _(
            "We are waiting for your reply to request #%(number)s so we can help you further. "
            "Simply reply to this message when you can."
        ) % {"number": ticket.number}


def after_status_change(*, ticket: Ticket, previous: str) -> None:
    """Called inside the status-changing transaction, with the ticket locked."""
    if ticket.status == TicketStatus.SOLVED:
        message_create_outbound(ticket=ticket, body_text=confirmation_request_text(ticket=ticket), is_automatic=True)
    if ticket.status == TicketStatus.PENDING:
        Ticket.objects.filter(pk=ticket.pk).update(pending_reminder_sent_at=None)
    from tickets.services.routing import routing_after_status_change
    from tickets.sla_hooks import sla_after_status_change

    sla_after_status_change(ticket=ticket, previous=previous)
    routing_after_status_change(ticket=ticket, previous=previous)


CLOSE_BATCH_SIZE = 100


def tickets_close_solved(*, now: datetime | None = None) -> int:
    """Close solved tickets whose customer has not replied within TICKET_AUTO_CLOSE_DAYS.

    A hundred at a time, each batch in one transaction; a ticket someone else holds waits for the next run.
    """
    from tickets.services.lifecycle import ticket_apply_status

    cutoff = (now or timezone.now()) - timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    due = Q(status=TicketStatus.SOLVED, solved_at__lte=cutoff)
    ticket_ids = list(Ticket.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:1000])
    closed = 0
    for start in range(0, len(ticket_ids), CLOSE_BATCH_SIZE):
        with transaction.atomic():
            # The whole condition again, under the lock: a customer may have replied (reopened it) since.
            for ticket in (
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer")
                .filter(due, pk__in=ticket_ids[start : start + CLOSE_BATCH_SIZE])
                .order_by("pk")
            ):
                ticket_apply_status(ticket=ticket, status=TicketStatus.CLOSED, actor=None)
                after_ticket_change(ticket=ticket, change="updated")
                closed += 1
    return closed


def tickets_remind_pending(*, now: datetime | None = None) -> int:
    """Nudge customers who have left a pending ticket unanswered for TICKET_PENDING_REMINDER_DAYS; once."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TICKET_PENDING_REMINDER_DAYS)
    reminded = 0
    for ticket_id in Ticket.objects.filter(
        status=TicketStatus.PENDING, status_changed_at__lte=cutoff, pending_reminder_sent_at__isnull=True
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket_id)
            # The whole condition again, under the lock: the ticket may have left pending and come back since.
            if (
                ticket.status != TicketStatus.PENDING
                or ticket.status_changed_at > cutoff
                or ticket.pending_reminder_sent_at is not None
            ):
                continue
            message_create_outbound(ticket=ticket, body_text=pending_reminder_text(ticket=ticket), is_automatic=True)
            Ticket.objects.filter(pk=ticket.pk).update(pending_reminder_sent_at=now)
            reminded += 1
    return reminded


@transaction.atomic
def ticket_confirm_solved(*, ticket_id: int) -> Ticket:
    """The customer confirms the answer solved their problem: the ticket closes."""
    from tickets.services.lifecycle import ticket_apply_status, ticket_lock

    ticket = ticket_lock(ticket_id=ticket_id)
    if ticket.status == TicketStatus.SOLVED:
        ticket_apply_status(ticket=ticket, status=TicketStatus.CLOSED, actor=None)
        after_ticket_change(ticket=ticket, change="updated")
    return ticket
