"""The IMAP poller against a local IMAP4rev1 server: each message once, across restarts and renumbering."""

import socket

import pytest
from django.conf import settings
from django.db import DatabaseError

from channels_app import imap_poller
from channels_app.imap_poller import mailbox_poll
from channels_app.models import ImapMailbox, QuarantinedEmail
from channels_app.tasks import poll_imap_mailbox_task, poll_imap_mailboxes_task
from tests.channels_app.conftest import corpus_email
from tests.support.imap_stub import ImapStubServer
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse"  # with a space: imaplib must quote it and the stub unquote it


@pytest.fixture
def imap_server():
    server = ImapStubServer(users={"support@helpdesk.localhost": PASSWORD}, uid_validity=1700000001)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(imap_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return ImapMailbox.objects.create(
        name="Support inbox",
        host="127.0.0.1",
        port=imap_server.port,
        use_ssl=False,
        username="support@helpdesk.localhost",
        password=PASSWORD,
    )


def _customer_email(number: int) -> bytes:
    return (
        f"From: Customer {number} <customer{number}@example.test>\r\n"
        f"To: support@helpdesk.localhost\r\nSubject: Question {number}\r\n"
        f"Message-ID: <imap-{number}@example.test>\r\nDate: Thu, 6 Feb 2025 10:00:00 +0000\r\n\r\n"
        f"Hello, this is question {number}.\r\n"
    ).encode()


def test_polling_twice_ingests_each_message_once(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))
    imap_server.inbox.add(_customer_email(2))

    first = mailbox_poll(mailbox_id=mailbox.pk)
    second = mailbox_poll(mailbox_id=mailbox.pk)

    assert (first.received, first.error) == (2, "")
    assert second.received == 0
    assert imap_server.fetched == [1, 2]  # the second poll fetched nothing
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 1", "Question 2"]
    mailbox.refresh_from_db()
    assert (mailbox.uid_validity, mailbox.last_seen_uid, mailbox.last_error) == (1700000001, 2, "")
    assert mailbox.last_polled_at is not None


def test_only_messages_after_the_last_seen_uid_are_fetched(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))
    mailbox_poll(mailbox_id=mailbox.pk)
    imap_server.inbox.add(_customer_email(2))

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 1
    assert imap_server.fetched == [1, 2]
    assert "UID SEARCH UID 2:*" in imap_server.commands
    assert Ticket.objects.count() == 2


def test_a_new_uidvalidity_restarts_from_the_beginning_and_duplicates_are_recognised(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))
    imap_server.inbox.add(_customer_email(2))
    mailbox_poll(mailbox_id=mailbox.pk)
    imap_server.renumber(uid_validity=1700000002)
    imap_server.inbox.add(_customer_email(3))

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 3  # all three taken again from UID 1 ...
    assert imap_server.fetched == [1, 2, 1, 2, 3]
    assert Message.objects.count() == 3  # ... but the first two were recognised by Message-ID
    assert Ticket.objects.count() == 3
    mailbox.refresh_from_db()
    assert (mailbox.uid_validity, mailbox.last_seen_uid) == (1700000002, 3)


def test_a_wrong_password_is_recorded_without_crashing(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))
    ImapMailbox.objects.filter(pk=mailbox.pk).update(password="wrong")

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 0
    assert result.error.startswith("Login failed:")
    mailbox.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in mailbox.last_error
    assert mailbox.last_polled_at is not None
    assert (mailbox.uid_validity, mailbox.last_seen_uid) == (None, 0)
    assert Ticket.objects.count() == 0


def test_an_unreachable_server_is_recorded_without_crashing(mailbox):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    ImapMailbox.objects.filter(pk=mailbox.pk).update(port=closed_port)

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 0
    mailbox.refresh_from_db()
    assert "refused" in mailbox.last_error.lower()


