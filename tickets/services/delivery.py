"""Delivering an outgoing message through its channel, at most once per outbox row."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from tickets.delivery import sender_for
from tickets.models import MessageDelivery

logger = logging.getLogger(__name__)


def message_deliver(*, message_id: int) -> bool:
    """Send the message if it has not been sent; returns True when this call sent it.

    The outbox row stays locked while the channel sends, so a duplicate task waits
    and then finds it sent. If the process dies mid-send the transaction rolls back
    and a retry sends again (at-least-once at the crash point, never twice otherwise).
    """
    with transaction.atomic():
        delivery = (
            MessageDelivery.objects.select_for_update()
            .select_related("message__ticket__customer")
            .get(message_id=message_id)
        )
        if delivery.status == MessageDelivery.Status.SENT:
            return False
        sender_for(delivery.message.channel)(delivery.message)
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
