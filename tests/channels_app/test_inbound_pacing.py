"""The listener holds new mail while the workers are behind on acknowledgements, and never loses it."""

import contextlib
import logging
import smtplib
import socket
import threading
import time
import uuid
from email.message import EmailMessage

import pytest
from django.db import OperationalError

from channels_app.inbound_pacing import InboundPacing, OwedAcknowledgements, inbound_pacing_from_settings
from channels_app.smtp_listener import smtp_controller
from tests.tickets.factories import TicketFactory
from tickets.models import AcknowledgementRequest, Ticket


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _owe(count):
    """``count`` earlier tickets still waiting for their acknowledgement (committed: the listener reads them)."""
    return [AcknowledgementRequest.objects.create(ticket=TicketFactory(subject="Earlier")).pk for _ in range(count)]


def _acknowledge(request_ids):
    AcknowledgementRequest.objects.filter(pk__in=request_ids).delete()


def _new_tickets():
    return Ticket.objects.exclude(subject="Earlier")


@contextlib.contextmanager
def _listening(backlog, *, limit, max_delay=60):
    """A listener paced on ``backlog``, stopped (and its pacing closed) afterwards."""
    pacing = InboundPacing(backlog=backlog, limit=limit, max_delay=max_delay, poll_seconds=0.01)
    controller = smtp_controller(host="127.0.0.1", port=_free_port(), pacing=pacing)
    controller.start()
    try:
        yield controller, pacing
    finally:
        controller.stop()
        pacing.close()


@pytest.fixture
def paced_listener(transactional_db):
    backlog = OwedAcknowledgements(reading_seconds=0)
    with _listening(backlog, limit=3) as (controller, pacing):
        yield controller, backlog, pacing


def _email(number):
    email = EmailMessage()
    email["From"] = f"Customer {number} <customer{number}@example.test>"
    email["To"] = "support@helpdesk.localhost"
    email["Subject"] = f"Where is order #{1000 + number}?"
    email["Message-ID"] = f"<pacing-{number}-{uuid.uuid4().hex}@example.test>"
    email.set_content("It has not arrived yet.")
    return email


def _send_in_background(port, email):
    outcome = {}

    def send():
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            outcome["refused"] = client.send_message(email)

    thread = threading.Thread(target=send)
    thread.start()
    return thread, outcome


def _wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_short_backlog_takes_mail_at_once(paced_listener):
    controller, backlog, _pacing = paced_listener
    _owe(3)  # at the limit, not over it

    with smtplib.SMTP("127.0.0.1", controller.port) as client:
        assert client.send_message(_email(1)) == {}

    assert _new_tickets().count() == 1
    assert backlog.readings == 1


def test_a_long_backlog_holds_the_next_message_until_the_workers_catch_up(paced_listener):
    controller, backlog, _pacing = paced_listener
    owed = _owe(5)

    thread, outcome = _send_in_background(controller.port, _email(2))
    _wait_until(lambda: backlog.readings >= 5)  # the listener is looking at the backlog, again and again ...
    assert _new_tickets().count() == 0  # ... and has not taken the message
    assert thread.is_alive()  # the sender is still waiting for its answer

    _acknowledge(owed[:2])  # the workers catch up to the limit
    thread.join(timeout=30)

    assert outcome["refused"] == {}
    ticket = _new_tickets().get()
    assert ticket.subject == "Where is order #1002?"


def test_mail_is_taken_after_the_longest_wait_even_if_the_backlog_stays_long(transactional_db, caplog):
    _owe(4)
    backlog = OwedAcknowledgements(reading_seconds=0)
    with (
        _listening(backlog, limit=1, max_delay=0.2) as (controller, _pacing),
        caplog.at_level(logging.WARNING, logger="channels_app.inbound_pacing"),
        smtplib.SMTP("127.0.0.1", controller.port) as client,
    ):
        assert client.send_message(_email(3)) == {}

    assert _new_tickets().count() == 1
    assert backlog.readings > 2
    assert any("4 acknowledgements still owed (limit 1)" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
        OperationalError("canceling statement due to statement timeout"),
    ],
)
def test_an_unreadable_backlog_never_stops_mail(transactional_db, caplog, monkeypatch, failure):
    from tickets.services import acknowledgement

    def unreadable(*, at_most):
        raise failure

    monkeypatch.setattr(acknowledgement, "acknowledgements_owed", unreadable)
    backlog = OwedAcknowledgements()
    with (
        _listening(backlog, limit=1) as (controller, _pacing),
        caplog.at_level(logging.WARNING, logger="channels_app.inbound_pacing"),
        smtplib.SMTP("127.0.0.1", controller.port) as client,
    ):
        assert client.send_message(_email(4)) == {}
        assert client.send_message(_email(5)) == {}

    assert _new_tickets().count() == 2
    assert backlog.readings == 1  # one failed reading, then no more tries for a while
    assert any("could not count the acknowledgements owed" in record.getMessage() for record in caplog.records)


def test_the_listener_paces_on_the_owed_acknowledgements_by_default(settings):
    settings.SMTP_INBOUND_BACKLOG_LIMIT = 100
    settings.SMTP_INBOUND_MAX_DELAY_SECONDS = 30.0

    pacing = inbound_pacing_from_settings()
    try:
        assert pacing.is_enabled
        assert pacing.limit == 100
        assert pacing.max_delay == 30.0
        assert isinstance(pacing.backlog, OwedAcknowledgements)
    finally:
        pacing.close()


def test_a_limit_of_zero_never_reads_the_backlog(settings):
    settings.SMTP_INBOUND_BACKLOG_LIMIT = 0

    pacing = inbound_pacing_from_settings()

    assert not pacing.is_enabled
    assert pacing.backlog is None
