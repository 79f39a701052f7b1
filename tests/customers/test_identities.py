"""Finding the customer behind an inbound message's address: found, created once, never twice."""

import threading

import pytest
from django.db import connections, transaction

from customers.choices import IdentityKind
from customers.identities import customer_find_or_create_by_identity, identity_normalise, identity_value_normalize
from customers.models import Customer, CustomerIdentity
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.support.database import wait_for_a_blocked_query


@pytest.mark.django_db
def test_a_new_address_creates_the_customer_with_its_primary_identity(django_assert_num_queries):
    with django_assert_num_queries(1):  # the lookup, and only because nobody owns it, the customer and its identity
        customer, created = customer_find_or_create_by_identity(
            kind=IdentityKind.EMAIL, value=" Ana.Lima@Example.TEST ", name=" Ana Lima ", language="pt-br"
        )

    identity = CustomerIdentity.objects.get(customer=customer)
    assert created is True
    assert (customer.name, customer.language) == ("Ana Lima", "pt-br")
    assert (identity.kind, identity.value, identity.is_primary) == (IdentityKind.EMAIL, "ana.lima@example.test", True)
    assert identity.created_at is not None


@pytest.mark.django_db
def test_a_known_address_finds_its_customer_with_one_query(django_assert_num_queries):
    owner = CustomerFactory(name="Ana Lima")
    CustomerIdentityFactory(customer=owner, kind=IdentityKind.EMAIL, value="ana.lima@example.test")

    with django_assert_num_queries(1):
        customer, created = customer_find_or_create_by_identity(kind=IdentityKind.EMAIL, value="ANA.LIMA@example.test")

    assert (customer, customer.name, created) == (owner, "Ana Lima", False)
    assert Customer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_messages_from_a_new_address_at_once_make_one_customer():
    """The second claim waits for the first transaction, then reads its customer and leaves nothing behind."""
    first_inside = threading.Event()
    release_first = threading.Event()
    results = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = customer_find_or_create_by_identity(
                    kind=IdentityKind.EMAIL, value="new@example.test"
                )
                first_inside.set()
                release_first.wait(10)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            results["second"] = customer_find_or_create_by_identity(kind=IdentityKind.EMAIL, value="new@example.test")
        finally:
            connections.close_all()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert first_inside.wait(10)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    assert wait_for_a_blocked_query()  # the second claim is waiting on the first transaction's row
    release_first.set()
    first_thread.join(10)
    second_thread.join(10)

    (first_customer, first_created), (second_customer, second_created) = results["first"], results["second"]
    assert (first_created, second_created) == (True, False)
    assert second_customer.pk == first_customer.pk
    assert list(Customer.objects.values_list("pk", flat=True)) == [first_customer.pk]
    assert CustomerIdentity.objects.filter(value="new@example.test").count() == 1


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (IdentityKind.PHONE, "0044 20 7946 0958"),
        (IdentityKind.WHATSAPP, "+55 (11) 91234-5678"),
        (IdentityKind.EMAIL, " Ana.Lima@Example.TEST "),
    ],
)
def test_an_inbound_sender_is_stored_the_way_the_store_sends_the_same_identity(kind, value):
    assert identity_normalise(kind=kind, value=value) == identity_value_normalize(kind=kind, value=value)


def test_an_inbound_phone_not_in_international_form_is_kept_by_its_digits_not_refused():
    assert identity_normalise(kind=IdentityKind.PHONE, value="555-0123") == "+5550123"
