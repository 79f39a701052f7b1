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
