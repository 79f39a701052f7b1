"""The automatic acknowledgement a customer receives when a new ticket opens."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from redis.exceptions import RedisError

from tickets.models import AcknowledgementRequest, AutoAcknowledgement, Message, Ticket
from tickets.services.customer_time import ticket_customer_zone
from tickets.services.delivery import message_deliver_or_queue
from tickets.services.outbound import OutboundDraft, outbound_messages_create
from tickets.services.requeue import requeue_untouched
from tickets.services.sla import sla_first_response_running

logger = logging.getLogger(__name__)
# An acknowledgement still owed this long after its ticket opened is queued again (beat) ...
STALE_REQUEST_AGE = timedelta(minutes=2)
# ... until this old: a "we got your message" a day late is worse than none.
REQUEST_GIVE_UP_AGE = timedelta(days=1)
STALE_REQUEST_BATCH = 500
# One sender task works through every owed acknowledgement, a batch per transaction ...
SENDER_BATCH_SIZE = 25
# ... for this long before it hands the rest to a fresh task;
SENDER_BUDGET_SECONDS = 20.0
# a batch it claimed is left to it this long (longer than sending a batch takes, with retries);
CLAIM_DURATION = timedelta(minutes=2)
# and this cache key says a sender is queued and has not started yet (expiring, in case it was lost).
SENDER_QUEUED_MARK = "helpdesk:acknowledgements:sender-queued"
SENDER_MARK_SECONDS = 5

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


def acknowledgement_request_for(ticket: Ticket) -> AcknowledgementRequest:
    """The (unsaved) row that says a new ticket is owed its acknowledgement: written with the ticket."""
    return AcknowledgementRequest(ticket=ticket)


def ticket_request_acknowledgement(*, ticket: Ticket) -> None:
    """Inside the transaction that opened a ticket with its request row: wake the sender once that commits.

    A failure to wake it (the broker unreachable, the process gone) loses nothing: the request row
    stays, and beat wakes the sender again (``acknowledgement_requests_requeue_stale``).
    """
    transaction.on_commit(acknowledgements_wake, robust=True)


class _QuietTime:
    """When this process last saw to it that a sender is queued (monotonic clock); per process."""

    since = -math.inf


_quiet = _QuietTime()


def _quiet_seconds() -> float:
    return float(settings.ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS)


def _grace_for(quiet_seconds: float) -> float:
    """How long a sender keeps looking for new requests after it finds none: four quiet times."""
    return 4 * quiet_seconds


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def acknowledgements_wake(*, handing_over: bool = False) -> None:
    """Make sure a sender of owed acknowledgements is queued: one task for any number of new tickets.

    The mark says one is queued and has not started yet; the first request after it started queues
    the next. A mark whose task was lost expires after SENDER_MARK_SECONDS; a cache that cannot be
    reached queues a sender every time, which costs a task and loses nothing.

    Once this process has queued a sender itself, it does not ask again for
    ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS: that sender starts after that moment and is told this
    process's grace (four quiet times), the time it keeps looking for new requests after it runs out,
    so a ticket committed in the quiet time is found whatever the worker's own settings say. A sender
    found queued by someone else does not make this process quiet (its task may yet fail to queue).
    A sender ``handing_over`` to its successor always asks.
    """
    from tickets.tasks import send_owed_acknowledgements_task

    started = time.monotonic()
    quiet = _quiet_seconds()
    if not handing_over and started - _quiet.since < quiet:
        return
    try:
        already_queued = not cache.add(SENDER_QUEUED_MARK, 1, timeout=SENDER_MARK_SECONDS)
    except (OSError, RedisError) as error:
        logger.warning("could not read whether an acknowledgement sender is queued (%r); queueing one", error)
        already_queued = False
    if already_queued:
        return
    try:
        send_owed_acknowledgements_task.delay(grace_seconds=_grace_for(quiet))
    except Exception:
        # Not queued after all: the next new ticket (or beat) must try again instead of trusting the mark.
        with contextlib.suppress(OSError, RedisError):
            cache.delete(SENDER_QUEUED_MARK)
        raise
    _quiet.since = started  # measured from before the mark was set: the sender starts after it


def acknowledgements_wake_forget() -> None:
    """Ask for a sender on the next new ticket again (a sender that was run in-process has finished)."""
    _quiet.since = -math.inf


def acknowledgements_owed(*, at_most: int) -> int:
    """How many new tickets still wait for their acknowledgement (counted up to ``at_most``)."""
    return AcknowledgementRequest.objects.all()[:at_most].count()


def acknowledgement_requests_requeue_stale(*, now: datetime | None = None) -> int:
    """Wake the sender for acknowledgements still owed a while after their ticket opened (beat, each minute).

    Sending is idempotent (each ticket is locked and checked), so waking it for one that is merely
    slow sends nothing twice. Requests older than REQUEST_GIVE_UP_AGE are dropped.
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
        queue=lambda _ticket_ids: acknowledgements_wake(),
        what="owed acknowledgements",
    )


