"""Agents download a ticket's files through the helpdesk, never from a public media URL."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from accounts.choices import Role
from tests.accounts.factories import TeamFactory, UserFactory
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.models import Attachment, Ticket
from tickets.services.merge import ticket_merge

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def ticket():
    return TicketFactory(subject="Damaged parcel")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def _kept(ticket: Ticket, *, filename: str, content_type: str, content: bytes) -> Attachment:
    attachment = Attachment(
        message=MessageFactory(ticket=ticket), filename=filename, content_type=content_type, size=len(content)
    )
    attachment.file.save(filename, ContentFile(content), save=False)
    attachment.save()
    return attachment


def _url(ticket: Ticket, attachment: Attachment) -> str:
    return reverse("tickets:attachment", args=[ticket.number, attachment.pk])


def test_the_agent_downloads_the_exact_bytes_under_the_original_filename(agent_client, ticket):
    content = b"%PDF-1.4 invoice 20431"
    invoice = _kept(ticket, filename="Invoice 20431.pdf", content_type="application/pdf", content=content)

    response = agent_client.get(_url(ticket, invoice))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Disposition"] == 'attachment; filename="Invoice 20431.pdf"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("content_type", ["image/png", "IMAGE/PNG; name=photo.png"])
def test_a_png_is_served_inline_as_an_image(agent_client, ticket, content_type):
    photo = _kept(ticket, filename="photo.png", content_type=content_type, content=PNG)

    response = agent_client.get(_url(ticket, photo))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="photo.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize(
    ("filename", "content_type", "content"),
    [
        ("page.html", "text/html", b"<script>alert(document.cookie)</script>"),
        ("logo.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ],
)
def test_html_and_svg_come_as_opaque_downloads_that_cannot_run_script(
    agent_client, ticket, filename, content_type, content
):
    page = _kept(ticket, filename=filename, content_type=content_type, content=content)

    response = agent_client.get(_url(ticket, page))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"].split("; ")
    assert "default-src 'none'" in response["Content-Security-Policy"].split("; ")


def test_an_agent_of_another_team_gets_404(client, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(team=TeamFactory(), assignee=UserFactory(role=Role.AGENT))
    photo = _kept(ticket, filename="photo.png", content_type="image/png", content=PNG)
    client.force_login(UserFactory(role=Role.AGENT))

    response = client.get(_url(ticket, photo))

    assert response.status_code == 404
    assert "not yours to see" in response.content.decode()


def test_a_file_of_another_ticket_under_this_tickets_url_is_a_404(agent_client, ticket):
    elsewhere = _kept(TicketFactory(), filename="other.pdf", content_type="application/pdf", content=b"%PDF")

    response = agent_client.get(reverse("tickets:attachment", args=[ticket.number, elsewhere.pk]))

    assert response.status_code == 404
    assert "no such file on this ticket" in response.content.decode()


def test_a_refused_file_is_a_404(agent_client, ticket):
    refused = Attachment.objects.create(
        message=MessageFactory(ticket=ticket),
        filename="run.exe",
        content_type="application/x-msdownload",
        size=10,
        refusal_reason="type refused",
    )

    response = agent_client.get(_url(ticket, refused))

    assert response.status_code == 404


def test_after_a_merge_the_file_is_served_under_the_surviving_ticket(agent_client, agent, ticket):
    duplicate = TicketFactory(customer=ticket.customer)
    photo = _kept(duplicate, filename="photo.png", content_type="image/png", content=PNG)
    ticket_merge(source_id=duplicate.pk, target_id=ticket.pk, actor=agent)

    moved = agent_client.get(_url(ticket, photo))
    left_behind = agent_client.get(_url(duplicate, photo))

    assert moved.status_code == 200
    assert b"".join(moved.streaming_content) == PNG
    assert left_behind.status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, ticket):
    photo = _kept(ticket, filename="photo.png", content_type="image/png", content=PNG)
    url = _url(ticket, photo)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_a_signed_in_non_staff_user_gets_403(client, ticket):
    photo = _kept(ticket, filename="photo.png", content_type="image/png", content=PNG)
    client.force_login(UserFactory(is_staff=False, role=""))

    response = client.get(_url(ticket, photo))

    assert response.status_code == 403


def test_the_timeline_links_each_kept_file_to_the_download_and_not_to_media(agent_client, ticket):
    invoice = _kept(ticket, filename="invoice.pdf", content_type="application/pdf", content=b"%PDF")

    body = agent_client.get(reverse("tickets:ticket", args=[ticket.number])).content.decode()

    assert f'<a href="{_url(ticket, invoice)}">invoice.pdf</a>' in body
    assert "/media/" not in body


def test_linking_files_from_the_timeline_costs_no_query_per_file(agent_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for file_count in (1, 20):
        ticket = TicketFactory()
        for index in range(file_count):
            _kept(ticket, filename=f"photo-{index}.png", content_type="image/png", content=PNG)
        url = reverse("tickets:ticket", args=[ticket.number])
        agent_client.get(url)  # warm the session and permission caches
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(url)
        assert response.content.decode().count("/attachments/") == file_count
        counts[file_count] = len(queries)

    assert counts[1] == counts[20]


def test_an_image_the_email_embeds_is_shown_from_its_attachment_through_the_checked_download(agent_client):
    from channels_app.email_inbound import email_receive
    from channels_app.models import QuarantinedEmail
    from tests.channels_app.conftest import corpus_email

    result = email_receive(raw=corpus_email("inline_image.eml"), source=QuarantinedEmail.Source.SMTP)
    ticket = result.ticket
    Ticket.objects.filter(pk=ticket.pk).update(team=None, assignee=None)
    photo = Attachment.objects.get(message__ticket=ticket, content_id="label-photo@iphone.example")

    page = agent_client.get(reverse("tickets:ticket", args=[ticket.number])).content.decode()
    image = agent_client.get(_url(ticket, photo))

    assert f'src="{_url(ticket, photo)}"' in page
    assert "cid:label-photo" not in page
    assert image.status_code == 200
    assert image["Content-Type"].startswith("image/")
