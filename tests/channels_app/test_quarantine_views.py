"""The admins' quarantine page: list, download, retry; nobody else may open it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role
from channels_app.email_inbound import email_receive
from channels_app.models import QuarantinedEmail
from tests.channels_app.conftest import corpus_email
from tests.tickets.factories import MessageFactory
from tickets.choices import MessageDirection
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db
LIST_URL = "/channels/quarantine/"


def _quarantined(name="malformed_no_from.eml", source=QuarantinedEmail.Source.SMTP) -> QuarantinedEmail:
    result = email_receive(raw=corpus_email(name), source=source, envelope_sender="mta@example.test")
    assert isinstance(result, QuarantinedEmail)
    return result


def _many(count: int) -> None:
    for index in range(count):
        raw = f"To: support@helpdesk.localhost\r\nSubject: broken {index}\r\n\r\nno sender {index}\r\n".encode()
        email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_staff_without_the_settings_permission_get_403_everywhere(client, staff_by_role, role):
    quarantined = _quarantined()
    client.force_login(staff_by_role[role])

    responses = [
        client.get(LIST_URL),
        client.get(f"{LIST_URL}{quarantined.pk}/raw/"),
        client.post(f"{LIST_URL}{quarantined.pk}/retry/"),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    quarantined.refresh_from_db()
    assert quarantined.is_resolved is False
    assert Ticket.objects.count() == 0


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_admin_sees_reason_sender_size_and_the_download_link(client, admin_user):
    quarantined = _quarantined()
    client.force_login(admin_user)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "The message has no sender address (From)." in page
    assert "mta@example.test" in page  # no From header: the envelope sender is shown
    assert "Order question" in page
    assert f"{quarantined.size}\u00a0bytes" in page
    assert f"{LIST_URL}{quarantined.pk}/raw/" in page
    assert f"{LIST_URL}{quarantined.pk}/retry/" in page


def test_the_list_costs_the_same_queries_for_5_and_50_emails(client, admin_user):
    client.force_login(admin_user)
    client.get(LIST_URL)  # the first request of a session creates the site's settings rows
    _many(5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(LIST_URL).status_code == 200
    _many(50)  # 55 in all: a full first page of 50

    with CaptureQueriesContext(connection) as fifty:
        response = client.get(LIST_URL)

    assert len(response.context["page"].object_list) == 50
    assert len(fifty) == len(five)
    assert not any("raw_message" in query["sql"] for query in fifty.captured_queries)


def test_the_download_is_the_raw_message_byte_for_byte(client, admin_user):
    quarantined = _quarantined()
    client.force_login(admin_user)

    response = client.get(f"{LIST_URL}{quarantined.pk}/raw/")

    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="quarantined-{quarantined.pk}.eml"'
    assert response.content == corpus_email("malformed_no_from.eml")


def test_retry_records_a_bounce_once_the_message_it_is_about_exists(client, admin_user):
    quarantined = _quarantined("bounce_unknown_message.eml")
    assert quarantined.reason == "bounce for an unknown message"
    sent = MessageFactory(
        direction=MessageDirection.OUTBOUND, external_message_id="<never-sent-by-us@elsewhere.example>"
    )
    client.force_login(admin_user)

    response = client.post(f"{LIST_URL}{quarantined.pk}/retry/", follow=True)

    assert response.status_code == 200
    assert "no longer in quarantine" in response.content.decode()
    quarantined.refresh_from_db()
    note = Message.objects.get(direction=MessageDirection.NOTE)
    assert note.ticket_id == sent.ticket_id
    assert note.body_text.startswith("Delivery failed: nobody@example.test")
    assert (quarantined.is_resolved, quarantined.resolved_by, quarantined.resolved_message) == (True, admin_user, note)
    assert quarantined.resolved_at is not None


def test_retry_ingests_a_message_that_parses_now(client, admin_user, settings, tmp_path):
    # As if a parser bug had quarantined a good email and the fix has since been deployed.
    settings.MEDIA_ROOT = tmp_path
    raw = corpus_email("japanese_iso2022jp.eml")
    quarantined = QuarantinedEmail.objects.create(
        source=QuarantinedEmail.Source.IMAP, raw_message=raw, reason="The message could not be read (KeyError: 'x').",
        size=len(raw),
    )  # fmt: skip
    client.force_login(admin_user)

    client.post(f"{LIST_URL}{quarantined.pk}/retry/")

    quarantined.refresh_from_db()
    ticket = Ticket.objects.get()
    assert ticket.subject == "\u5546\u54c1\u304c\u5c4a\u304d\u307e\u305b\u3093"
    assert quarantined.is_resolved is True
    assert quarantined.resolved_message.ticket == ticket


def test_retry_of_a_message_that_still_fails_keeps_it_in_quarantine(client, admin_user):
    quarantined = _quarantined()
    client.force_login(admin_user)

    response = client.post(f"{LIST_URL}{quarantined.pk}/retry/", follow=True)

    assert "still cannot be processed: The message has no sender address (From)." in response.content.decode()
    quarantined.refresh_from_db()
    assert quarantined.is_resolved is False
    assert QuarantinedEmail.objects.count() == 1
    assert Ticket.objects.count() == 0


def test_a_resolved_email_cannot_be_retried_twice(client, admin_user):
    quarantined = _quarantined("bounce_unknown_message.eml")
    MessageFactory(direction=MessageDirection.OUTBOUND, external_message_id="<never-sent-by-us@elsewhere.example>")
    client.force_login(admin_user)
    client.post(f"{LIST_URL}{quarantined.pk}/retry/")

    response = client.post(f"{LIST_URL}{quarantined.pk}/retry/", follow=True)

    assert "already processed" in response.content.decode()
    assert Message.objects.filter(direction=MessageDirection.NOTE).count() == 1


def test_a_message_kept_by_its_headers_only_is_shown_but_cannot_be_retried(client, admin_user):
    from channels_app.email_inbound import email_quarantine_headers_only

    headers = b"From: Big Sender <big@example.test>\r\nSubject: Huge scans\r\nMessage-ID: <huge@example.test>\r\n\r\n"
    quarantined = email_quarantine_headers_only(
        headers=headers, source=QuarantinedEmail.Source.IMAP, reason="The message is larger than 40 MB."
    )
    client.force_login(admin_user)

    listed = client.get(LIST_URL).content.decode()
    response = client.post(f"{LIST_URL}{quarantined.pk}/retry/", follow=True)

    assert "Headers only: fetch it from the mailbox" in listed
    assert f"/channels/quarantine/{quarantined.pk}/retry/" not in listed
    assert "cannot be retried from here" in response.content.decode()
    quarantined.refresh_from_db()
    assert quarantined.is_resolved is False
    assert Ticket.objects.count() == 0


def test_resolved_emails_are_listed_apart(client, admin_user):
    quarantined = _quarantined("bounce_unknown_message.eml")
    MessageFactory(direction=MessageDirection.OUTBOUND, external_message_id="<never-sent-by-us@elsewhere.example>")
    client.force_login(admin_user)
    client.post(f"{LIST_URL}{quarantined.pk}/retry/")

    waiting = client.get(LIST_URL)
    resolved = client.get(f"{LIST_URL}?status=resolved")

    assert list(waiting.context["page"].object_list) == []
    assert list(resolved.context["page"].object_list) == [quarantined]


def test_retry_needs_a_post(client, admin_user):
    quarantined = _quarantined()
    client.force_login(admin_user)

    assert client.get(f"{LIST_URL}{quarantined.pk}/retry/").status_code == 405
