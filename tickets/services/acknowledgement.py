"""The automatic acknowledgement a customer receives when a new ticket opens."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from helpdesk.core.chained_insert import ChildRow
from tickets.models import AcknowledgementRequest, AutoAcknowledgement, Message, Ticket
from tickets.services.customer_time import ticket_customer_zone
from tickets.services.delivery import message_deliver_or_queue
from tickets.services.outbound import message_create_outbound
from tickets.services.requeue import requeue_untouched
from tickets.services.sla import sla_first_response_running

logger = logging.getLogger(__name__)
# An acknowledgement still owed this long after its ticket opened is queued again (beat) ...
STALE_REQUEST_AGE = timedelta(minutes=2)
# ... until this old: a "we got your message" a day late is worse than none.
REQUEST_GIVE_UP_AGE = timedelta(days=1)
STALE_REQUEST_BATCH = 500

# Within a week a weekday is unambiguous ("Monday 12:30 p.m."); beyond it the customer gets the date.
_WEEKDAY_HORIZON_DAYS = 6


def expected_reply_text(*, ticket: Ticket, due_at: datetime, zone: ZoneInfo) -> str:
    """When the first reply is due, in ``zone`` (named, so the customer can tell) and the active language."""
    due = due_at.astimezone(zone)
    days_ahead = (due.date() - ticket.created_at.astimezone(zone).date()).days
    day = formats.date_format(due, "l" if days_ahead <= _WEEKDAY_HORIZON_DAYS else "DATE_FORMAT")
    return pgettext(
        "expected reply time: a weekday or date, a time, then its time zone (e.g. Europe/Berlin)",
        "%(day)s %(time)s (%(zone)s)",
    ) % {"day": day, "time": formats.time_format(due, "TIME_FORMAT"), "zone": zone.key}


def acknowledgement_text(*, ticket: Ticket) -> str:
    first_response = sla_first_response_running(ticket=ticket)
    due_at = first_response.due_at if first_response is not None else None
    with translation.override(ticket.customer.language or "en"):
        greeting = (
            _("Hello %(name)s,") % {"name": ticket.customer.first_name} if ticket.customer.first_name else _("Hello,")
        )
        if first_response is None or due_at is None:
            body = _(
                "Thank you for contacting us. Your request number is #%(number)s.\n"
                "An agent will reply as soon as possible.\n\n"
                "To add anything, simply reply to this message."
            ) % {"number": ticket.number}
        else:
            zone = ticket_customer_zone(ticket=ticket, policy=first_response.policy)
            body = _(
                "Thank you for contacting us. Your request number is #%(number)s.\n"
                "An agent will reply by %(reply_by)s at the latest.\n\n"
                "To add anything, simply reply to this message."
            ) % {"number": ticket.number, "reply_by": expected_reply_text(ticket=ticket, due_at=due_at, zone=zone)}
    return f"{greeting}\n\n{body}"


def _queue(ticket_ids: list[int]) -> None:
    from tickets.tasks import send_auto_acknowledgement_task

    for ticket_id in ticket_ids:
        send_auto_acknowledgement_task.delay(ticket_id)


def acknowledgement_request_for(ticket: Ticket) -> AcknowledgementRequest:
    """The (unsaved) row that says a new ticket is owed its acknowledgement: written with the ticket."""
    return AcknowledgementRequest(ticket=ticket)


def ticket_request_acknowledgement(*, ticket: Ticket) -> None:
    """Inside the transaction that opened a ticket with its request row: queue it once that commits.

    A failure to queue (the broker unreachable, the process gone) loses nothing: the request row
    stays, and beat queues it again (``acknowledgement_requests_requeue_stale``).
    """
    ticket_id = ticket.pk
    transaction.on_commit(lambda: _queue([ticket_id]), robust=True)


def acknowledgement_requests_requeue_stale(*, now: datetime | None = None) -> int:
    """Queue again every acknowledgement still owed a while after its ticket opened (beat, each minute).

    Recording the acknowledgement is idempotent (the ticket is locked and checked), so queueing
    one that is merely slow sends nothing twice. Requests older than REQUEST_GIVE_UP_AGE are dropped.
    """
    now = now or timezone.now()
    abandoned, _kinds = AcknowledgementRequest.objects.filter(created_at__lt=now - REQUEST_GIVE_UP_AGE).delete()
    if abandoned:
        logger.warning("gave up %s acknowledgements still owed after %s", abandoned, REQUEST_GIVE_UP_AGE)
    return requeue_untouched(
        AcknowledgementRequest.objects.filter(updated_at__lt=now - STALE_REQUEST_AGE),
        key="ticket_id",
        now=now,
        batch=STALE_REQUEST_BATCH,
        queue=_queue,
        what="owed acknowledgements",
    )


@transaction.atomic
def ticket_send_auto_acknowledgement(*, ticket_id: int, is_queued_after_commit: bool = True) -> Message | None:
    """Record the acknowledgement for a ticket (and queue it); returns None when one already exists."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket_id)
    AcknowledgementRequest.objects.filter(ticket_id=ticket_id).delete()
    if AutoAcknowledgement.objects.filter(ticket=ticket).exists():
        return None
    return message_create_outbound(
        ticket=ticket,
        body_text=acknowledgement_text(ticket=ticket),
        is_automatic=True,
        is_queued_after_commit=is_queued_after_commit,
        written_with=[ChildRow(AutoAcknowledgement(ticket=ticket), "message")],
    )


def ticket_acknowledge(*, ticket_id: int) -> Message | None:
    """What the acknowledgement task does: record the acknowledgement once, then send it from here.

    Sending in the same task saves a second task per new ticket. A run after a crash (the task is
    acknowledged late, so it runs again) finds the acknowledgement recorded and sends it if it is
    still unsent; sending is locked and checked, so nothing goes out twice. Returns the message
    when this run recorded it.
    """
    message = ticket_send_auto_acknowledgement(ticket_id=ticket_id, is_queued_after_commit=False)
    if message is not None:
        message_deliver_or_queue(message_id=message.pk, message=message)
        return message
    message_id = AutoAcknowledgement.objects.filter(ticket_id=ticket_id).values_list("message_id", flat=True).first()
    if message_id is not None:
        message_deliver_or_queue(message_id=message_id)
    return None
