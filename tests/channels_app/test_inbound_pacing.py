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

from channels_app.inbound_pacing import InboundPacing, TaskBacklog, inbound_pacing_from_settings
from channels_app.smtp_listener import smtp_controller
from helpdesk.celery import app
from tickets.models import Ticket


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def task_queue():
    """A Celery-style queue of this test's own on the test broker, so no worker or other test touches it."""
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(f"pacing-test-{uuid.uuid4().hex}")
        try:
            yield queue
        finally:
            queue.clear()
            queue.close()


def _fill(queue, count):
    for index in range(count):
        queue.put({"task": "tickets.tasks.send_auto_acknowledgement_task", "args": [index]})


def _drain(queue, count):
    for _index in range(count):
        queue.get(timeout=5).ack()


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
def paced_listener(transactional_db, task_queue):
    backlog = TaskBacklog(queue=task_queue.queue.name, reading_seconds=0)
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


def test_a_short_queue_takes_mail_at_once(paced_listener, task_queue):
    controller, backlog, _pacing = paced_listener
    _fill(task_queue, 3)  # at the limit, not over it

    with smtplib.SMTP("127.0.0.1", controller.port) as client:
        assert client.send_message(_email(1)) == {}

    assert Ticket.objects.count() == 1
    assert backlog.readings == 1


def test_a_long_queue_holds_the_next_message_until_the_workers_catch_up(paced_listener, task_queue):
    controller, backlog, _pacing = paced_listener
    _fill(task_queue, 5)

    thread, outcome = _send_in_background(controller.port, _email(2))
    _wait_until(lambda: backlog.readings >= 5)  # the listener is looking at the queue, again and again ...
    assert Ticket.objects.count() == 0  # ... and has not taken the message
    assert thread.is_alive()  # the sender is still waiting for its answer

    _drain(task_queue, 2)  # the workers catch up to the limit
    thread.join(timeout=30)

    assert outcome["refused"] == {}
    ticket = Ticket.objects.get()
    assert ticket.subject == "Where is order #1002?"


def test_mail_is_taken_after_the_longest_wait_even_if_the_queue_stays_long(transactional_db, task_queue, caplog):
    _fill(task_queue, 4)
    backlog = TaskBacklog(queue=task_queue.queue.name, reading_seconds=0)
    with (
        _listening(backlog, limit=1, max_delay=0.2) as (controller, _pacing),
        caplog.at_level(logging.WARNING, logger="channels_app.inbound_pacing"),
        smtplib.SMTP("127.0.0.1", controller.port) as client,
    ):
        assert client.send_message(_email(3)) == {}

    assert Ticket.objects.count() == 1
    assert backlog.readings > 2
    assert any("4 tasks still queued (limit 1)" in record.getMessage() for record in caplog.records)


def test_an_unreadable_broker_never_stops_mail(transactional_db, caplog):
    backlog = TaskBacklog(queue="celery", broker_url=f"redis://127.0.0.1:{_free_port()}/0")
    with (
        _listening(backlog, limit=1) as (controller, _pacing),
        caplog.at_level(logging.WARNING, logger="channels_app.inbound_pacing"),
        smtplib.SMTP("127.0.0.1", controller.port) as client,
    ):
        assert client.send_message(_email(4)) == {}
        assert client.send_message(_email(5)) == {}

    assert Ticket.objects.count() == 2
    assert backlog.readings == 1  # one failed reading, then no more tries for a while
    assert any("could not read the length of task queue" in record.getMessage() for record in caplog.records)


def test_the_listener_paces_on_the_acknowledgement_queue_by_default(settings):
    settings.SMTP_INBOUND_BACKLOG_LIMIT = 100
    settings.SMTP_INBOUND_MAX_DELAY_SECONDS = 30.0

    pacing = inbound_pacing_from_settings()
    try:
        assert pacing.is_enabled
        assert pacing.limit == 100
        assert pacing.max_delay == 30.0
        assert pacing.backlog.queue == app.conf.task_default_queue
    finally:
        pacing.close()


def test_a_limit_of_zero_never_reads_the_queue(settings):
    settings.SMTP_INBOUND_BACKLOG_LIMIT = 0

    pacing = inbound_pacing_from_settings()

    assert not pacing.is_enabled
    assert pacing.backlog is None


def test_a_broker_answering_nonsense_never_stops_mail(transactional_db, caplog):
    queue_name = f"pacing-test-{uuid.uuid4().hex}"
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.set(queue_name, "not a list")  # LLEN answers WRONGTYPE
        try:
            with (
                _listening(TaskBacklog(queue=queue_name), limit=1) as (controller, _pacing),
                caplog.at_level(logging.WARNING, logger="channels_app.inbound_pacing"),
                smtplib.SMTP("127.0.0.1", controller.port) as smtp,
            ):
                assert smtp.send_message(_email(6)) == {}
        finally:
            client.delete(queue_name)

    assert Ticket.objects.count() == 1
    assert any("ResponseError" in record.getMessage() for record in caplog.records)
