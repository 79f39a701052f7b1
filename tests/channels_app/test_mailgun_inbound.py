"""Mailgun's inbound route posting to /channels/email/inbound/mailgun/, through django-anymail."""

import hashlib
import hmac
import time
import uuid

import pytest
from django.core.cache import cache

from channels_app import webhooks
from channels_app.models import QuarantinedEmail
from tests.channels_app.conftest import corpus_email
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db
URL = "/channels/email/inbound/mailgun/"
TEST_SIGNING_KEY = "test-mailgun-signing-key"  # helpdesk/settings/test.py


def _mailgun_post(raw: bytes, *, key: str = TEST_SIGNING_KEY, timestamp: int | None = None, token: str = "") -> dict:
    """The form fields of Mailgun's forward() action with the raw MIME ("body-mime"), signed as Mailgun signs."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    token = token or hashlib.sha256(raw + str(timestamp).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "recipient": "support@helpdesk.localhost",
        "sender": "maria@example.test",
        "from": "Maria Lopez <maria@example.test>",
        "subject": "Package arrived damaged",
        "body-mime": raw.decode("utf-8"),
        "timestamp": str(timestamp),
        "token": token,
        "signature": signature,
    }


def _raw(message_id: str = "<mailgun-1@example.test>") -> bytes:
    return (
        "From: Maria Lopez <maria@example.test>\r\nTo: support@helpdesk.localhost\r\n"
        f"Subject: Package arrived damaged\r\nMessage-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "The box was crushed — the mug inside is broken.\r\n"
    ).encode()


def test_a_signed_post_becomes_a_ticket(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    response = client.post(URL, _mailgun_post(_raw()))

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.subject == "Package arrived damaged"
    message = ticket.messages.get()
    assert message.body_text == "The box was crushed \u2014 the mug inside is broken."
    assert message.external_message_id == "<mailgun-1@example.test>"
    assert ticket.customer.identities.get().value == "maria@example.test"


def test_a_corpus_email_arrives_through_the_webhook_as_it_would_by_smtp(client, desk):
    raw = corpus_email("gmail_reply.eml")

    response = client.post(URL, _mailgun_post(raw))

    assert response.status_code == 200
    message = Message.objects.get(external_message_id="<CAE2x9f+Yq3kLw8nR7vX=gmail-reply-1@mail.gmail.example>")
    assert message.ticket.number == 70001
    assert message.body_text == "Thanks! The tracking page still says \u201clabel created\u201d though.\n\nMaria"


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"key": "not-the-signing-key"}, id="signed-with-another-key"),
        pytest.param({"signature": "0" * 64}, id="made-up-signature"),
        pytest.param({"signature": None}, id="no-signature"),
        pytest.param({"timestamp": int(time.time()) - 3600}, id="replayed-an-hour-later"),
    ],
)
def test_a_forged_post_is_refused_and_stores_nothing(client, forgery):
    forgery = dict(forgery)
    fields = _mailgun_post(_raw(), **{k: v for k, v in forgery.items() if k in {"key", "timestamp"}})
    if "signature" in forgery:
        if forgery["signature"] is None:
            del fields["signature"]
        else:
            fields["signature"] = forgery["signature"]

    response = client.post(URL, fields)

    assert response.status_code == 400  # anymail's AnymailWebhookValidationFailure is a SuspiciousOperation
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0
    assert QuarantinedEmail.objects.count() == 0


def test_the_same_post_delivered_twice_is_recorded_once(client):
    fields = _mailgun_post(_raw(), token=uuid.uuid4().hex)  # a fresh token: none remembered from an earlier run

    first = client.post(URL, fields)
    second = client.post(URL, fields)

    assert (first.status_code, second.status_code) == (200, 200)
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_captured_post_resent_with_another_message_is_refused_and_records_nothing(client):
    captured = _mailgun_post(_raw(), token=uuid.uuid4().hex)
    assert client.post(URL, captured).status_code == 200
    forged = _raw("<forged-1@example.test>").replace(b"maria@example.test", b"klaus@example.test")
    replayed = {**captured, "body-mime": forged.decode(), "sender": "klaus@example.test"}

    response = client.post(URL, replayed)

    assert response.status_code == 400  # as a forged post: AnymailWebhookValidationFailure
    assert Ticket.objects.count() == 1
    assert list(Message.objects.values_list("external_message_id", flat=True)) == ["<mailgun-1@example.test>"]
    assert QuarantinedEmail.objects.count() == 0


def test_a_captured_post_resent_with_another_envelope_recipient_is_refused(client):
    captured = _mailgun_post(_raw(), token=uuid.uuid4().hex)
    assert client.post(URL, captured).status_code == 200

    response = client.post(URL, {**captured, "recipient": "billing@helpdesk.localhost"})

    assert response.status_code == 400
    assert Message.objects.count() == 1


def test_an_unsigned_post_does_not_use_up_its_token(client):
    fields = _mailgun_post(_raw(), token=uuid.uuid4().hex)
    unsigned = {**_mailgun_post(_raw("<other@example.test>"), token=fields["token"]), "signature": "0" * 64}
    assert client.post(URL, unsigned).status_code == 400

    response = client.post(URL, fields)

    assert response.status_code == 200
    assert Message.objects.get().external_message_id == "<mailgun-1@example.test>"


def test_the_token_is_remembered_until_its_timestamp_leaves_the_window(client, settings, monkeypatch):
    timeouts = []

    class RecordingCache:
        def add(self, key, value, timeout):
            timeouts.append(timeout)
            return cache.add(key, value, timeout=timeout)

        def get(self, key):
            return cache.get(key)

    monkeypatch.setattr(webhooks, "cache", RecordingCache())
    settings.MAILGUN_WEBHOOK_TOLERANCE_SECONDS = 900
    now = int(time.time())

    client.post(URL, _mailgun_post(_raw(), timestamp=now - 600, token=uuid.uuid4().hex))
    client.post(URL, _mailgun_post(_raw("<ahead@example.test>"), timestamp=now + 600, token=uuid.uuid4().hex))

    assert timeouts == [pytest.approx(301, abs=2), pytest.approx(1501, abs=2)]  # a sender's clock ahead of ours


def _large_raw(size: int) -> bytes:
    body = ("Photos of the damage are below.\r\n" + "x" * 76 + "\r\n") * (size // 110)
    return _raw("<mailgun-large@example.test>").replace(b"The box was crushed", body.encode() + b"The box was crushed")


def test_a_post_larger_than_the_form_limit_is_refused_so_mailgun_retries_and_nothing_is_half_stored(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000

    response = client.post(URL, _mailgun_post(_large_raw(1_200_000)))

    assert response.status_code == 400
    assert Message.objects.count() == 0
    assert QuarantinedEmail.objects.count() == 0


def test_raising_the_form_limit_lets_mailgun_post_large_messages(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000_000

    response = client.post(URL, _mailgun_post(_large_raw(1_200_000)))

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.external_message_id == "<mailgun-large@example.test>"
    assert len(message.body_text) > 1_000_000


def test_an_unreadable_email_posted_by_mailgun_is_quarantined(client):
    raw = corpus_email("malformed_no_from.eml")

    response = client.post(URL, _mailgun_post(raw))

    assert response.status_code == 200  # accepted: Mailgun must not retry it forever
    quarantined = QuarantinedEmail.objects.get()
    assert quarantined.source == QuarantinedEmail.Source.WEBHOOK
    assert quarantined.envelope_recipients == ["support@helpdesk.localhost"]
    assert quarantined.reason == "The message has no sender address (From)."
    assert b"Where is my parcel?" in bytes(quarantined.raw_message)


def test_a_post_the_database_refuses_is_answered_200_and_quarantined(client, settings, tmp_path, unstorable):
    settings.MEDIA_ROOT = tmp_path
    raw = _raw("<mailgun-unstorable@example.test>").replace(b"Subject: Package", b"Subject: unstorable package")

    response = client.post(URL, _mailgun_post(raw, token=uuid.uuid4().hex))

    assert response.status_code == 200
    quarantined = QuarantinedEmail.objects.get()
    assert quarantined.source == QuarantinedEmail.Source.WEBHOOK
    assert quarantined.reason.startswith("The message could not be stored (DataError: ")
    assert Ticket.objects.count() == 0
