"""Mail the database could not hold as sent (NULs, over-long ids and addresses) is stored cleaned, or quarantined."""

import hashlib
from dataclasses import replace

import pytest
from django.db import DatabaseError, DataError, IntegrityError, OperationalError

from channels_app import email_inbound
from channels_app.email_inbound import email_receive, quarantined_email_retry
from channels_app.email_parsing import parse_email
from channels_app.models import QuarantinedEmail
from tests.accounts.factories import UserFactory
from tests.channels_app.conftest import SUPPORT
from tickets.models import Message, Ticket
from tickets.services.ingest import IngestResult

pytestmark = pytest.mark.django_db
LONG_MESSAGE_ID = "<" + "m" * 1186 + "@example.test>"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _email(
    *,
    sender: str = "Nora Quist <nora@example.test>",
    subject: str = "Where is my parcel?",
    message_id: str = "<nul-1@example.test>",
    extra_headers: str = "",
    body: bytes = b"It has not arrived.\r\n",
) -> bytes:
    headers = (
        f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n{extra_headers}"
        "Date: Thu, 6 Feb 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return headers.encode() + body


def _receive(raw: bytes):
    return email_receive(raw=raw, source=QuarantinedEmail.Source.SMTP, recipients=(SUPPORT,))


def _digest_form(message_id: str) -> str:
    return f"<{hashlib.sha256(message_id.encode()).hexdigest()}@truncated.invalid>"


def test_nuls_in_an_encoded_subject_and_a_raw_body_are_removed_and_the_message_becomes_a_ticket():
    raw = _email(subject="=?utf-8?q?Parcel=00_missing?=", body=b"It has not\x00 arrived.\r\n")

    result = _receive(raw)

    assert isinstance(result, IngestResult)
    assert result.ticket.subject == "Parcel missing"
    assert result.message.body_text == "It has not arrived."
    assert QuarantinedEmail.objects.count() == 0


def test_nuls_in_references_html_and_attachment_headers_are_removed():
    raw = (
        f"From: nora@example.test\r\nTo: {SUPPORT}\r\nSubject: Photo\r\nMessage-ID: <nul-\x00parts@example.test>\r\n"
        "In-Reply-To: <earlier\x00-1@example.test>\r\nReferences: <=?utf-8?q?first=00?=@example.test>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        '--B\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        "--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee\x00 the photo.\r\n"
        "--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See\x00 the photo.</p>\r\n--A--\r\n"
        '--B\r\nContent-Type: image/pn\x00g; name="pho\x00to.png"\r\nContent-ID: <ph\x00oto-1>\r\n'
        "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--B--\r\n"
    ).encode()

    result = _receive(raw)

    message = Message.objects.get(pk=result.message.pk)
    assert message.external_message_id == "<nul-parts@example.test>"
    assert message.references == ["<earlier-1@example.test>", "<first@example.test>"]
    assert message.body_text == "See the photo."
    assert "\x00" not in message.body_html
    assert "See the photo." in message.body_html
    attachment = message.attachments.get()
    assert (attachment.filename, attachment.content_id) == ("photo.png", "photo-1")
    assert "\x00" not in attachment.content_type


def test_an_over_long_message_id_is_stored_as_its_digest_and_a_second_delivery_is_a_duplicate():
    raw = _email(message_id=LONG_MESSAGE_ID)

    first = _receive(raw)
    second = _receive(raw)

    assert first.message.external_message_id == _digest_form(LONG_MESSAGE_ID)
    assert (second.is_duplicate, second.message.pk) == (True, first.message.pk)
    assert Message.objects.count() == 1
    assert QuarantinedEmail.objects.count() == 0


def test_a_reply_naming_an_over_long_message_id_joins_its_ticket():
    first = _receive(_email(message_id=LONG_MESSAGE_ID))
    reply = _email(
        subject="Re: Where is my parcel?",
        message_id="<nul-reply@example.test>",
        extra_headers=f"In-Reply-To: {LONG_MESSAGE_ID}\r\nReferences: <short@example.test> {LONG_MESSAGE_ID}\r\n",
    )

    parsed = parse_email(reply)
    second = _receive(reply)

    assert parsed.references == (_digest_form(LONG_MESSAGE_ID), "<short@example.test>")
    assert second.ticket.pk == first.ticket.pk
    assert second.message.references == [_digest_form(LONG_MESSAGE_ID), "<short@example.test>"]


def test_a_sender_address_longer_than_254_characters_is_quarantined_with_the_reason():
    address = "n" * 287 + "@example.test"  # 300 characters
    raw = _email(sender=f"Nora <{address}>", subject="Parcel\x00 missing")

    result = _receive(raw)

    assert isinstance(result, QuarantinedEmail)
    assert "sender address (From) is 300 characters long" in result.reason
    assert "254" in result.reason
    assert result.subject == "Parcel missing"  # the NUL removed from what the admin reviews
    assert result.header_from == f"Nora <{address}>"[:320]
    assert bytes(result.raw_message) == raw
    assert Ticket.objects.count() == 0


def _failing_ingest(monkeypatch, error: Exception) -> None:
    def ingest(*, inbound):
        raise error

    monkeypatch.setattr(email_inbound, "ingest", ingest)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(DataError("value too long for type character varying(998)"), id="data-error"),
        pytest.param(ValueError("A string literal cannot contain NUL (0x00) characters."), id="nul-value-error"),
    ],
)
def test_a_permanent_storage_failure_lands_in_quarantine(monkeypatch, error):
    _failing_ingest(monkeypatch, error)
    raw = _email(subject="=?utf-8?q?Parcel=00_missing?=")

    result = _receive(raw)

    assert isinstance(result, QuarantinedEmail)
    assert result.reason == f"The message could not be stored ({type(error).__name__}: {error})."
    assert result.subject == "Parcel missing"
    assert bytes(result.raw_message) == raw
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(OperationalError("server closed the connection unexpectedly"), id="operational-error"),
        pytest.param(DatabaseError("connection lost"), id="database-error"),
    ],
)
def test_a_passing_storage_failure_is_raised_so_the_message_is_offered_again(monkeypatch, error):
    _failing_ingest(monkeypatch, error)

    with pytest.raises(type(error)):
        _receive(_email())

    assert QuarantinedEmail.objects.count() == 0


