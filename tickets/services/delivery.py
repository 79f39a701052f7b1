"""Delivering an outgoing message through its channel, at most once per outbox row."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException

from django.db import transaction
from django.utils import timezone

from helpdesk.core.exceptions import ApplicationError
from tickets.delivery import sender_for
from tickets.models import Message, MessageDelivery
from tickets.services.requeue import requeue_untouched

logger = logging.getLogger(__name__)

# Failures worth another try later (the mail server is down, the network dropped).
TRANSIENT_DELIVERY_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)
# Longer than the delivery task's own retries take (5 + 10 + ... + 160 s), so a sweep never races them.
STALE_DELIVERY_AGE = timedelta(minutes=15)
STALE_DELIVERY_BATCH = 500


def message_deliver(*, message_id: int, message: Message | None = None) -> bool:
    """Send the message if it has not been sent; returns True when this call sent it.

    The outbox row stays locked while the channel sends, so a duplicate task waits
    and then finds it sent. If the process dies mid-send the transaction rolls back
    and a retry sends again (at-least-once at the crash point, never twice otherwise).
    A caller that has just recorded the message passes it (with its ticket and customer
    loaded), and only the outbox row is read again.
    """
    with transaction.atomic():
        deliveries = MessageDelivery.objects.select_for_update(of=("self",))  # not the ticket: sending may be slow
        if message is None:
            delivery = deliveries.select_related("message__ticket__customer").get(message_id=message_id)
            message = delivery.message
        else:
            delivery = deliveries.get(message_id=message_id)
        if delivery.status == MessageDelivery.Status.SENT:
            return False
        try:
            sender_for(message.channel)(message)
        except ApplicationError as error:
            # Nothing to send it through (no adapter for the channel, no address to write to): no retry
            # would help, so it fails now, visibly, instead of being swept up and retried for ever.
            delivery.status = MessageDelivery.Status.FAILED
            delivery.attempts += 1
            delivery.last_error = error.message[:2000]
            delivery.save(update_fields=["status", "attempts", "last_error", "updated_at"])
            logger.warning("message %s cannot be delivered: %s", message_id, error.message)
            return False
        delivery.status = MessageDelivery.Status.SENT
        delivery.attempts += 1
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["status", "attempts", "sent_at", "last_error", "updated_at"])
    logger.info("delivered message %s", message_id)
    return True


def message_delivery_failed(*, message_id: int, error: str) -> None:
    MessageDelivery.objects.filter(message_id=message_id).exclude(status=MessageDelivery.Status.SENT).update(
        status=MessageDelivery.Status.FAILED, last_error=error[:2000], updated_at=timezone.now()
    )


def message_deliver_or_queue(*, message_id: int, message: Message | None = None) -> bool:
    """Send now from this process; a transient failure hands the message to the retrying delivery task."""
    from tickets.tasks import deliver_message_task

    try:
        return message_deliver(message_id=message_id, message=message)
    except TRANSIENT_DELIVERY_ERRORS as error:
        logger.warning("delivering message %s failed (%s); the delivery task will retry", message_id, error)
        deliver_message_task.delay(message_id)
        return False


def deliveries_requeue_stale(*, now: datetime | None = None) -> int:
    """Queue again every delivery still pending long after it was recorded (beat, every few minutes).

    The outbox row is committed before its delivery task is queued; a process that dies between
    the two would leave it pending with nothing to send it. Sending is idempotent (the row is
    locked and checked), so queueing one that is merely slow sends nothing twice.
    """
    now = now or timezone.now()
    pending = MessageDelivery.objects.filter(
        status=MessageDelivery.Status.PENDING, updated_at__lt=now - STALE_DELIVERY_AGE
    )
    return requeue_untouched(
        pending, key="message_id", now=now, batch=STALE_DELIVERY_BATCH, queue=_queue, what="stale pending deliveries"
    )


def _queue(message_ids: list[int]) -> None:
    from tickets.tasks import deliver_message_task

    for message_id in message_ids:
        deliver_message_task.delay(message_id)