def test_a_success_clears_the_last_error(imap_server, mailbox):
    ImapMailbox.objects.filter(pk=mailbox.pk).update(last_error="Login failed: old")

    mailbox_poll(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_an_unreadable_message_is_quarantined_and_the_poll_moves_past_it(imap_server, mailbox):
    imap_server.inbox.add(corpus_email("malformed_no_from.eml"))
    imap_server.inbox.add(_customer_email(2))

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 2
    quarantined = QuarantinedEmail.objects.get()
    assert quarantined.source == QuarantinedEmail.Source.IMAP
    assert bytes(quarantined.raw_message) == corpus_email("malformed_no_from.eml")
    assert Ticket.objects.get().subject == "Question 2"


def _large_customer_email(number: int, size: int) -> bytes:
    """A customer's email of exactly ``size`` bytes (a long plain-text body)."""
    start = _customer_email(number)
    return start + b"x" * (size - len(start))


def test_a_message_over_the_size_limit_is_quarantined_by_its_headers_and_the_poll_moves_on(
    imap_server, mailbox, settings
):
    settings.EMAIL_INBOUND_MAX_MESSAGE_BYTES = 1024 * 1024
    imap_server.inbox.add(_large_customer_email(1, size=1024 * 1024 + 1))
    imap_server.inbox.add(_customer_email(2))

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert (result.received, result.error) == (2, "")
    assert "UID FETCH 1,2 (RFC822.SIZE)" in imap_server.commands
    assert imap_server.headers_fetched == [1]
    assert imap_server.fetched == [2]  # the large one was never downloaded whole
    quarantined = QuarantinedEmail.objects.get()
    assert quarantined.source == QuarantinedEmail.Source.IMAP
    assert quarantined.is_headers_only is True
    assert quarantined.reason == (
        "The message is larger than 1 MB (1,048,577 bytes); not fetched. Only its headers are kept."
    )
    assert bytes(quarantined.raw_message) == _customer_email(1).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert (quarantined.header_from, quarantined.subject) == ("Customer 1 <customer1@example.test>", "Question 1")
    assert Ticket.objects.get().subject == "Question 2"
    mailbox.refresh_from_db()
    assert mailbox.last_seen_uid == 2

    again = mailbox_poll(mailbox_id=mailbox.pk)

    assert again.received == 0
    assert (imap_server.headers_fetched, imap_server.fetched) == ([1], [2])
    assert QuarantinedEmail.objects.count() == 1


def test_a_message_of_exactly_the_size_limit_is_fetched_whole(imap_server, mailbox, settings):
    settings.EMAIL_INBOUND_MAX_MESSAGE_BYTES = 64 * 1024
    imap_server.inbox.add(_large_customer_email(1, size=64 * 1024))

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 1
    assert (imap_server.headers_fetched, imap_server.fetched) == ([], [1])
    assert Ticket.objects.get().subject == "Question 1"
    assert QuarantinedEmail.objects.count() == 0


def test_a_message_that_cannot_be_stored_is_not_skipped(imap_server, mailbox, monkeypatch):
    imap_server.inbox.add(_customer_email(1))
    imap_server.inbox.add(_customer_email(2))
    real_receive = imap_poller.email_receive

    def fail_on_the_second(*, raw, **kwargs):
        if b"imap-2@" in raw:
            raise DatabaseError("connection lost")
        return real_receive(raw=raw, **kwargs)

    monkeypatch.setattr(imap_poller, "email_receive", fail_on_the_second)
    with pytest.raises(DatabaseError):
        mailbox_poll(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.last_seen_uid == 1  # the failed message's step forward rolled back with it

    monkeypatch.setattr(imap_poller, "email_receive", real_receive)
    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert result.received == 1
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 1", "Question 2"]


def test_a_poll_that_finds_the_message_already_taken_does_not_ingest_it_again(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))
    # Another poll (a second beat, a retried task) got there first and committed.
    ImapMailbox.objects.filter(pk=mailbox.pk).update(uid_validity=1700000001, last_seen_uid=0)
    assert imap_poller._take(mailbox_id=mailbox.pk, uid_validity=1700000001, uid=1, raw=_customer_email(1))

    taken_again = imap_poller._take(mailbox_id=mailbox.pk, uid_validity=1700000001, uid=1, raw=_customer_email(1))

    assert taken_again is False
    assert Message.objects.count() == 1


def test_the_beat_task_queues_one_poll_per_active_mailbox(mailbox, monkeypatch):
    inactive = ImapMailbox.objects.create(name="Old", host="h", username="u", password="p", is_active=False)
    queued = []
    monkeypatch.setattr(poll_imap_mailbox_task, "apply_async", lambda args, **options: queued.append(args))

    count = poll_imap_mailboxes_task()

    assert count == 1
    assert queued == [(mailbox.pk,)]
    assert (inactive.pk,) not in queued


def test_the_mailbox_task_polls_the_mailbox(imap_server, mailbox):
    imap_server.inbox.add(_customer_email(1))

    assert poll_imap_mailbox_task(mailbox.pk) == 1
    assert Ticket.objects.count() == 1


def test_beat_runs_the_poller_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["poll-imap-mailboxes"]

    assert entry["task"] == poll_imap_mailboxes_task.name
    assert entry["schedule"] == 60.0


def test_messages_the_database_could_not_hold_as_sent_do_not_block_the_mailbox(imap_server, mailbox, unstorable):
    nul_subject = _customer_email(1).replace(b"Subject: Question 1", b"Subject: =?utf-8?q?Question=00_1?=")
    long_sender = _customer_email(2).replace(b"customer2@example.test", b"c" * 287 + b"@example.test")
    refused_by_the_database = _customer_email(3).replace(b"Subject: Question 3", b"Subject: unstorable 3")
    for raw in (nul_subject, long_sender, refused_by_the_database, _customer_email(4)):
        imap_server.inbox.add(raw)

    result = mailbox_poll(mailbox_id=mailbox.pk)

    assert (result.received, result.error) == (4, "")
    mailbox.refresh_from_db()
    assert mailbox.last_seen_uid == 4
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 1", "Question 4"]
    quarantined = {bytes(q.raw_message): q.reason for q in QuarantinedEmail.objects.all()}
    assert "254" in quarantined[long_sender]
    assert quarantined[refused_by_the_database].startswith("The message could not be stored (DataError: ")