@pytest.mark.parametrize(
    ("unstorable", "refusal"),
    [
        pytest.param({"external_message_id": LONG_MESSAGE_ID}, "DataError", id="over-long-message-id"),
        pytest.param({"subject": "Parcel\x00 missing"}, "ValueError", id="nul-in-subject"),
        pytest.param({"body_text": "It has not\x00 arrived."}, "ValueError", id="nul-in-body"),
        # Refused as a lookup parameter already, before the JSON column would refuse it as \u0000.
        pytest.param({"references": ("<earlier\x00@example.test>",)}, "ValueError", id="nul-in-references"),
        pytest.param({"sender_address": "n" * 287 + "@example.test"}, "DataError", id="over-long-sender"),
    ],
)
def test_what_the_database_refuses_in_ingest_is_quarantined_not_raised(monkeypatch, unstorable, refusal):
    """The database's own refusals, as if parsing had let the value through."""
    real_ingest = email_inbound.ingest
    monkeypatch.setattr(email_inbound, "ingest", lambda *, inbound: real_ingest(inbound=replace(inbound, **unstorable)))

    result = _receive(_email())

    assert isinstance(result, QuarantinedEmail)
    assert result.reason.startswith(f"The message could not be stored ({refusal}: ")
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0
    monkeypatch.setattr(email_inbound, "ingest", real_ingest)
    after = _receive(_email(message_id="<after@example.test>"))  # the connection is still usable
    assert after.message.external_message_id == "<after@example.test>"


def test_a_retry_that_still_cannot_store_the_message_keeps_it_in_quarantine(monkeypatch):
    _failing_ingest(monkeypatch, DataError("value too long"))
    quarantined = _receive(_email())
    _failing_ingest(monkeypatch, IntegrityError("a constraint failed"))

    retried = quarantined_email_retry(quarantined_email_id=quarantined.pk, actor=UserFactory())

    retried.refresh_from_db()
    assert retried.is_resolved is False
    assert retried.reason == "The message could not be stored (IntegrityError: a constraint failed)."
