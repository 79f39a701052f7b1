"""Hot statements run prepared: planned once per database session, then only executed."""

import pytest
from django.db import connection, transaction

from helpdesk.core import chained_insert
from helpdesk.core.prepared_statements import execute_prepared, executed_sql, statement_name
from tests.customers.factories import CustomerFactory
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

SQL = "SELECT %s::int + %s::int, '100%%'"


def _session_statements() -> set[str]:
    with connection.connection.cursor() as cursor:  # the driver's own cursor: not a counted query
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_a_statement_is_prepared_once_per_session_and_counted_once_per_run(django_assert_num_queries):
    with django_assert_num_queries(2) as captured, connection.cursor() as cursor:
        execute_prepared(cursor, SQL, [1, 2])
        assert cursor.fetchone() == (3, "100%")
        execute_prepared(cursor, SQL, [40, 2])
        assert cursor.fetchone() == (42, "100%")

    assert statement_name(SQL) in _session_statements()
    assert [executed_sql(query["sql"]) for query in captured.captured_queries] == [SQL, SQL]


@pytest.mark.django_db(transaction=True)
def test_a_rollback_keeps_the_statement_and_a_new_session_prepares_it_again():
    with transaction.atomic(), connection.cursor() as cursor:
        execute_prepared(cursor, SQL, [1, 1])
        transaction.set_rollback(True)
    assert statement_name(SQL) in _session_statements()

    connection.close()
    with connection.cursor() as cursor:  # a new session
        assert statement_name(SQL) not in _session_statements()
        execute_prepared(cursor, SQL, [2, 2])
        assert cursor.fetchone() == (4, "100%")


def test_rows_of_one_shape_are_compiled_once(monkeypatch):
    customer = CustomerFactory()
    compiled = []
    compile_row = chained_insert._compile
    monkeypatch.setattr(chained_insert, "_plans", {})
    monkeypatch.setattr(chained_insert, "_statements", {})
    monkeypatch.setattr(
        chained_insert, "_compile", lambda obj, *args: compiled.append(type(obj)) or compile_row(obj, *args)
    )

    for index in range(3):
        ticket = Ticket(subject=f"Parcel {index}", customer=customer, channel=Channel.EMAIL, status=TicketStatus.NEW)
        message = Message(ticket=ticket, channel=Channel.EMAIL, direction=MessageDirection.INBOUND, body_text="Hi")
        chained_insert.insert_with_children(ticket, [chained_insert.ChildRow(message, "ticket")])

    assert compiled == [Ticket, Message]  # the first row of each shape only
    assert list(Ticket.objects.order_by("pk").values_list("subject", flat=True)) == ["Parcel 0", "Parcel 1", "Parcel 2"]
    assert Message.objects.filter(ticket__customer=customer).count() == 3
    numbers = list(Ticket.objects.order_by("pk").values_list("number", flat=True))
    assert len(set(numbers)) == 3  # each from the sequence: the db_default is not frozen into the kept SQL
