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
from tickets.models import AutoAcknowledgement, MessageDelivery
from tickets.services import delivery as delivery_service
from tickets.services.acknowledgement import ticket_acknowledge, ticket_send_auto_acknowledgement
from tickets.services.delivery import STALE_DELIVERY_AGE, deliveries_requeue_stale

pytestmark = pytest.mark.django_db
Status = MessageDelivery.Status


@pytest.fixture
def queued(monkeypatch):
    """Message ids handed to the delivery task, instead of the broker."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.deliver_message_task, "delay", ids.append)
    return ids


@pytest.fixture
def ticket():
    ticket = TicketFactory()
    CustomerIdentityFactory(customer=ticket.customer, value="maya@customers.test")
    MessageFactory(ticket=ticket, direction=MessageDirection.INBOUND)
    return ticket


def test_the_acknowledgement_task_records_and_sends_without_a_second_task(
    ticket, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = ticket_acknowledge(ticket_id=ticket.pk)

    assert callbacks == []  # no delivery queued after commit: it went out here
    assert queued == []
    assert [sent.to for sent in mail.outbox] == [["maya@customers.test"]]
    delivery = MessageDelivery.objects.get(message=message)
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)


def test_a_run_after_a_crash_sends_the_recorded_acknowledgement_once(ticket, queued):
    recorded = ticket_send_auto_acknowledgement(ticket_id=ticket.pk, is_queued_after_commit=False)
    # ...the worker died here, before sending; the late-acknowledged task runs again:

    assert ticket_acknowledge(ticket_id=ticket.pk) is None
    assert ticket_acknowledge(ticket_id=ticket.pk) is None

    assert len(mail.outbox) == 1
    assert AutoAcknowledgement.objects.get(ticket=ticket).message == recorded
    assert MessageDelivery.objects.get(message=recorded).status == Status.SENT


def test_a_transient_failure_hands_the_acknowledgement_to_the_retrying_delivery_task(ticket, queued, monkeypatch):
    def refuse(message):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(delivery_service, "sender_for", lambda channel: refuse)

    message = ticket_acknowledge(ticket_id=ticket.pk)

    assert queued == [message.pk]
    assert MessageDelivery.objects.get(message=message).status == Status.PENDING
    assert mail.outbox == []


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
    message = ticket_send_auto_acknowledgement(ticket_id=ticket.pk)
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

    ticket = TicketFactory(channel=Channel.API)
    CustomerIdentityFactory(customer=ticket.customer, value="api.customer@customers.test")
    MessageFactory(ticket=ticket, direction=MessageDirection.INBOUND, channel=Channel.API)

    ticket_acknowledge(ticket_id=ticket.pk)

    assert [message.to for message in mail.outbox] == [["api.customer@customers.test"]]
    assert MessageDelivery.objects.get(message__ticket=ticket).status == Status.SENT


def test_a_message_with_nothing_to_send_it_through_fails_at_once_instead_of_being_retried_for_ever(queued):
    from tickets.choices import Channel

    ticket = TicketFactory(channel=Channel.SMS)  # no SMS adapter on this desk
    MessageFactory(ticket=ticket, direction=MessageDirection.INBOUND, channel=Channel.SMS)

    ticket_acknowledge(ticket_id=ticket.pk)

    delivery = MessageDelivery.objects.get(message__ticket=ticket)
    assert delivery.status == Status.FAILED
    assert "No delivery is configured for the sms channel" in delivery.last_error
    assert queued == []
    assert deliveries_requeue_stale(now=timezone.now() + STALE_DELIVERY_AGE * 2) == 0


def test_recording_and_sending_an_acknowledgement_costs_a_fixed_number_of_statements(
    ticket, queued, django_assert_num_queries
):
    # Recorded (in a savepoint here): the ticket locked, the request removed, the check for an earlier
    # acknowledgement, the SLA due time, the thread's Message-IDs, then the message, its outbox row and
    # the acknowledgement record in one statement. Sent (in a second savepoint): the outbox row locked,
    # the customer's address, the outbox row marked sent.
    with django_assert_num_queries(13) as captured:
        message = ticket_acknowledge(ticket_id=ticket.pk)

    inserts = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("WITH")]
    assert len(inserts) == 1
    assert AutoAcknowledgement.objects.get(ticket=ticket).message == message
    assert MessageDelivery.objects.get(message=message).status == Status.SENT
