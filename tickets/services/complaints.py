"""Complaints must be resolved within 30 days; the customer hears in good time if more is needed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from tickets.models import Ticket
from tickets.services.customer_time import ticket_customer_zone
from tickets.services.outbound import message_create_outbound
from tickets.status_machine import UNRESOLVED_STATUSES

COMPLAINT_RESOLUTION_DAYS = 30


def complaint_start_clock(*, ticket: Ticket) -> None:
    """Start the 30-day clock from when the customer first wrote, once per ticket.

    Not from when the complaint reason was added: the customer was owed an answer from their message,
    and a late tag must not buy time. A complaint tagged after its deadline gets its notice, with a
    date ahead of now, on the next run of ``complaints_send_extension_notices``.
    """
    if ticket.complaint_due_at is None:
        ticket.complaint_due_at = ticket.created_at + timedelta(days=COMPLAINT_RESOLUTION_DAYS)
        Ticket.objects.filter(pk=ticket.pk, complaint_due_at__isnull=True).update(
            complaint_due_at=ticket.complaint_due_at
        )


def complaint_stop_clock(*, ticket: Ticket) -> None:
    """The ticket is no longer a complaint (its last complaint reason was removed): no deadline, no notice.

    Once the customer has been told a new date, that promise stands and the clock stays.
    """
    if ticket.complaint_due_at is not None and ticket.complaint_extension_sent_at is None:
        ticket.complaint_due_at = None
        Ticket.objects.filter(pk=ticket.pk, complaint_extension_sent_at__isnull=True).update(complaint_due_at=None)


def complaint_extension_text(*, ticket: Ticket, new_date: datetime) -> str:
    """The notice, with the new date as the customer's calendar shows it (their zone, else the desk's)."""
    local_date = new_date.astimezone(ticket_customer_zone(ticket=ticket))
    with translation.override(ticket.customer.language or "en"):
        return _(
            "We are still working on your complaint #%(number)s and need a little more time to resolve it "
            "properly. We now expect to give you our answer by %(date)s. Thank you for your patience."
        ) % {"number": ticket.number, "date": formats.date_format(local_date, "DATE_FORMAT")}


def complaints_send_extension_notices(*, now: datetime | None = None) -> int:
    """Tell customers whose complaint is near its deadline (and still unresolved) the new date; once each."""
    now = now or timezone.now()
    notice_days = getattr(settings, "COMPLAINT_NOTICE_DAYS_BEFORE", 5)
    extension_days = getattr(settings, "COMPLAINT_EXTENSION_DAYS", 14)
    notice_from = now + timedelta(days=notice_days)
    due_ids = list(
        Ticket.objects.filter(
            complaint_due_at__lte=notice_from,
            complaint_extension_sent_at__isnull=True,
            status__in=UNRESOLVED_STATUSES,
        ).values_list("pk", flat=True)[:500]
    )
    sent = 0
    for ticket_id in due_ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket_id)
            # The whole condition again, under the lock: the complaint reason may have been removed since.
            if (
                ticket.complaint_due_at is None
                or ticket.complaint_due_at > notice_from
                or ticket.complaint_extension_sent_at is not None
                or ticket.status not in UNRESOLVED_STATUSES
            ):
                continue
            # A deadline already past (the complaint was recognised late) is extended from now.
            new_date = max(ticket.complaint_due_at, now) + timedelta(days=extension_days)
            message_create_outbound(
                ticket=ticket, body_text=complaint_extension_text(ticket=ticket, new_date=new_date), is_automatic=True
            )
            Ticket.objects.filter(pk=ticket.pk).update(complaint_extension_sent_at=now, complaint_due_at=new_date)
            sent += 1
    return sent
