import smtplib
import socket
from email.message import EmailMessage

import pytest

from channels_app.models import QuarantinedEmail
from channels_app.smtp_listener import smtp_controller
from tickets.models import Ticket


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(transactional_db):
    controller = smtp_controller(host="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def _port(controller):
    return controller.port


def test_mail_sent_to_the_listener_becomes_a_ticket(smtp_server):
    email = EmailMessage()
    email["From"] = "Jun Tanaka <jun@example.test>"
    email["To"] = "support@helpdesk.localhost"
    email["Subject"] = "Package arrived damaged"
    email["Message-ID"] = "<smtp-1@example.test>"
    email.set_content("The box was crushed.")

    with smtplib.SMTP("127.0.0.1", _port(smtp_server)) as client:
        refused = client.send_message(email)

    assert refused == {}
    ticket = Ticket.objects.get()
    assert ticket.subject == "Package arrived damaged"
    assert ticket.messages.get().body_text == "The box was crushed."


def test_a_message_without_a_sender_is_quarantined_whole(smtp_server):
    raw = b"Subject: no sender here\r\n\r\nbody\r\n"

    with smtplib.SMTP("127.0.0.1", _port(smtp_server)) as client:
        client.sendmail("bounce@example.test", ["support@helpdesk.localhost"], raw)

    quarantined = QuarantinedEmail.objects.get()
    assert bytes(quarantined.raw_message).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert "sender" in quarantined.reason
    assert Ticket.objects.count() == 0


@pytest.fixture
def small_smtp_server(transactional_db):
    controller = smtp_controller(host="127.0.0.1", port=_free_port(), max_message_bytes=1024)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def test_an_oversized_message_is_refused_at_the_door(small_smtp_server):
    email = EmailMessage()
    email["From"] = "big@example.test"
    email["To"] = "support@helpdesk.localhost"
    email["Subject"] = "Huge"
    email.set_content("x" * 5000)

    with (
        smtplib.SMTP("127.0.0.1", _port(small_smtp_server)) as client,
        pytest.raises(smtplib.SMTPResponseException) as error,
    ):
        client.send_message(email)

    assert error.value.smtp_code == 552
    assert Ticket.objects.count() == 0


@pytest.fixture
def smtp_desk(smtp_server, desk):
    return desk


def _send(controller, raw, *, mail_from):
    with smtplib.SMTP("127.0.0.1", _port(controller)) as client:
        client.ehlo()
        code, reply = client.docmd("MAIL", f"FROM:<{mail_from}>" if mail_from != "<>" else "FROM:<>")
        assert code == 250, reply
        code, reply = client.docmd("RCPT", "TO:<support@helpdesk.localhost>")
        assert code == 250, reply
        code, reply = client.data(raw)
        return code, reply.decode()


def test_corpus_emails_sent_over_smtp_land_where_they_belong(smtp_server, smtp_desk, acknowledgements):
    from tests.channels_app.conftest import corpus_email
    from tickets.choices import MessageDirection
    from tickets.models import Message

    gmail = _send(smtp_server, corpus_email("gmail_reply.eml"), mail_from="maria@example.test")
    russian = _send(smtp_server, corpus_email("russian_windows1251.eml"), mail_from="ivan@yandex.example")
    bounce = _send(smtp_server, corpus_email("bounce_known_message.eml"), mail_from="<>")
    no_from = _send(smtp_server, corpus_email("malformed_no_from.eml"), mail_from="someone@example.test")
    again = _send(smtp_server, corpus_email("gmail_reply.eml"), mail_from="maria@example.test")

    assert gmail == (250, "2.0.0 Message accepted as ticket #70001")
    russian_ticket = Ticket.objects.get(customer__identities__value="ivan@yandex.example")
    assert russian == (250, f"2.0.0 Message accepted as ticket #{russian_ticket.number}")
    assert russian_ticket.messages.get(direction=MessageDirection.INBOUND).body_text.startswith(
        "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432"
    )
    assert bounce == (250, "2.0.0 Message accepted as ticket #70008")
    assert Message.objects.get(ticket__number=70008, direction=MessageDirection.NOTE).body_text.startswith(
        "Delivery failed: gone@example.test"
    )
    assert no_from == (250, "2.0.0 Message accepted for review")
    assert QuarantinedEmail.objects.get().envelope_sender == "someone@example.test"
    assert again == (250, "2.0.0 Message accepted as ticket #70001")
    assert Message.objects.filter(ticket__number=70001, direction=MessageDirection.INBOUND).count() == 1
    assert acknowledgements == [russian_ticket.pk]


def test_a_null_sender_message_is_never_acknowledged(smtp_server, smtp_desk, acknowledgements):
    raw = (
        b"From: Warehouse robot <robot@warehouse.example>\r\nTo: support@helpdesk.localhost\r\n"
        b"Subject: Stock report\r\nMessage-ID: <stock-1@warehouse.example>\r\n\r\nAll shelves counted.\r\n"
    )

    code, _reply = _send(smtp_server, raw, mail_from="<>")

    assert code == 250
    assert Ticket.objects.filter(subject="Stock report").exists()
    assert acknowledgements == []


def test_a_message_the_database_refuses_is_accepted_for_review(smtp_server, unstorable):
    raw = (
        b"From: Jun Tanaka <jun@example.test>\r\nTo: support@helpdesk.localhost\r\n"
        b"Subject: unstorable\r\nMessage-ID: <smtp-unstorable@example.test>\r\n\r\nThe box was crushed.\r\n"
    )

    answer = _send(smtp_server, raw, mail_from="jun@example.test")

    assert answer == (250, "2.0.0 Message accepted for review")
    assert QuarantinedEmail.objects.get().reason.startswith("The message could not be stored (DataError: ")
    assert Ticket.objects.count() == 0


def test_a_message_with_nuls_becomes_a_ticket_over_smtp(smtp_server):
    raw = (
        b"From: Jun Tanaka <jun@example.test>\r\nTo: support@helpdesk.localhost\r\n"
        b"Subject: =?utf-8?q?Box=00_crushed?=\r\nMessage-ID: <smtp-nul@example.test>\r\n\r\n"
        b"The box\x00 was crushed.\r\n"
    )

    code, reply = _send(smtp_server, raw, mail_from="jun@example.test")

    ticket = Ticket.objects.get()
    assert (code, reply) == (250, f"2.0.0 Message accepted as ticket #{ticket.number}")
    assert ticket.subject == "Box crushed"
    assert ticket.messages.get().body_text == "The box was crushed."


def _note(number):
    email = EmailMessage()
    email["From"] = f"Customer {number} <customer{number}@example.test>"
    email["To"] = "support@helpdesk.localhost"
    email["Subject"] = f"Question {number}"
    email["Message-ID"] = f"<listener-connection-{number}@example.test>"
    email.set_content("Where is my parcel?")
    return email


@pytest.fixture
def kept_connections(transactional_db, monkeypatch):
    """The listener's threads keep their connections between messages, as deployed (tests close them)."""
    from django.db import connection, connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
    yield
    with connection.cursor() as cursor:  # the threads' kept connections must not outlive the test database
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )


