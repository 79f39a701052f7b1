"""Outbound webhooks: recorded with the change, sent after commit, signed, retried, delivered once."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from tests.support.webhook_receiver import running_webhook_receiver
from tests.tickets.factories import TicketFactory
from tickets import webhook_addresses
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models import Ticket, WebhookDelivery, WebhookEndpoint
from tickets.services import webhooks
from tickets.services.conversation import ticket_add_note
from tickets.services.ingest import InboundMessage, ingest
from tickets.services.lifecycle import ticket_change_status, ticket_set_priority
from tickets.services.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_MAX_SECONDS,
    webhook_deliver,
    webhook_retry_countdown,
)
from tickets.tasks import deliver_webhook_task
from tickets.webhook_addresses import webhook_url_refusal

SECRET = "whsec_test_0123456789"
Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    with running_webhook_receiver() as running:
        yield running


@pytest.fixture
def enqueued(monkeypatch):
    """The delivery ids handed to Celery (after commit), instead of the broker."""
    ids: list[int] = []
    monkeypatch.setattr(deliver_webhook_task, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


def _endpoint(url: str = "http://127.0.0.1:9/unused", events=tuple(Event.values), **kwargs) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, secret=SECRET, events=list(events), **kwargs)


def _email(**overrides) -> InboundMessage:
    values = {
        "channel": Channel.EMAIL,
        "sender_kind": "email",
        "sender_address": "maya@example.test",
        "sender_name": "Maya Lopez",
        "subject": "Where is my order?",
        "body_text": "It has been a week.",
        "external_message_id": f"<{uuid.uuid4().hex}@mail.example.test>",
    }
    values.update(overrides)
    return InboundMessage(**values)


class RolledBackError(Exception):
    pass


def _ingest_then_fail(inbound: InboundMessage) -> None:
    with transaction.atomic():
        ingest(inbound=inbound)
        raise RolledBackError


def _pending_delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    ticket = TicketFactory()
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type=Event.TICKET_UPDATED,
        payload={"type": "ticket.updated", "data": {"ticket": {"id": ticket.pk, "number": ticket.number}}},
    )


# --- Recording events --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_ticket_records_one_delivery_per_subscribed_endpoint_and_enqueues_after_commit(
    django_capture_on_commit_callbacks, enqueued
):
    subscribed = _endpoint(events=[Event.TICKET_CREATED])
    _endpoint(events=[Event.TICKET_SOLVED])
    _endpoint(events=[Event.TICKET_CREATED], is_active=False)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest(inbound=_email())
        delivery = WebhookDelivery.objects.get()
        assert enqueued == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        if getattr(callback, "__qualname__", "").startswith("webhook_events_record"):
            callback()

    assert (delivery.endpoint, delivery.event_type, delivery.status) == (subscribed, "ticket.created", Status.PENDING)
    assert enqueued == [delivery.pk]
    ticket = delivery.payload["data"]["ticket"]
    assert delivery.payload["id"] == str(delivery.event_id)
    assert delivery.payload["type"] == "ticket.created"
    assert (ticket["id"], ticket["number"], ticket["status"]) == (result.ticket.pk, result.ticket.number, "new")
    assert ticket["customer"]["email"] == "maya@example.test"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_records_and_sends_nothing(enqueued):
    _endpoint()

    with pytest.raises(RolledBackError):
        _ingest_then_fail(_email())

    assert WebhookDelivery.objects.count() == 0
    assert enqueued == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_enqueues_its_delivery(enqueued):
    _endpoint(events=[Event.TICKET_UPDATED])
    ticket = TicketFactory()

    ticket_set_priority(ticket_id=ticket.pk, priority=Priority.URGENT, actor=None)

    delivery = WebhookDelivery.objects.get()
    assert enqueued == [delivery.pk]
    assert delivery.payload["data"]["ticket"]["priority"] == "urgent"


@pytest.mark.django_db
def test_solving_records_updated_and_solved_once_per_solve(agent):
    _endpoint(events=[Event.TICKET_UPDATED, Event.TICKET_SOLVED])
    ticket = TicketFactory(status=TicketStatus.OPEN)

    ticket_change_status(ticket_id=ticket.pk, status=TicketStatus.SOLVED, actor=agent)
    ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="Customer happy")  # still solved
    ticket_change_status(ticket_id=ticket.pk, status=TicketStatus.OPEN, actor=agent)
    ticket_change_status(ticket_id=ticket.pk, status=TicketStatus.SOLVED, actor=agent)

    types = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert types == [
        "ticket.updated",
        "ticket.solved",
        "ticket.updated",  # the note
        "ticket.updated",  # reopened
        "ticket.updated",
        "ticket.solved",  # the second solve
    ]
    assert len(set(WebhookDelivery.objects.values_list("event_id", flat=True))) == 6


@pytest.mark.django_db
def test_one_event_reaches_each_endpoint_under_one_event_id():
    first, second = _endpoint(), _endpoint(url="http://127.0.0.1:9/other")
    ticket = TicketFactory()

    ticket_set_priority(ticket_id=ticket.pk, priority=Priority.HIGH, actor=None)

    rows = list(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))
    assert sorted(endpoint for endpoint, _event in rows) == sorted([first.pk, second.pk])
    assert len({event for _endpoint_id, event in rows}) == 1


@pytest.mark.django_db
def test_without_endpoints_a_change_costs_one_query_more(django_assert_num_queries):
    ticket = TicketFactory()
    from tickets.events import TicketChange

    with django_assert_num_queries(1):
        webhooks.webhook_events_record(TicketChange(ticket_id=ticket.pk, number=ticket.number, change="updated"))


# --- Delivering ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_is_signed_with_the_endpoints_secret(receiver):
    _endpoint(url=receiver.url)
    result = ingest(inbound=_email())
    delivery = WebhookDelivery.objects.get()

    attempt = webhook_deliver(delivery_id=delivery.pk)

    assert attempt.is_sent is True
    [request] = receiver.requests
    headers = request.headers
    assert request.path == "/hooks/helpdesk"
    assert headers["content-type"] == "application/json"
    assert headers["x-helpdesk-event"] == "ticket.created"
    assert headers["x-helpdesk-delivery"] == str(delivery.event_id)
    assert abs(int(headers["x-helpdesk-timestamp"]) - time.time()) < 60
    signed = headers["x-helpdesk-timestamp"].encode() + b"." + request.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-helpdesk-signature"], expected)
    wrong = "sha256=" + hmac.new(b"another-secret", signed, hashlib.sha256).hexdigest()
    assert headers["x-helpdesk-signature"] != wrong
    assert json.loads(request.body)["data"]["ticket"]["number"] == result.ticket.number
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.DELIVERED, 1, 200)
    assert delivery.delivered_at is not None


@pytest.mark.django_db
def test_server_errors_are_retried_until_the_receiver_takes_it(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.fail_next(3, status=503)

    result = deliver_webhook_task.apply(args=[delivery.pk])  # eager: each retry runs at once

    assert result.get() == Status.DELIVERED
    assert [request.answered for request in receiver.requests] == [503, 503, 503, 200]
    assert {request.headers["x-helpdesk-delivery"] for request in receiver.requests} == {str(delivery.event_id)}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.DELIVERED, 4, "")


@pytest.mark.django_db
def test_a_receiver_that_keeps_failing_is_given_up_after_about_a_day_of_attempts(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.fail_next(100, status=500)

    result = deliver_webhook_task.apply(args=[delivery.pk])

    assert result.get() == Status.FAILED
    assert len(receiver.requests) == WEBHOOK_MAX_ATTEMPTS == 54
    waits = [webhook_retry_countdown(attempts=attempt) for attempt in range(1, WEBHOOK_MAX_ATTEMPTS)]
    assert 23 * 3600 < sum(waits) < 27 * 3600
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 54, 500)
    assert delivery.last_error == "HTTP 500: answered 500"


@pytest.mark.django_db
def test_too_many_requests_is_retried_after_the_receivers_retry_after(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.fail_next(1, status=429, headers={"Retry-After": "120"})

    first = webhook_deliver(delivery_id=delivery.pk)
    second = webhook_deliver(delivery_id=delivery.pk)

    assert first.status == Status.PENDING
    assert first.retry_in_seconds is not None
    assert first.retry_in_seconds >= 120
    assert second.is_sent is True


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 301])
@pytest.mark.django_db
def test_a_refusal_is_given_up_at_once(receiver, status):
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.always_answer(status)

    result = deliver_webhook_task.apply(args=[delivery.pk])

    assert result.get() == Status.FAILED
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 1, status)
    assert delivery.next_attempt_at is None


@pytest.mark.django_db
def test_a_timeout_is_retried(receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.stall_next(1, seconds=1.5)

    first = webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()

    assert first.status == Status.PENDING
    assert first.retry_in_seconds is not None
    assert delivery.last_error == "No answer within 0.3 s."
    assert delivery.next_attempt_at is not None
    assert webhook_deliver(delivery_id=delivery.pk).is_sent is True


@pytest.mark.django_db
def test_an_attempt_cut_off_by_the_tasks_time_limit_is_counted_and_retried(receiver, monkeypatch):
    import signal

    from celery.exceptions import SoftTimeLimitExceeded

    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.stall_next(1, seconds=3)

    def soft_limit(*_args):
        raise SoftTimeLimitExceeded()

    # As the worker does it: the soft time limit arrives as a signal while the request is under way.
    previous = signal.signal(signal.SIGALRM, soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        first = webhook_deliver(delivery_id=delivery.pk)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    delivery.refresh_from_db()

    assert first.status == Status.PENDING
    assert first.retry_in_seconds is not None
    assert (delivery.attempts, delivery.last_error) == (1, "No complete answer within the delivery's time limit.")
    assert webhook_deliver(delivery_id=delivery.pk).is_sent is True


@pytest.mark.django_db
def test_a_refused_connection_is_retried():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    delivery = _pending_delivery(_endpoint(url=f"http://127.0.0.1:{closed_port}/hooks"))

    attempt = webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert attempt.retry_in_seconds is not None
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.PENDING, 1, None)
    assert delivery.last_error.startswith("Could not connect")


def test_retries_back_off_exponentially_up_to_a_cap():
    countdowns = [webhook_retry_countdown(attempts=attempts) for attempts in range(1, 8)]

    for attempts, countdown in enumerate(countdowns, start=1):
        base = min(30 * 2 ** (attempts - 1), WEBHOOK_RETRY_MAX_SECONDS)
        assert base <= countdown <= min(base * 1.1, WEBHOOK_RETRY_MAX_SECONDS)
    assert countdowns[-1] == WEBHOOK_RETRY_MAX_SECONDS
    assert webhook_retry_countdown(attempts=1, retry_after=600) == 600


@pytest.mark.django_db
def test_running_the_task_again_never_delivers_twice(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))

    first = deliver_webhook_task.apply(args=[delivery.pk]).get()
    second = deliver_webhook_task.apply(args=[delivery.pk]).get()

    assert (first, second) == (Status.DELIVERED, Status.DELIVERED)
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_tasks_racing_for_one_delivery_send_it_once(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))
    receiver.stall_next(1, seconds=0.5)  # the first holds the row lock while the request is out
    outcomes: list[bool] = []

    def run() -> None:
        try:
            outcomes.append(webhook_deliver(delivery_id=delivery.pk).is_sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)

    assert sorted(outcomes) == [False, True]
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


@pytest.mark.django_db
def test_a_deactivated_endpoint_gets_nothing(receiver):
    endpoint = _endpoint(url=receiver.url)
    delivery = _pending_delivery(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    attempt = webhook_deliver(delivery_id=delivery.pk)

    assert (attempt.status, attempt.is_sent) == (Status.FAILED, False)
    assert receiver.requests == []


# --- The whole path, with a real Celery worker ---------------------------------------------------------


@pytest.mark.worker
def test_a_new_ticket_reaches_the_receiver_through_a_real_worker(receiver, celery_worker_process):
    _endpoint(url=receiver.url, events=[Event.TICKET_CREATED])

    # Automated mail gets no acknowledgement: the worker then has only the webhook to run, and is idle
    # (holding no locks) by the time the test database is flushed.
    result = ingest(inbound=_email(sender_address="worker-path@example.test", is_automated=True))

    [request] = receiver.wait_for(1, timeout=30)
    assert request.headers["x-helpdesk-event"] == "ticket.created"
    assert json.loads(request.body)["data"]["ticket"]["id"] == result.ticket.pk
    deadline = time.monotonic() + 10
    while WebhookDelivery.objects.get().status != Status.DELIVERED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert WebhookDelivery.objects.get().status == Status.DELIVERED
    assert Ticket.objects.get(pk=result.ticket.pk).number == result.ticket.number


# --- Where webhooks may go ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_webhook_to_a_private_address_is_refused_and_never_sent(receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    delivery = _pending_delivery(_endpoint(url=receiver.url))

    attempt = webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (attempt.is_sent, delivery.status, delivery.attempts) == (False, Status.FAILED, 1)
    assert "private or local address" in delivery.last_error
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_name_that_passed_the_check_but_connects_to_a_private_address_is_refused_before_sending(
    receiver, settings, monkeypatch
):
    """DNS rebinding: the name answered with a public address for the check, then reached a local one."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(webhook_addresses, "_resolve", lambda host, port: {"93.184.216.34"})
    url = receiver.url.replace("127.0.0.1", "localhost")
    delivery = _pending_delivery(_endpoint(url=url))

    attempt = webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (attempt.is_sent, delivery.status, delivery.attempts) == (False, Status.FAILED, 1)
    assert "private or local address" in delivery.last_error
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_webhook_session_still_reaches_local_receivers_where_private_addresses_are_allowed(receiver):
    response = webhook_addresses.webhook_session().post(receiver.url, data=b"{}", timeout=10)

    assert response.status_code == 200
    assert len(receiver.wait_for(1, timeout=10)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "ftp://93.184.216.34/hook",
    ],
)
def test_the_admin_refuses_webhook_urls_that_are_not_public_http(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    endpoint = WebhookEndpoint(url=url, secret=SECRET, events=[Event.TICKET_CREATED])

    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()

    assert "url" in refused.value.message_dict


def test_a_public_address_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    endpoint = WebhookEndpoint(url="https://93.184.216.34/hooks", secret=SECRET, events=[Event.TICKET_CREATED])

    endpoint.full_clean()  # raises if refused
    assert webhook_url_refusal(endpoint.url) == ""


# --- Nothing left pending -------------------------------------------------------------------------


@pytest.mark.django_db
def test_pending_deliveries_nothing_will_send_are_queued_again_once(enqueued):
    endpoint = _endpoint()
    never_queued, fresh, retry_waiting, retry_lost, delivered = (_pending_delivery(endpoint) for _ in range(5))
    long_ago = timezone.now() - webhooks.STALE_WEBHOOK_AGE - timedelta(minutes=1)
    WebhookDelivery.objects.filter(pk__in=[never_queued.pk, retry_waiting.pk, retry_lost.pk, delivered.pk]).update(
        updated_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=retry_waiting.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=20))
    WebhookDelivery.objects.filter(pk=retry_lost.pk).update(next_attempt_at=long_ago)
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status=Status.DELIVERED)

    first_sweep = webhooks.webhook_deliveries_requeue_stale()
    second_sweep = webhooks.webhook_deliveries_requeue_stale()  # touched: left to the tasks just queued

    assert (first_sweep, second_sweep) == (2, 0)
    assert sorted(enqueued) == sorted([never_queued.pk, retry_lost.pk])
    assert fresh.pk not in enqueued


@pytest.mark.django_db
def test_a_delivery_queued_twice_by_the_sweep_is_sent_once(receiver):
    delivery = _pending_delivery(_endpoint(url=receiver.url))

    first = webhook_deliver(delivery_id=delivery.pk)
    second = webhook_deliver(delivery_id=delivery.pk)  # the original task turning up after the sweep's

    assert (first.is_sent, second.is_sent) == (True, False)
    assert len(receiver.wait_for(1, timeout=10)) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


def test_beat_sweeps_stale_webhook_deliveries():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["webhook-deliveries-requeue-stale"]

    assert entry["task"] == "tickets.tasks.webhook_deliveries_requeue_stale_task"
