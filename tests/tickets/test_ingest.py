import importlib

import pytest
from django.db import transaction

from customers.models import Customer, CustomerIdentity
from helpdesk.core.prepared_statements import executed_sql
from tests.tickets.factories import TicketFactory
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.models import AcknowledgementRequest, AutoAcknowledgement, Message, MessageDelivery, Ticket
from tickets.services import InboundMessage, acknowledgements_send_owed, ingest, message_deliver

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


def _threading_finds_a_copy_read_before(monkeypatch, ticket):
    """Threading read the ticket unlocked; whatever happens to it afterwards, ingest holds that old copy."""
    ingest_module = importlib.import_module("tickets.services.ingest")  # the package re-exports ingest()

    stale = Ticket.objects.get(pk=ticket.pk)
    monkeypatch.setattr(ingest_module, "_thread_target", lambda *_args, **_kwargs: stale)


def test_a_reply_to_a_ticket_that_closed_after_threading_read_it_opens_a_follow_up(monkeypatch):
    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.SOLVED)
    _threading_finds_a_copy_read_before(monkeypatch, first.ticket)
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.CLOSED)  # auto-close got there first

    reply = ingest(
        inbound=_email(external_message_id="<race@mail.example.test>", references=("<first@mail.example.test>",))
    )

    assert reply.is_new_ticket is True
    assert reply.ticket.pk != first.ticket.pk
    assert reply.message.ticket_id == reply.ticket.pk
    assert Ticket.objects.get(pk=first.ticket.pk).messages.count() == 1


def test_a_reply_to_a_ticket_merged_after_threading_read_it_joins_the_survivor(monkeypatch):
    first = ingest(inbound=_email())
    survivor = ingest(inbound=_email(subject="Another question", external_message_id="<other@mail.example.test>"))
    assert survivor.ticket.pk != first.ticket.pk
    _threading_finds_a_copy_read_before(monkeypatch, first.ticket)
    Ticket.objects.filter(pk=first.ticket.pk).update(merged_into=survivor.ticket, status=TicketStatus.CLOSED)

    reply = ingest(
        inbound=_email(external_message_id="<race2@mail.example.test>", references=("<first@mail.example.test>",))
    )

    assert reply.is_new_ticket is False
    assert reply.ticket.pk == survivor.ticket.pk
    assert reply.message.ticket_id == survivor.ticket.pk


def test_html_bodies_are_sanitised():
    result = ingest(inbound=_email(body_html='<p onclick="x()">Hi<script>alert(1)</script></p>'))

    assert result.message.body_html == "<p>Hi</p>"


def test_acknowledgement_is_created_once_and_delivered_once(mailoutbox, django_capture_on_commit_callbacks):
    result = ingest(inbound=_email())

    first = acknowledgements_send_owed()
    second = acknowledgements_send_owed()

    assert (first, second) == (1, 0)
    acknowledgement = AutoAcknowledgement.objects.get()
    assert message_deliver(message_id=acknowledgement.message_id) is False  # sent once already
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["maria@example.test"]
    assert f"#{result.ticket.number}" in sent.body
    assert sent.extra_headers["In-Reply-To"] == "<first@mail.example.test>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert sent.alternatives[0][1] == "text/html"
    assert MessageDelivery.objects.get(message_id=acknowledgement.message_id).status == MessageDelivery.Status.SENT


def test_ingest_enqueues_the_acknowledgement_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(inbound=_email())

    assert len(callbacks) == 2  # the inbox and ticket realtime events (one callback), and the acknowledgement task


def test_automated_mail_is_never_acknowledged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(inbound=_email(is_automated=True))

    assert len(callbacks) == 1  # only the inbox and ticket realtime events


def test_a_rolled_back_ingest_leaves_nothing_and_schedules_nothing(django_capture_on_commit_callbacks):
    def ingest_then_fail():
        with transaction.atomic():
            ingest(inbound=_email())
            raise RuntimeError("boom")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        ingest_then_fail()

    assert callbacks == []
    assert Ticket.objects.count() == 0


# --- Threading: Message-IDs, ticket numbers, orders -------------------------------------------


