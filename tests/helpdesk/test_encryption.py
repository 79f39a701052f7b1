"""Secrets stored encrypted: mailbox passwords and webhook signing secrets never sit in a column as written."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from channels_app.models import ImapMailbox
from helpdesk.core.encryption import PREFIX, decrypt_text, encrypt_text
from tickets.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def _column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def test_a_mailbox_password_is_stored_encrypted_and_read_back_plain():
    mailbox = ImapMailbox.objects.create(
        name="Support", host="imap.example.test", username="support", password="hunter2!"
    )

    stored = _column("channels_app_imapmailbox", "password", mailbox.pk)

    assert stored.startswith(PREFIX)
    assert "hunter2" not in stored
    assert ImapMailbox.objects.get(pk=mailbox.pk).password == "hunter2!"


def test_a_webhook_secret_is_stored_encrypted_and_signs_with_the_real_value():
    endpoint = WebhookEndpoint.objects.create(
        url="https://93.184.216.34/h", secret="whsec_abc", events=["ticket.created"]
    )

    stored = _column("tickets_webhookendpoint", "secret", endpoint.pk)

    assert "whsec_abc" not in stored
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_abc"
    assert encrypt_text("same") != encrypt_text("same")  # a fresh token each time: equal secrets do not show


def test_a_value_written_before_encryption_is_still_read():
    assert decrypt_text("plain-old-password") == "plain-old-password"


def test_an_old_key_still_decrypts_after_a_new_one_is_put_first(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = encrypt_text("rotate me")

    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    assert decrypt_text(stored) == "rotate me"


def test_a_value_the_keys_cannot_read_is_a_clear_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    stored = encrypt_text("secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured, match="cannot be read with the configured keys"):
        decrypt_text(stored)


def test_a_malformed_key_is_refused_with_its_setting_named(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        encrypt_text("x")