@pytest.fixture
def health_checks(monkeypatch):
    """How often the listener's threads check their database connection before using it."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    checks = []
    real_is_usable = DatabaseWrapper.is_usable

    def counted(self):
        checks.append(1)
        return real_is_usable(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    return checks


def test_messages_in_quick_succession_are_taken_without_checking_the_connection_each_time(
    kept_connections, smtp_server, health_checks
):
    with smtplib.SMTP("127.0.0.1", _port(smtp_server)) as client:
        for number in range(3):
            assert client.send_message(_note(number)) == {}

    assert Ticket.objects.count() == 3
    assert health_checks == []  # each message's connection had just served the one before


def test_a_connection_idle_for_a_while_is_checked_before_the_next_message(
    kept_connections, smtp_server, health_checks, monkeypatch
):
    from channels_app import smtp_listener

    monkeypatch.setattr(smtp_listener, "CONNECTION_RECHECK_IDLE_SECONDS", 0.0)
    with smtplib.SMTP("127.0.0.1", _port(smtp_server)) as client:
        for number in range(3):
            assert client.send_message(_note(number)) == {}

    assert Ticket.objects.count() == 3
    assert len(health_checks) >= 1


def test_a_connection_the_database_dropped_between_two_messages_costs_the_sender_nothing(kept_connections, smtp_server):
    from django.db import connection

    with smtplib.SMTP("127.0.0.1", _port(smtp_server)) as client:
        assert client.send_message(_note(1)) == {}
        with connection.cursor() as cursor:  # the listener's kept connection goes away (a restart, a timeout)
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            assert cursor.fetchone()[0] >= 1
        assert client.send_message(_note(2)) == {}  # taken, not answered 451

    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 1", "Question 2"]
