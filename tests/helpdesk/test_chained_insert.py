"""A row and the rows pointing to it, inserted in one statement, exactly as save() would have written them."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from helpdesk.core.chained_insert import ChildRow, UnlessFound, insert_with_children
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.models import AcknowledgementRequest, Message, Ticket

pytestmark = pytest.mark.django_db


def _ticket(customer: Customer) -> Ticket:
    return Ticket(subject="Parcel late", customer=customer, channel=Channel.EMAIL, status=TicketStatus.NEW)


def _message(ticket: Ticket) -> Message:
    return Message(ticket=ticket, channel=Channel.EMAIL, direction=MessageDirection.INBOUND, body_text="Where is it?")


def test_a_ticket_its_message_and_its_request_are_written_in_one_statement(django_assert_num_queries):
    customer = CustomerFactory()
    ticket = _ticket(customer)
    message = _message(ticket)
    request = AcknowledgementRequest(ticket=ticket)

    with django_assert_num_queries(1):
        insert_with_children(ticket, [ChildRow(message, "ticket"), ChildRow(request, "ticket")])

    stored = Ticket.objects.get()
    assert (ticket.pk, ticket.number, ticket._state.adding) == (stored.pk, stored.number, False)
    assert ticket.number >= 1000  # from the ticket-number sequence, the column's database default
    assert ticket.last_message_at == stored.last_message_at is not None  # another database default, read back
    assert ticket.created_at == stored.created_at is not None  # auto_now_add, stamped as save() would
    assert Message.objects.get().pk == message.pk
    assert Message.objects.get().ticket_id == ticket.pk
    assert AcknowledgementRequest.objects.get().ticket_id == ticket.pk
    with django_assert_num_queries(0):
        assert message.ticket is ticket  # the children keep the parent object, as after save()
        assert request.ticket is ticket


def test_overrides_replace_the_stamps():
    ticket = _ticket(CustomerFactory())
    message = _message(ticket)
    written_at = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)

    insert_with_children(ticket, [ChildRow(message, "ticket", overrides={"created_at": written_at})])

    assert Message.objects.get().created_at == written_at
    assert message.created_at == written_at
    assert Ticket.objects.get().created_at != written_at


def test_a_child_skipped_on_conflict_leaves_the_parent_written_and_says_so():
    CustomerIdentityFactory(kind=IdentityKind.EMAIL, value="taken@example.test")
    customer = Customer(name="Second claimant")
    claim = ChildRow(
        CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="taken@example.test"),
        "customer",
        ignore_conflicts=True,
    )

    insert_with_children(customer, [claim])

    assert claim.inserted is False
    assert claim.obj.pk is None
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert CustomerIdentity.objects.filter(value="taken@example.test").count() == 1


def test_a_child_that_fails_takes_the_parent_with_it():
    CustomerIdentityFactory(kind=IdentityKind.EMAIL, value="taken@example.test")
    customer = Customer(name="Second claimant")
    claim = ChildRow(
        CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="taken@example.test"), "customer"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_with_children(customer, [claim])

    assert list(Customer.objects.values_list("name", flat=True)) == [CustomerIdentity.objects.get().customer.name]


def test_a_parent_alone_is_one_insert(django_assert_num_queries):
    ticket = Ticket.objects.create(subject="Existing", customer=CustomerFactory(), channel=Channel.EMAIL)
    message = _message(ticket)

    with django_assert_num_queries(1):
        insert_with_children(message)

    assert Message.objects.get(pk=message.pk).body_text == "Where is it?"


def test_an_object_that_already_has_an_id_is_refused():
    existing = CustomerFactory()

    with pytest.raises(ValueError, match="new id from the database"):
        insert_with_children(existing)


_NAMED = "SELECT id, name FROM customers_customer WHERE name = %s"


def test_unless_found_inserts_nothing_and_returns_the_row_it_found(django_assert_num_queries):
    existing = CustomerFactory(name="Ana Lima")
    customer = Customer(name="Ana Lima")
    claim = ChildRow(CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="ana@example.test"), "customer")
    found = UnlessFound(_NAMED, ["Ana Lima"], width=2)

    with django_assert_num_queries(1):
        inserted = insert_with_children(customer, [claim], unless=found)

    assert inserted is False
    assert found.row == (existing.pk, "Ana Lima")
    assert (customer.pk, claim.obj.pk, claim.inserted) == (None, None, False)
    assert Customer.objects.count() == 1
    assert not CustomerIdentity.objects.exists()


def test_unless_found_inserts_the_rows_when_the_query_finds_none(django_assert_num_queries):
    CustomerFactory(name="Someone else")
    customer = Customer(name="Ana Lima", language="pt-br")
    claim = ChildRow(CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="ana@example.test"), "customer")
    found = UnlessFound(_NAMED, ["Ana Lima"], width=2)

    with django_assert_num_queries(1):
        inserted = insert_with_children(customer, [claim], unless=found)

    assert (inserted, found.row, claim.inserted) == (True, None, True)
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.language) == ("Ana Lima", "pt-br")
    assert CustomerIdentity.objects.get(pk=claim.obj.pk).customer_id == customer.pk


def test_rows_of_rows_are_written_in_the_same_statement_pointing_to_theirs(django_assert_num_queries):
    customer = Customer(name="Ana Lima")
    claim = ChildRow(CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="ana@example.test"), "customer")
    ticket = _ticket(customer)
    message = _message(ticket)
    opened = ChildRow(ticket, "customer", children=[ChildRow(message, "ticket")], only_after=claim)

    with django_assert_num_queries(1):
        insert_with_children(customer, [claim, opened])

    assert (claim.inserted, opened.inserted) == (True, True)
    stored = Message.objects.select_related("ticket__customer").get(pk=message.pk)
    assert stored.ticket.pk == ticket.pk
    assert stored.ticket.customer.pk == customer.pk
    assert ticket.number >= 1000  # the ticket-number sequence, though the row was written by INSERT ... SELECT


def test_a_row_after_a_skipped_claim_is_not_written_nor_are_its_own():
    CustomerIdentityFactory(kind=IdentityKind.EMAIL, value="taken@example.test")
    customer = Customer(name="Second claimant")
    claim = ChildRow(
        CustomerIdentity(customer=customer, kind=IdentityKind.EMAIL, value="taken@example.test"),
        "customer",
        ignore_conflicts=True,
    )
    ticket = _ticket(customer)
    message = _message(ticket)
    opened = ChildRow(ticket, "customer", children=[ChildRow(message, "ticket")], only_after=claim)

    insert_with_children(customer, [claim, opened])

    assert (claim.inserted, opened.inserted, opened.children[0].inserted) == (False, False, False)
    assert (ticket.pk, message.pk) == (None, None)
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
