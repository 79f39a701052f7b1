"""The acknowledgement is sent by the task that records it; nothing pending is ever left behind."""

from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.utils import timezone

from tests.customers.factories import CustomerIdentityFactory
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets import tasks
from tickets.choices import MessageDirection
from tickets.models import AcknowledgementRequest, AutoAcknowledgement, MessageDelivery
from tickets.services import delivery as delivery_service
from tickets.services.acknowledgement import (
    acknowledgements_claim,
    acknowledgements_record,
    acknowledgements_send_owed,
)
from tickets.services.delivery import STALE_DELIVERY_AGE, deliveries_requeue_stale
from tickets.services.outbound import message_create_outbound

pytestmark = pytest.mark.django_db
Status = MessageDelivery.Status


@pytest.fixture
def queued(monkeypatch):
    """Message ids handed to the delivery task, instead of the broker."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.deliver_message_task, "delay", ids.append)
    return ids


def _owed_ticket(email: str, **ticket_fields):
    """A new ticket with its customer's message, owed its acknowledgement as ingest leaves it."""
    ticket = TicketFactory(**ticket_fields)
    CustomerIdentityFactory(customer=ticket.customer, value=email)
    MessageFactory(ticket=ticket, direction=MessageDirection.INBOUND, channel=ticket.channel)
    AcknowledgementRequest.objects.create(ticket=ticket)
    return ticket


@pytest.fixture
def ticket():
    return _owed_ticket("maya@customers.test")


def _acknowledgement_of(ticket):
    return AutoAcknowledgement.objects.select_related("message").get(ticket=ticket).message


def test_the_sender_records_and_sends_without_a_second_task(ticket, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        handled = acknowledgements_send_owed()

    message = _acknowledgement_of(ticket)
    assert handled == 1
    assert callbacks == []  # no delivery queued after commit: it went out here
    assert queued == []
    assert [sent.to for sent in mail.outbox] == [["maya@customers.test"]]
    delivery = MessageDelivery.objects.get(message=message)
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert not AcknowledgementRequest.objects.exists()  # removed once sent


def test_a_sender_after_a_crash_sends_the_recorded_acknowledgement_once(ticket, queued):
    [recorded] = acknowledgements_record(ticket_ids=[ticket.pk])  # what a sender that then died had done
    # ...its claim on the request ran out; the next senders find it:

    assert acknowledgements_send_owed() == 1
    assert acknowledgements_send_owed() == 0

    assert len(mail.outbox) == 1
    assert _acknowledgement_of(ticket).pk == recorded.message_id
    assert MessageDelivery.objects.get(message_id=recorded.message_id).status == Status.SENT


def test_a_transient_failure_hands_the_acknowledgement_to_the_retrying_delivery_task(ticket, queued, monkeypatch):
    def refuse(message):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(delivery_service, "sender_for", lambda channel: refuse)

    acknowledgements_send_owed()

    message = _acknowledgement_of(ticket)
    assert queued == [message.pk]
    assert MessageDelivery.objects.get(message=message).status == Status.PENDING
    assert mail.outbox == []
    assert not AcknowledgementRequest.objects.exists()  # the delivery task owns it now


def test_deliveries_left_pending_are_queued_again_once(ticket, queued):
    stale = MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND)
    fresh = MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND)
    sent = MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND)
    long_ago = timezone.now() - STALE_DELIVERY_AGE - timedelta(minutes=1)
    MessageDelivery.objects.create(message=stale)
    MessageDelivery.objects.create(message=fresh)
    MessageDelivery.objects.create(message=sent, status=Status.SENT)
    MessageDelivery.objects.filter(message__in=[stale, sent]).update(updated_at=long_ago)

    assert deliveries_requeue_stale() == 1
    assert deliveries_requeue_stale() == 0  # touched: left to the task just queued

    assert queued == [stale.pk]


@pytest.mark.django_db(transaction=True)
def test_a_message_being_sent_locks_its_outbox_row_but_never_its_ticket(monkeypatch):
    """A slow mail server must not hold up agents: while one message is sent, its ticket stays free to change."""
    import threading

    from django.db import OperationalError, connection, transaction

    from tickets.models import Ticket

    ticket = TicketFactory()
    CustomerIdentityFactory(customer=ticket.customer, value="slow@customers.test")
    with transaction.atomic():
        message = message_create_outbound(
            ticket=ticket, body_text="Thanks, we are on it.", is_queued_after_commit=False
        )
    sending, release = threading.Event(), threading.Event()

    def slow_sender(_message):
        sending.set()
        assert release.wait(timeout=10)

    monkeypatch.setattr(delivery_service, "sender_for", lambda _channel: slow_sender)
    outcome = {}

    def deliver():
        try:
            outcome["sent"] = delivery_service.message_deliver(message_id=message.pk)
        finally:
            connection.close()

    sender = threading.Thread(target=deliver)
    sender.start()
    try:
        assert sending.wait(timeout=10)
        with transaction.atomic():
            locked = Ticket.objects.select_for_update(nowait=True).get(pk=ticket.pk)  # free, though mail is going out
            with pytest.raises(OperationalError), transaction.atomic():
                MessageDelivery.objects.select_for_update(nowait=True).get(message_id=message.pk)
    finally:
        release.set()
        sender.join(timeout=10)

    assert locked.pk == ticket.pk
    assert outcome["sent"] is True
    assert MessageDelivery.objects.get(message_id=message.pk).status == Status.SENT


