"""Outbound mail keeps one SMTP connection per worker, and opens a new one when the server dropped it."""

import socket

import pytest

from channels_app.providers import email as email_provider
from channels_app.providers.email import send_email_message
from tests.customers.factories import CustomerIdentityFactory
from tests.support.smtp_sink import SmtpSink
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.choices import MessageDirection

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(settings):
    server = SmtpSink()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = False
    yield server
    kept = getattr(email_provider._connections, "smtp", None)
    if kept is not None:
        kept[1].close()
        email_provider._connections.smtp = None
    server.stop()


def _reply(number: int):
    ticket = TicketFactory(subject=f"Parcel {number}")
    CustomerIdentityFactory(customer=ticket.customer, value=f"buyer{number}@customers.test")
    return MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND, body_text=f"Reply {number}")


def test_several_messages_share_one_connection(sink):
    for number in range(3):
        send_email_message(_reply(number))

    sink.wait_for(lambda m: "Parcel 2" in str(m["Subject"]), what="the third reply")
    assert len(sink.keeper.messages) == 3
    assert len(set(sink.keeper.peers)) == 1


def test_a_connection_the_server_dropped_is_replaced_before_sending(sink):
    send_email_message(_reply(1))
    # the server timed the idle session out
    email_provider._connections.smtp[1].connection.sock.shutdown(socket.SHUT_RDWR)

    send_email_message(_reply(2))

    sink.wait_for(lambda m: "Parcel 2" in str(m["Subject"]), what="the second reply")
    assert [str(m["Subject"]).split(" [")[0] for m in sink.keeper.messages] == ["Re: Parcel 1", "Re: Parcel 2"]
    assert len(set(sink.keeper.peers)) == 2
