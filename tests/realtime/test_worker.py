"""A real Celery worker acknowledges new email tickets: only after commit, once, and delivered once."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import transaction

from tickets.choices import MessageDirection
from tickets.models import AutoAcknowledgement, Message, MessageDelivery, Ticket
from tickets.services.ingest import InboundMessage, ingest
from tickets.tasks import deliver_message_task, send_owed_acknowledgements_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 20
ACK_RECEIVED = re.compile(r"Task tickets\.tasks\.send_owed_acknowledgements_task\[[0-9a-f-]+\] received")
DELIVERY_RECEIVED = re.compile(r"Task tickets\.tasks\.deliver_message_task\[[0-9a-f-]+\] received")


class RolledBackError(Exception):
    pass


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def inbound_email(subject: str) -> InboundMessage:
    return InboundMessage(
        channel="email",
        sender_kind="email",
        sender_address=f"{uuid.uuid4().hex[:10]}@customers.test",
        sender_name="Maya Lopez",
        body_text="My order arrived damaged.",
        subject=subject,
        external_message_id=f"<{uuid.uuid4().hex}@customers.test>",
    )


def ingest_then_roll_back(inbound: InboundMessage) -> None:
    with transaction.atomic():
        ingest(inbound=inbound)
        raise RolledBackError


def acknowledgement_sent(ticket: Ticket) -> bool:
    return MessageDelivery.objects.filter(
        message__ticket=ticket, message__is_automatic=True, status=MessageDelivery.Status.SENT
    ).exists()


def test_a_rolled_back_ingest_enqueues_nothing_and_a_committed_one_is_acknowledged(celery_worker_process):
    log_start = celery_worker_process.process.log_size()
    with pytest.raises(RolledBackError):
        ingest_then_roll_back(inbound_email("Never happened"))

    committed = ingest(inbound=inbound_email("Damaged on arrival")).ticket
    # The solo worker takes tasks in order, so once the committed ticket's acknowledgement has
    # gone out, anything the rolled-back ingest had enqueued would already have run.
    wait_for(lambda: acknowledgement_sent(committed), what="the acknowledgement to be delivered")

    assert not Ticket.objects.filter(subject="Never happened").exists()
    assert list(AutoAcknowledgement.objects.values_list("ticket_id", flat=True)) == [committed.pk]
    assert len(ACK_RECEIVED.findall(celery_worker_process.process.log_text(since=log_start))) == 1


def test_the_worker_creates_one_acknowledgement_and_delivers_its_message(celery_worker_process):
    log_start = celery_worker_process.process.log_size()
    ticket = ingest(inbound=inbound_email("Where is order #1042?")).ticket

    wait_for(lambda: acknowledgement_sent(ticket), what="the acknowledgement to be delivered")
    worker_log = celery_worker_process.process.log_text(since=log_start)
    assert len(ACK_RECEIVED.findall(worker_log)) == 1
    assert DELIVERY_RECEIVED.findall(worker_log) == []  # sent by the acknowledgement task itself

    acknowledgement = AutoAcknowledgement.objects.select_related("message__delivery").get(ticket=ticket)
    outbound = Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert list(outbound) == [acknowledgement.message]
    assert acknowledgement.message.is_automatic
    assert f"#{ticket.number}" in acknowledgement.message.body_text
    delivery = acknowledgement.message.delivery
    assert (delivery.status, delivery.attempts, delivery.last_error) == (MessageDelivery.Status.SENT, 1, "")
    assert delivery.sent_at is not None
    # The worker's locmem outbox is in its own process; the test's stays empty.
    assert mail.outbox == []


def test_running_the_acknowledgement_sender_again_doubles_nothing(celery_worker_process):
    ticket = ingest(inbound=inbound_email("Charged twice")).ticket
    # Queued right behind the sender ingest woke after commit: two runs for one owed acknowledgement.
    second_run = send_owed_acknowledgements_task.apply_async(ignore_result=False)

    assert second_run.get(timeout=DEADLINE_SECONDS) == 0  # the first run had sent it
    wait_for(lambda: acknowledgement_sent(ticket), what="the acknowledgement to be delivered")
    third_run = send_owed_acknowledgements_task.apply_async(ignore_result=False).get(timeout=DEADLINE_SECONDS)
    acknowledgement = AutoAcknowledgement.objects.get(ticket=ticket)
    redelivered = deliver_message_task.apply_async((acknowledgement.message_id,), ignore_result=False).get(
        timeout=DEADLINE_SECONDS
    )

    assert third_run == 0
    assert redelivered is False
    assert AutoAcknowledgement.objects.filter(ticket=ticket).count() == 1
    assert Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND).count() == 1
    delivery = MessageDelivery.objects.get(message__ticket=ticket)
    assert (delivery.status, delivery.attempts) == (MessageDelivery.Status.SENT, 1)