def test_a_ticket_opened_through_the_api_is_answered_by_email(queued):
    from tickets.choices import Channel

    ticket = _owed_ticket("api.customer@customers.test", channel=Channel.API)

    acknowledgements_send_owed()

    assert [message.to for message in mail.outbox] == [["api.customer@customers.test"]]
    assert MessageDelivery.objects.get(message__ticket=ticket).status == Status.SENT


def test_a_message_with_nothing_to_send_it_through_fails_at_once_instead_of_being_retried_for_ever(queued):
    from tickets.choices import Channel

    ticket = _owed_ticket("+4915112345678", channel=Channel.SMS)  # no SMS adapter on this desk

    acknowledgements_send_owed()

    delivery = MessageDelivery.objects.get(message__ticket=ticket)
    assert delivery.status == Status.FAILED
    assert "No delivery is configured for the sms channel" in delivery.last_error
    assert queued == []
    assert deliveries_requeue_stale(now=timezone.now() + STALE_DELIVERY_AGE * 2) == 0


def test_a_batch_of_acknowledgements_costs_a_fixed_number_of_statements_plus_a_few_per_ticket(
    queued, django_assert_num_queries
):
    owed = [_owed_ticket(f"customer{number}@customers.test") for number in range(3)]

    # Claimed and recorded (one savepoint here): the requests claimed (read, then marked), the tickets
    # locked, earlier acknowledgements, the thread's Message-IDs, the messages, their outbox rows and the
    # acknowledgement records (one statement each for the batch), plus each ticket's SLA due time.
    # Sent, each in its own savepoint: the outbox row locked, the customer's address, marked sent.
    # Then the requests removed, and one more claim that finds nothing left.
    per_ticket = 1 + 5
    with django_assert_num_queries(2 + 8 + 3 * per_ticket + 1 + 3):
        handled = acknowledgements_send_owed()

    assert handled == 3
    assert sorted(sent.to[0] for sent in mail.outbox) == [f"customer{n}@customers.test" for n in range(3)]
    assert AutoAcknowledgement.objects.filter(ticket__in=owed).count() == 3
    assert not AcknowledgementRequest.objects.exists()


class _SenderDied(BaseException):
    """The worker process going away mid-batch (a kill, a hard time limit): nothing after it runs."""


def test_a_sender_that_dies_mid_batch_leaves_its_claim_and_the_next_sends_each_message_once(queued, monkeypatch):
    from tickets.services import acknowledgement

    owed = [_owed_ticket(f"customer{number}@customers.test") for number in range(3)]
    real_deliver = acknowledgement.message_deliver_or_queue
    sent_before_dying = []

    def deliver_one_then_die(*, message_id, message=None):
        if sent_before_dying:
            raise _SenderDied
        sent_before_dying.append(message_id)
        return real_deliver(message_id=message_id, message=message)

    monkeypatch.setattr(acknowledgement, "message_deliver_or_queue", deliver_one_then_die)
    with pytest.raises(_SenderDied):
        acknowledgements_send_owed()
    monkeypatch.setattr(acknowledgement, "message_deliver_or_queue", real_deliver)

    assert acknowledgements_send_owed() == 0  # the dead sender's claim still stands: nobody doubles its work
    AcknowledgementRequest.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))  # ... until it runs out
    assert acknowledgements_send_owed() == 3

    assert len(mail.outbox) == 3  # one each: the one sent before dying is not sent again
    assert AutoAcknowledgement.objects.filter(ticket__in=owed).count() == 3
    assert set(MessageDelivery.objects.values_list("status", flat=True)) == {Status.SENT}
    assert not AcknowledgementRequest.objects.exists()


def test_a_second_sender_takes_other_tickets_than_the_first(queued):
    owed = [_owed_ticket(f"customer{number}@customers.test") for number in range(5)]

    first_batch = acknowledgements_claim(
        at_most=2
    )  # a first sender has claimed and recorded these, and is sending them
    second_sender_handled = acknowledgements_send_owed()

    assert [recorded.ticket_id for recorded in first_batch] == [owed[0].pk, owed[1].pk]
    assert second_sender_handled == 3
    assert sorted(sent.to[0] for sent in mail.outbox) == [f"customer{n}@customers.test" for n in (2, 3, 4)]
    assert list(AcknowledgementRequest.objects.order_by("ticket_id").values_list("ticket_id", flat=True)) == [
        owed[0].pk,
        owed[1].pk,
    ]


def test_a_sender_past_its_time_hands_the_rest_to_a_fresh_task(monkeypatch):
    from tickets import tasks

    senders = []
    monkeypatch.setattr(tasks.send_owed_acknowledgements_task, "delay", lambda **task: senders.append("sender"))
    for number in range(3):
        _owed_ticket(f"customer{number}@customers.test")

    handled = acknowledgements_send_owed(batch_size=1, budget_seconds=0)

    assert handled == 1
    assert senders == ["sender"]
    assert AcknowledgementRequest.objects.count() == 2