def test_a_reply_to_one_of_our_outbound_messages_joins_its_ticket():
    from tests.tickets.factories import MessageFactory

    ours = MessageFactory(direction=MessageDirection.OUTBOUND, external_message_id="<ours.t1@helpdesk.localhost>")

    reply = ingest(inbound=_email(sender_address="someone.else@example.test", references=(ours.external_message_id,)))

    assert reply.ticket.pk == ours.ticket_id  # Message-IDs are unguessable: any sender may continue the thread


def test_the_reply_to_address_threads_only_for_the_tickets_own_customer():
    first = ingest(inbound=_email())

    own = ingest(inbound=_email(external_message_id="<own@x>", ticket_number_hint=first.ticket.number, subject="Hi"))
    other = ingest(
        inbound=_email(
            sender_address="stranger@example.test", external_message_id="<stranger@x>",
            ticket_number_hint=first.ticket.number,
        )
    )  # fmt: skip

    assert own.ticket.pk == first.ticket.pk
    assert other.is_new_ticket is True


def test_a_subject_token_is_tried_when_the_address_names_another_customers_ticket():
    first = ingest(inbound=_email())
    someone_else = TicketFactory()

    reply = ingest(
        inbound=_email(
            external_message_id="<both@x>",
            ticket_number_hint=someone_else.number,
            subject=f"Re: Where is my order? [#{first.ticket.number}]",
        )
    )

    assert reply.ticket.pk == first.ticket.pk


@pytest.mark.parametrize("mention", ["Any news on #10234?", "Any news on order 10234?", "Mi pedido 10234 no llegó"])
def test_a_new_email_naming_an_order_joins_the_unresolved_ticket_about_it(mention):
    from tests.orders.factories import OrderFactory

    first = ingest(inbound=_email())
    order = OrderFactory(number="#10234", customer=first.ticket.customer)
    Ticket.objects.filter(pk=first.ticket.pk).update(order=order)

    later = ingest(inbound=_email(subject="Parcel", body_text=mention, external_message_id="<later@x>"))

    assert later.ticket.pk == first.ticket.pk


def test_a_new_ticket_naming_one_of_the_customers_orders_is_linked_to_it():
    from tests.orders.factories import OrderFactory

    first = ingest(inbound=_email())
    order = OrderFactory(number="10234", customer=first.ticket.customer)
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.SOLVED, order=order)

    later = ingest(inbound=_email(subject="Order #10234 again", body_text="Broken.", external_message_id="<l@x>"))

    assert later.is_new_ticket is True  # the ticket about it is solved: a new one, linked to the order
    assert later.ticket.order == order


def test_another_customers_order_number_links_nothing():
    from tests.orders.factories import OrderFactory

    OrderFactory(number="#10234")

    result = ingest(inbound=_email(body_text="About order 10234."))

    assert result.ticket.order is None


def test_an_auto_reply_joins_but_does_not_reopen_a_solved_ticket():
    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.SOLVED)

    auto = ingest(
        inbound=_email(external_message_id="<oof@x>", references=("<first@mail.example.test>",), is_automated=True)
    )

    assert auto.ticket.pk == first.ticket.pk
    auto.ticket.refresh_from_db()
    assert auto.ticket.status == TicketStatus.SOLVED


def test_the_quoted_history_is_kept_beside_the_shown_text():
    result = ingest(inbound=_email(body_text="Any news?", quoted_text="On Monday, Support wrote:\n> Soon."))

    assert (result.message.body_text, result.message.quoted_text) == ("Any news?", "On Monday, Support wrote:\n> Soon.")


def test_a_customer_reply_reopens_a_pending_ticket_through_the_status_table():
    from tickets.models import TicketActivity

    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.PENDING)

    ingest(inbound=_email(external_message_id="<again@mail.example.test>", references=("<first@mail.example.test>",)))

    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert ticket.status == TicketStatus.OPEN
    activity = TicketActivity.objects.get(ticket=ticket, kind="status")
    assert (activity.details, activity.actor) == ({"before": "pending", "after": "open"}, None)


def test_an_automatic_reply_neither_reopens_nor_restarts_the_response_clock():
    from tickets.models import SlaPolicy, SlaTarget

    SlaPolicy.objects.create(name="Default", first_response_minutes=60, next_response_minutes=60)
    first = ingest(inbound=_email())
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.SOLVED)

    ingest(
        inbound=_email(
            external_message_id="<ooo@mail.example.test>",
            references=("<first@mail.example.test>",),
            is_automated=True,
        )
    )

    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert ticket.status == TicketStatus.SOLVED
    assert not SlaTarget.objects.filter(ticket=ticket, kind="next_response").exists()