@dataclass(frozen=True)
class RecordedAcknowledgement:
    ticket_id: int
    message_id: int
    message: Message | None  # with its ticket and customer, when recorded just now


def acknowledgements_record(*, ticket_ids: Sequence[int]) -> list[RecordedAcknowledgement]:
    """Record the acknowledgement of each ticket that has none yet; call inside a transaction.

    The tickets are locked (in id order, as every multi-ticket lock here is taken), so a ticket is
    acknowledged once whoever records it. A ticket acknowledged before comes back with the message
    it got, which the caller sends if it is still unsent. The messages, their outbox rows and the
    records are written in one statement each for the whole batch.
    """
    tickets = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk__in=ticket_ids)
        .order_by("pk")
    )
    earlier = dict(AutoAcknowledgement.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", "message_id"))
    owed = [ticket for ticket in tickets if ticket.pk not in earlier]
    messages = outbound_messages_create(
        drafts=[OutboundDraft(ticket=ticket, body_text=acknowledgement_text(ticket=ticket)) for ticket in owed],
        is_automatic=True,
        is_queued_after_commit=False,
    )
    AutoAcknowledgement.objects.bulk_create(
        [AutoAcknowledgement(ticket=message.ticket, message=message) for message in messages]
    )
    recorded = [RecordedAcknowledgement(ticket_id=m.ticket_id, message_id=m.pk, message=m) for m in messages]
    return recorded + [RecordedAcknowledgement(ticket_id=t, message_id=m, message=None) for t, m in earlier.items()]


@transaction.atomic
def acknowledgements_claim(*, at_most: int) -> list[RecordedAcknowledgement]:
    """Claim up to ``at_most`` owed acknowledgements that nobody is sending, and record them."""
    now = timezone.now()
    claimed = list(
        AcknowledgementRequest.objects.select_for_update(skip_locked=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("pk")
        .values_list("pk", "ticket_id")[:at_most]
    )
    if not claimed:
        return []
    AcknowledgementRequest.objects.filter(pk__in=[pk for pk, _ticket_id in claimed]).update(
        claimed_until=now + CLAIM_DURATION, updated_at=now
    )
    return acknowledgements_record(ticket_ids=[ticket_id for _pk, ticket_id in claimed])


def acknowledgements_send_owed(
    *, batch_size: int = SENDER_BATCH_SIZE, budget_seconds: float = SENDER_BUDGET_SECONDS, grace_seconds: float = 0.0
) -> int:
    """What the sender task does: record and send every owed acknowledgement, a batch at a time.

    Each batch is claimed for CLAIM_DURATION (so a second sender running beside this one takes other
    tickets), recorded in one transaction, sent message by message (each outbox row locked while it
    goes out, so nothing is sent twice), and only then is the request removed. A sender that dies
    mid-batch leaves its requests claimed; once the claim runs out, the next sender finds them, and
    for each either records it or sends the recorded message if it never went out. After
    ``budget_seconds`` the rest is left to a fresh task, so other work gets its turn. Returns how
    many acknowledgements this run handled.
    """
    try:
        cache.delete(SENDER_QUEUED_MARK)  # first: anything owed from now on queues another sender
    except (OSError, RedisError) as error:
        logger.warning("could not clear the acknowledgement sender's mark (%r)", error)
    deadline = time.monotonic() + budget_seconds
    handled = 0
    # The process that queued this sender stays quiet for a while: look once more that long after running out.
    grace = max(grace_seconds, _grace_for(_quiet_seconds()))
    looked_again = False
    while True:
        batch = acknowledgements_claim(at_most=batch_size)
        if not batch:
            if looked_again or grace <= 0:
                break
            _wait(grace)
            looked_again = True
            continue
        looked_again = False
        for recorded in batch:
            message_deliver_or_queue(message_id=recorded.message_id, message=recorded.message)
        AcknowledgementRequest.objects.filter(ticket_id__in=[recorded.ticket_id for recorded in batch]).delete()
        handled += len(batch)
        if time.monotonic() >= deadline:
            acknowledgements_wake(handing_over=True)
            break
    return handled
