"""An acknowledgement owed to a new ticket is never lost: not to a dead process, not to an unreachable broker."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError

from tickets import tasks
from tickets.choices import Channel
from tickets.models import AcknowledgementRequest, AutoAcknowledgement
from tickets.services.acknowledgement import (
    REQUEST_GIVE_UP_AGE,
    SENDER_QUEUED_MARK,
    STALE_REQUEST_AGE,
    acknowledgement_requests_requeue_stale,
    acknowledgements_send_owed,
)
from tickets.services.ingest import InboundMessage, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Each sender task queued, instead of on the broker."""
    senders: list[str] = []
    monkeypatch.setattr(tasks.send_owed_acknowledgements_task, "delay", lambda **task: senders.append("sender"))
    return senders


def _email(number: int = 1, **overrides) -> InboundMessage:
    values = {
        "channel": Channel.EMAIL,
        "sender_kind": "email",
        "sender_address": f"customer{number}@example.test",
        "subject": "Where is my order?",
        "body_text": "I ordered a week ago.",
        "external_message_id": f"<{number}@mail.example.test>",
    }
    return InboundMessage(**(values | overrides))


def _age(ticket_id: int, by: timedelta) -> None:
    AcknowledgementRequest.objects.filter(ticket_id=ticket_id).update(
        created_at=timezone.now() - by, updated_at=timezone.now() - by
    )


def test_a_new_ticket_is_owed_its_acknowledgement_until_the_sender_sends_it(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ingest(inbound=_email()).ticket

    owed_after_ingest = list(AcknowledgementRequest.objects.values_list("ticket_id", flat=True))
    handled = acknowledgements_send_owed()

    assert queued == ["sender"]
    assert owed_after_ingest == [ticket.pk]
    assert handled == 1
    assert not AcknowledgementRequest.objects.exists()
    assert AutoAcknowledgement.objects.filter(ticket=ticket).count() == 1
    assert [sent.to for sent in mail.outbox] == [["customer1@example.test"]]


def test_a_burst_of_new_tickets_queues_one_sender_until_it_starts(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        burst = [ingest(inbound=_email(number)).ticket for number in range(1, 4)]
    queued_for_the_burst = list(queued)

    acknowledgements_send_owed()  # the one sender runs: everything owed goes out
    with django_capture_on_commit_callbacks(execute=True):
        later = ingest(inbound=_email(4)).ticket  # owed after the sender started: a new one is queued

    assert queued_for_the_burst == ["sender"]
    assert queued == ["sender", "sender"]
    assert AutoAcknowledgement.objects.filter(ticket__in=burst).count() == 3
    assert list(AcknowledgementRequest.objects.values_list("ticket_id", flat=True)) == [later.pk]


def test_an_unreachable_cache_queues_a_sender_each_time(queued, monkeypatch, django_capture_on_commit_callbacks):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from tickets.services import acknowledgement

    def unreachable(*_args, **_kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(acknowledgement.cache, "add", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(1))
        ingest(inbound=_email(2))

    assert queued == ["sender", "sender"]


def test_automated_mail_owes_nothing(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(is_automated=True))

    assert queued == []
    assert not AcknowledgementRequest.objects.exists()


def test_an_unreachable_broker_after_commit_loses_neither_the_message_nor_the_acknowledgement(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**task):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_owed_acknowledgements_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(inbound=_email())  # does not raise: the ticket is committed whatever the broker says

    assert result.is_new_ticket is True
    assert list(AcknowledgementRequest.objects.values_list("ticket_id", flat=True)) == [result.ticket.pk]
    assert cache.get(SENDER_QUEUED_MARK) is None  # no sender was queued: the next ticket tries again


def test_an_acknowledgement_whose_task_was_never_queued_is_queued_by_the_sweep_and_sent_once(queued):
    # The process died between the commit and queueing the task: the on-commit callback never ran.
    ticket = ingest(inbound=_email()).ticket
    fresh = ingest(inbound=_email(2)).ticket
    _age(ticket.pk, STALE_REQUEST_AGE + timedelta(seconds=1))

    first_sweep = acknowledgement_requests_requeue_stale()
    second_sweep = acknowledgement_requests_requeue_stale()  # touched: left to the sender just queued
    acknowledgements_send_owed()  # the sender the sweep queued
    acknowledgements_send_owed()  # and a second one turning up late after all

    assert (first_sweep, second_sweep) == (1, 0)
    assert queued == ["sender"]
    assert sorted(sent.to[0] for sent in mail.outbox) == ["customer1@example.test", "customer2@example.test"]
    assert AutoAcknowledgement.objects.filter(ticket__in=[ticket, fresh]).count() == 2
    assert not AcknowledgementRequest.objects.exists()


def test_a_request_owed_for_more_than_a_day_is_given_up(queued):
    ticket = ingest(inbound=_email()).ticket
    _age(ticket.pk, REQUEST_GIVE_UP_AGE + timedelta(minutes=1))

    assert acknowledgement_requests_requeue_stale() == 0
    assert queued == []
    assert not AcknowledgementRequest.objects.exists()


def test_beat_sweeps_owed_acknowledgements_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["acknowledgement-requests-requeue-stale"]

    assert entry["task"] == "tickets.tasks.acknowledgement_requests_requeue_stale_task"
    assert entry["schedule"].minute == set(range(60))


def test_a_queued_sender_that_was_lost_holds_up_the_next_only_until_its_mark_expires(
    queued, monkeypatch, django_capture_on_commit_callbacks
):
    import time

    from tickets.services import acknowledgement

    monkeypatch.setattr(acknowledgement, "SENDER_MARK_SECONDS", 1)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(1))  # queues a sender, which the broker then loses
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(2))
    while_marked = list(queued)
    time.sleep(1.2)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(3))

    assert while_marked == []  # the mark still says one is queued
    assert queued == ["sender"]  # expired: the next new ticket queues another, which sends all three
    assert acknowledgements_send_owed() == 3


