import pytest
from django.db import transaction

from customers.models import Customer, CustomerIdentity
from tests.tickets.factories import TicketFactory
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.models import AutoAcknowledgement, Message, MessageDelivery, Ticket
from tickets.services import InboundMessage, ingest, message_deliver, ticket_send_auto_acknowledgement

pytestmark = pytest.mark.django_db


def _email(**overrides):
    values = {
        "channel": Channel.EMAIL,
        "sender_kind": "email",
        "sender_address": "Maria@Example.test",
        "sender_name": "Maria Lopez",
        "subject": "Where is my order?",
        "body_text": "I ordered a week ago.",
        "external_message_id": "<first@mail.example.test>",
    }
    values.update(overrides)
    return InboundMessage(**values)


def test_a_new_email_opens_a_ticket_for_a_new_customer():
    result = ingest(inbound=_email())

    assert result.is_new_ticket is True
    assert result.is_duplicate is False
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.NEW
    assert ticket.subject == "Where is my order?"
    assert ticket.customer.name == "Maria Lopez"
    assert CustomerIdentity.objects.get().value == "maria@example.test"
    assert list(ticket.messages.values_list("direction", flat=True)) == [MessageDirection.INBOUND]


def test_the_same_email_delivered_twice_is_recorded_once():
    first = ingest(inbound=_email())
    second = ingest(inbound=_email())

    assert second.is_duplicate is True
    assert second.message.pk == first.message.pk
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_reply_referencing_an_earlier_message_joins_its_ticket():
    first = ingest(inbound=_email())

    reply = ingest(
        inbound=_email(
            subject="Re: Where is my order?",
            body_text="Any news?",
            external_message_id="<second@mail.example.test>",
            references=("<first@mail.example.test>",),
        )
    )

    assert reply.is_new_ticket is False
    assert reply.ticket.pk == first.ticket.pk
    assert first.ticket.messages.count() == 2


def test_a_subject_token_threads_onto_the_customers_ticket_and_reopens_it():
    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.SOLVED)

    reply = ingest(
        inbound=_email(
            subject=f"Re: Where is my order? [#{first.ticket.number}]",
            external_message_id="<third@mail.example.test>",
        )
    )

    assert reply.ticket.pk == first.ticket.pk
    reply.ticket.refresh_from_db()
    assert reply.ticket.status == TicketStatus.OPEN


def test_a_subject_token_of_another_customers_ticket_opens_a_new_ticket():
    someone_else = TicketFactory()

    result = ingest(inbound=_email(subject=f"Re: hello [#{someone_else.number}]"))

    assert result.is_new_ticket is True
    assert result.ticket.pk != someone_else.pk


def test_an_email_to_a_closed_ticket_opens_a_follow_up_ticket():
    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.CLOSED)

    follow_up = ingest(
        inbound=_email(external_message_id="<late@mail.example.test>", references=("<first@mail.example.test>",))
    )

    assert follow_up.is_new_ticket is True
    assert Ticket.objects.count() == 2
    assert Customer.objects.count() == 1


def test_html_bodies_are_sanitised():
    result = ingest(inbound=_email(body_html='<p onclick="x()">Hi<script>alert(1)</script></p>'))

    assert result.message.body_html == "<p>Hi</p>"


def test_acknowledgement_is_created_once_and_delivered_once(mailoutbox, django_capture_on_commit_callbacks):
    result = ingest(inbound=_email())

    first = ticket_send_auto_acknowledgement(ticket_id=result.ticket.pk)
    second = ticket_send_auto_acknowledgement(ticket_id=result.ticket.pk)

    assert first is not None
    assert second is None
    assert AutoAcknowledgement.objects.count() == 1
    assert message_deliver(message_id=first.pk) is True
    assert message_deliver(message_id=first.pk) is False
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["maria@example.test"]
    assert f"#{result.ticket.number}" in sent.body
    assert sent.extra_headers["In-Reply-To"] == "<first@mail.example.test>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert sent.alternatives[0][1] == "text/html"
    assert MessageDelivery.objects.get(message=first).status == MessageDelivery.Status.SENT


def test_ingest_enqueues_the_acknowledgement_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(inbound=_email())

    assert len(callbacks) == 3  # inbox and ticket realtime events, and the acknowledgement task


def test_automated_mail_is_never_acknowledged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(inbound=_email(is_automated=True))

    assert len(callbacks) == 2  # only the inbox and ticket realtime events


def test_a_rolled_back_ingest_leaves_nothing_and_schedules_nothing(django_capture_on_commit_callbacks):
    def ingest_then_fail():
        with transaction.atomic():
            ingest(inbound=_email())
            raise RuntimeError("boom")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        ingest_then_fail()

    assert callbacks == []
    assert Ticket.objects.count() == 0