def test_redis_unreachable_after_commit_costs_the_live_event_not_the_message(
    monkeypatch, django_capture_on_commit_callbacks
):
    import redis

    from channels_app import realtime

    down = {"redis": True}
    store = realtime._store

    def redis_down(events):
        if down["redis"]:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return store(events)

    monkeypatch.setattr(realtime, "_store", redis_down)
    monkeypatch.setattr("tickets.tasks.send_owed_acknowledgements_task.delay", lambda **task: None)
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(inbound=_email())  # does not raise: the sender is not asked to send it again
    assert realtime.flush_broadcasts()

    assert result.is_new_ticket is True
    assert Ticket.objects.filter(pk=result.ticket.pk).exists()
    # The broadcasting thread carries on: once Redis is back, the next change is numbered and kept.
    group = realtime.ticket_group(result.ticket.pk)
    before = realtime.latest_sequence(group=group)
    down["redis"] = False
    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            inbound=_email(external_message_id="<later@mail.example.test>", references=("<first@mail.example.test>",))
        )
    assert realtime.flush_broadcasts()
    assert [event["type"] for event in realtime.events_since(group=group, sequence=before)] == ["ticket.updated"]


def test_a_new_customers_first_email_is_recorded_in_one_statement(django_assert_num_queries):
    # The sender looked up and, since nobody owns the address, the customer with their identity, the
    # ticket, its message and the acknowledgement it is owed (the desk here has no rules that would
    # change the new ticket; the first message read them, and they stay cached until one changes).
    ingest(inbound=_email(sender_address="first@example.test", external_message_id=None))
    with django_assert_num_queries(3, exact=True) as captured:  # inside the test's transaction: a savepoint
        result = ingest(inbound=_email(external_message_id=None))

    assert result.is_new_ticket is True
    assert AcknowledgementRequest.objects.filter(ticket=result.ticket).count() == 1  # owed, and queued on commit
    assert Ticket.objects.get(pk=result.ticket.pk).messages.get() == result.message
    assert result.ticket.customer.identities.get().value == "maria@example.test"
    assert Ticket.objects.get(pk=result.ticket.pk).customer_id == result.ticket.customer_id
    assert [executed_sql(query["sql"]).split()[0] for query in captured.captured_queries] == [
        "SAVEPOINT",
        "WITH",
        "RELEASE",
    ]


def test_a_known_customers_new_email_looks_them_up_then_opens_the_ticket(django_assert_num_queries):
    ingest(inbound=_email(external_message_id=None))
    with django_assert_num_queries(4, exact=True):  # savepoint; the lookup; the ticket with its message; release
        result = ingest(inbound=_email(external_message_id=None, subject="Another question"))

    assert result.is_new_ticket is True
    assert Customer.objects.count() == 1
    assert Ticket.objects.filter(customer=result.ticket.customer).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_first_emails_from_a_new_address_at_once_open_two_tickets_for_one_customer():
    """The second waits on the first's claim on the address, writes no ticket for a customer of its own,
    and opens its ticket for the first's customer."""
    import threading

    from django.db import connections

    from tests.support.database import wait_for_a_blocked_query

    first_inside, release_first, results = threading.Event(), threading.Event(), {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = ingest(inbound=_email(external_message_id="<one@mail.example.test>"))
                first_inside.set()
                release_first.wait(10)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            results["second"] = ingest(inbound=_email(external_message_id="<two@mail.example.test>"))
        finally:
            connections.close_all()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert first_inside.wait(10)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    assert wait_for_a_blocked_query()  # the second claim waits on the first transaction's identity row
    release_first.set()
    first_thread.join(10)
    second_thread.join(10)

    first_result, second_result = results["first"], results["second"]
    assert (first_result.is_new_ticket, second_result.is_new_ticket) == (True, True)
    customer = Customer.objects.get()
    assert CustomerIdentity.objects.get().customer_id == customer.pk
    assert sorted(Ticket.objects.values_list("customer_id", flat=True)) == [customer.pk, customer.pk]
    assert Message.objects.count() == 2
    assert sorted(AcknowledgementRequest.objects.values_list("ticket_id", flat=True)) == sorted(
        [first_result.ticket.pk, second_result.ticket.pk]
    )
