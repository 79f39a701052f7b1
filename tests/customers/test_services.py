import pytest

from customers import merge
from customers.choices import IdentityKind
from customers.identities import InvalidIdentityError, identity_value_normalize
from customers.merge import merge_steps, register_merge_step
from customers.models import Customer, CustomerIdentity
from customers.services import CustomerMergeError, IdentityConflictError, customer_merge, customer_upsert
from orders.services import order_customer_reassign
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.orders.factories import OrderFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


# --- identities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "normalised"),
    [
        (IdentityKind.EMAIL, "  Ana.Lima@Example.TEST ", "ana.lima@example.test"),
        (IdentityKind.PHONE, "+1 (415) 555-0123", "+14155550123"),
        (IdentityKind.PHONE, "0044 20 7946 0958", "+442079460958"),
        (IdentityKind.WHATSAPP, "+55.11.91234.5678", "+5511912345678"),
        (IdentityKind.INSTAGRAM, " ana.lima ", "ana.lima"),
    ],
)
def test_identity_values_are_stored_one_way(kind, value, normalised):
    assert identity_value_normalize(kind=kind, value=value) == normalised


@pytest.mark.parametrize("value", ["4155550123", "+0123456789", "+1 415 CALL ME", "+123"])
def test_a_phone_not_in_international_form_is_refused(value):
    with pytest.raises(InvalidIdentityError):
        identity_value_normalize(kind=IdentityKind.PHONE, value=value)


def test_customer_upsert_creates_a_customer_with_primary_identities():
    customer, created = customer_upsert(
        store_customer_id="cus_1", name="Ana Lima", email="ANA@example.test", phone="+1 415 555 0123"
    )

    assert created is True
    assert customer.store_customer_id == "cus_1"
    assert list(customer.identities.values_list("kind", "value", "is_primary")) == [
        ("email", "ana@example.test", True),
        ("phone", "+14155550123", True),
    ]


def test_customer_upsert_of_an_unchanged_customer_only_reads(django_assert_num_queries):
    customer_upsert(store_customer_id="cus_1", name="Ana Lima", email="ana@example.test")

    # savepoint, lock the customer, identities with that value, the customer's identities, release.
    with django_assert_num_queries(5):
        _customer, created = customer_upsert(store_customer_id="cus_1", name="Ana Lima", email="ana@example.test")

    assert created is False


def test_customer_upsert_refuses_an_identity_another_store_customer_owns_and_writes_nothing():
    other = CustomerFactory(store_customer_id="cus_2")
    CustomerIdentityFactory(customer=other, kind=IdentityKind.PHONE, value="+14155550123")
    customer = CustomerFactory(store_customer_id="cus_1", name="Ana")

    with pytest.raises(IdentityConflictError) as refused:
        customer_upsert(store_customer_id="cus_1", name="Ana Lima", phone="+14155550123")

    assert refused.value.status_code == 409
    assert refused.value.extra == {"conflicting_customer_id": other.pk}
    customer.refresh_from_db()
    assert customer.name == "Ana"
    assert customer.identities.count() == 0


def test_customer_upsert_refuses_identities_of_two_different_customers():
    CustomerIdentityFactory(value="ana@example.test")
    CustomerIdentityFactory(kind=IdentityKind.PHONE, value="+14155550123")

    with pytest.raises(IdentityConflictError):
        customer_upsert(store_customer_id="cus_1", email="ana@example.test", phone="+14155550123")

    assert Customer.objects.filter(store_customer_id="cus_1").exists() is False


# --- merge --------------------------------------------------------------------------


