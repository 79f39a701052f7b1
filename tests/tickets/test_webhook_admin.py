"""Webhook endpoints in the admin: the signing secret is written, never shown again."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from tickets.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

EVENTS = [WebhookEndpoint.Event.TICKET_CREATED.value]


@pytest.fixture
def root_client(client):
    client.force_login(User.objects.create_superuser("root@example.test", "pw-long-enough-1"))
    return client


def test_a_new_endpoint_saved_without_a_secret_gets_one_shown_once(root_client):
    response = root_client.post(
        reverse("admin:tickets_webhookendpoint_add"),
        {"url": "https://erp.example.test/hooks", "events": EVENTS, "secret": "", "is_active": "on"},
    )

    endpoint = WebhookEndpoint.objects.get()
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert response.status_code == 302
    assert len(endpoint.secret) >= 40
    assert any(endpoint.secret in message for message in shown)


def test_the_change_page_never_sends_the_secret_and_blank_keeps_it(root_client):
    endpoint = WebhookEndpoint.objects.create(url="https://erp.example.test/hooks", secret="s3cret-kept", events=EVENTS)
    change_url = reverse("admin:tickets_webhookendpoint_change", args=[endpoint.pk])

    page = root_client.get(change_url)
    saved = root_client.post(change_url, {"url": endpoint.url, "events": EVENTS, "secret": "", "is_active": "on"})

    endpoint.refresh_from_db()
    assert page.status_code == 200
    assert b"s3cret-kept" not in page.content
    assert saved.status_code == 302
    assert endpoint.secret == "s3cret-kept"
    assert not any("s3cret-kept" in str(message) for message in get_messages(saved.wsgi_request))


def test_a_new_secret_typed_on_the_change_page_replaces_the_old_one(root_client):
    endpoint = WebhookEndpoint.objects.create(url="https://erp.example.test/hooks", secret="old-secret", events=EVENTS)

    root_client.post(
        reverse("admin:tickets_webhookendpoint_change", args=[endpoint.pk]),
        {"url": endpoint.url, "events": EVENTS, "secret": "new-secret", "is_active": "on"},
    )

    endpoint.refresh_from_db()
    assert endpoint.secret == "new-secret"