def test_a_process_that_just_queued_the_sender_does_not_ask_again_for_the_quiet_time(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    from tickets.services import acknowledgement

    settings.ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = 30.0
    queued, asked = [], []
    monkeypatch.setattr(tasks.send_owed_acknowledgements_task, "delay", lambda **task: queued.append(task))
    add = cache.add
    monkeypatch.setattr(
        acknowledgement.cache, "add", lambda *args, **kwargs: asked.append(args[0]) or add(*args, **kwargs)
    )

    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(1))
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(2))

    assert queued == [{"grace_seconds": 120.0}]  # the sender is told to look again four quiet times later
    assert asked == [SENDER_QUEUED_MARK]  # the second ticket asked nobody
    assert AcknowledgementRequest.objects.count() == 2  # both owed: the queued sender takes both

    acknowledgement._quiet.since -= 31  # the quiet time is over: the next ticket asks again
    cache.delete(SENDER_QUEUED_MARK)  # (the sender started meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(3))
    assert (len(queued), asked) == (2, [SENDER_QUEUED_MARK, SENDER_QUEUED_MARK])


def test_a_sender_found_queued_by_another_process_does_not_make_this_one_quiet(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = 30.0
    cache.add(SENDER_QUEUED_MARK, 1, timeout=30)  # someone else's: its task may yet fail to queue

    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(1))
    cache.delete(SENDER_QUEUED_MARK)  # it did fail, and the mark was taken back
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(2))

    assert queued == ["sender"]  # the second ticket asked again and queued one


def test_a_sender_looks_once_more_after_running_out_and_takes_a_ticket_committed_meanwhile(
    queued, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from tickets.services import acknowledgement

    settings.ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = 0.05
    with django_capture_on_commit_callbacks(execute=True):
        ingest(inbound=_email(1))  # queues the sender: this process is quiet now
    waited = []

    def a_ticket_arrives_while_it_waits(seconds):
        waited.append(seconds)
        if len(waited) == 1:
            with django_capture_on_commit_callbacks(execute=True):
                ingest(inbound=_email(2))  # within the quiet time: nobody is asked

    monkeypatch.setattr(acknowledgement, "_wait", a_ticket_arrives_while_it_waits)

    handled = acknowledgements_send_owed(grace_seconds=0.2)

    assert queued == ["sender"]  # only the first ticket queued a sender
    assert handled == 2
    assert waited == [0.2, 0.2]  # four quiet times, after each time it ran out
    assert sorted(sent.to[0] for sent in mail.outbox) == ["customer1@example.test", "customer2@example.test"]
    assert not AcknowledgementRequest.objects.exists()


def test_a_sender_looks_again_as_long_as_the_process_that_queued_it_asked(settings, monkeypatch):
    from tickets.services import acknowledgement

    settings.ACKNOWLEDGEMENT_WAKE_QUIET_SECONDS = 0.0  # this worker's own setting
    waited = []
    monkeypatch.setattr(acknowledgement, "_wait", waited.append)

    acknowledgements_send_owed(grace_seconds=0.4)

    assert waited == [0.4]