def test_customer_merge_moves_identities_and_orders_and_folds_the_record():
    source = CustomerFactory(notes="Ordered by phone once.", is_vip=True)
    target = CustomerFactory(notes="Prefers email.", is_vip=False)
    source_email = CustomerIdentityFactory(customer=source, value="ana@work.test", is_primary=True)
    source_phone = CustomerIdentityFactory(
        customer=source, kind=IdentityKind.PHONE, value="+14155550123", is_primary=True
    )
    target_email = CustomerIdentityFactory(customer=target, value="ana@home.test", is_primary=True)
    orders = OrderFactory.create_batch(2, customer=source)
    target_order = OrderFactory(customer=target)

    merged = customer_merge(source=source, target=target)

    assert merged.pk == target.pk
    assert sorted(target.identities.values_list("value", "is_primary")) == [
        ("+14155550123", True),
        ("ana@home.test", True),
        ("ana@work.test", False),
    ]
    assert {source_email.pk, source_phone.pk, target_email.pk} == set(target.identities.values_list("pk", flat=True))
    assert sorted(target.orders.values_list("pk", flat=True)) == sorted([*(o.pk for o in orders), target_order.pk])
    assert source.identities.count() == 0
    assert source.orders.count() == 0
    target.refresh_from_db()
    source.refresh_from_db()
    assert target.notes == "Prefers email.\n\nOrdered by phone once."
    assert target.is_vip is True
    assert source.merged_into_id == target.pk
    assert target.merged_into_id is None


def test_customer_merge_keeps_notes_without_blank_joins():
    source = CustomerFactory(notes="")
    target = CustomerFactory(notes="Prefers email.")

    customer_merge(source=source, target=target)

    target.refresh_from_db()
    assert target.notes == "Prefers email."


def test_customer_merge_repoints_records_merged_into_the_source_earlier():
    earlier = CustomerFactory()
    source = CustomerFactory()
    target = CustomerFactory()
    customer_merge(source=earlier, target=source)

    customer_merge(source=source, target=target)

    earlier.refresh_from_db()
    assert earlier.merged_into_id == target.pk


def test_merging_a_customer_into_itself_is_refused_and_changes_nothing():
    customer = CustomerFactory(notes="Prefers email.")
    CustomerIdentityFactory(customer=customer)
    OrderFactory(customer=customer)

    with pytest.raises(CustomerMergeError, match=r"A customer cannot be merged into itself\."):
        customer_merge(source=customer, target=customer)

    customer.refresh_from_db()
    assert (customer.merged_into_id, customer.notes) == (None, "Prefers email.")
    assert (customer.identities.count(), customer.orders.count()) == (1, 1)


def test_merging_a_customer_that_was_already_merged_is_refused():
    target = CustomerFactory()
    source = CustomerFactory(merged_into=CustomerFactory())
    OrderFactory(customer=source)

    with pytest.raises(CustomerMergeError, match=r"was already merged into"):
        customer_merge(source=source, target=target)

    assert target.orders.count() == 0


def test_merging_into_a_customer_that_was_merged_away_is_refused():
    survivor = CustomerFactory()
    target = CustomerFactory(merged_into=survivor)
    source = CustomerFactory()

    with pytest.raises(CustomerMergeError, match=r"merge into that customer instead"):
        customer_merge(source=source, target=target)

    source.refresh_from_db()
    assert source.merged_into_id is None


def test_the_orders_app_registers_its_merge_step():
    assert order_customer_reassign in merge_steps()


def test_registered_merge_steps_run_inside_the_merge_once_each(monkeypatch):
    monkeypatch.setattr(merge, "_merge_steps", [])
    calls = []

    def record_step(*, source, target):
        calls.append((source.pk, target.pk, CustomerIdentity.objects.filter(customer=source).count()))

    register_merge_step(record_step)
    register_merge_step(record_step)
    source = CustomerFactory()
    CustomerIdentityFactory(customer=source)
    target = CustomerFactory()

    customer_merge(source=source, target=target)

    # Identities have moved before the registered steps run.
    assert calls == [(source.pk, target.pk, 0)]


def test_merging_customers_moves_their_tickets():
    source, target = CustomerFactory(), CustomerFactory()
    ticket = TicketFactory(customer=source)

    customer_merge(source=source, target=target)

    ticket.refresh_from_db()
    assert ticket.customer_id == target.pk
