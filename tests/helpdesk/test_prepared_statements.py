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


@pytest.mark.django_db(transaction=True)
def test_a_statement_whose_result_changed_type_fails_once_and_its_session_is_retired():
    from django.db import NotSupportedError, close_old_connections

    connection.close()
    kept_for = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600  # as in production: sessions are kept between requests
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE prepared_probe (id integer PRIMARY KEY, label varchar(10))")
        cursor.execute("INSERT INTO prepared_probe VALUES (1, 'parcel')")
    probe = "SELECT label FROM prepared_probe WHERE id = %s"
    try:
        with connection.cursor() as cursor:
            execute_prepared(cursor, probe, [1])
            assert cursor.fetchone() == ("parcel",)
        close_old_connections()
        assert connection.connection is not None  # a healthy session is kept
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE prepared_probe ALTER COLUMN label TYPE varchar(20)")  # a migration

            with pytest.raises(NotSupportedError, match="cached plan must not change result type"):
                execute_prepared(cursor, probe, [1])
            execute_prepared(cursor, probe, [1])  # the retired session still answers, unprepared
            assert cursor.fetchone() == ("parcel",)
            assert statement_name(probe) in _session_statements()  # the stale one is left to the session

        close_old_connections()  # the end of the request: the retired session is closed
        assert connection.connection is None
        with connection.cursor() as cursor:
            execute_prepared(cursor, probe, [1])  # prepared again on a new session
            assert cursor.fetchone() == ("parcel",)
            assert statement_name(probe) in _session_statements()
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept_for
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE prepared_probe")


def test_a_retired_session_still_writes_a_new_customers_first_message_in_one_statement():
    from helpdesk.core import prepared_statements
    from tickets.services.ingest import InboundMessage, ingest

    with connection.cursor():
        held = prepared_statements._prepared_by_connection.get(connection.connection)
        prepared_statements._retire(connection)  # as after a migration changed a returned column
    try:
        result = ingest(
            inbound=InboundMessage(
                channel=Channel.EMAIL,
                sender_kind="email",
                sender_address="new@example.test",
                subject="Where is my order?",
                body_text="I ordered a week ago.",
                references=(),
            )
        )
    finally:
        # The test's session goes on serving the tests after this one, with what it had prepared.
        if held is None:
            prepared_statements._prepared_by_connection.pop(connection.connection, None)
        else:
            prepared_statements._prepared_by_connection[connection.connection] = held
        connection.close_at = None

    assert result.is_new_ticket is True
    assert Message.objects.get(ticket=result.ticket).references == []  # typed as the prepared statement types it
    assert not [name for name in _session_statements() if name.startswith("helpdesk_once_")]  # let go after use
