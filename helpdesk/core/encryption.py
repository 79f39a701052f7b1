"""Secrets the helpdesk must read back (mailbox passwords, webhook signing secrets), encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256) from ``cryptography``. The keys come from FIELD_ENCRYPTION_KEYS
(comma-separated Fernet keys: the first encrypts, every one decrypts, so a key can be rotated in);
without it, one key is derived from SECRET_KEY, which then must not change while such values exist.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

PREFIX = "fernet:"


@lru_cache(maxsize=1)
def _cipher() -> MultiFernet:
    configured = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if not configured:
        derived = hashlib.sha256(f"helpdesk-field-encryption:{settings.SECRET_KEY}".encode()).digest()
        configured = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in configured])
    except ValueError as error:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key: {error}") from error


@receiver(setting_changed)
def _forget_keys(*, setting: str, **_kwargs: object) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "SECRET_KEY"}:
        _cipher.cache_clear()


def encrypt_text(value: str) -> str:
    return PREFIX + _cipher().encrypt(value.encode()).decode()


def decrypt_text(stored: str) -> str:
    """The plain value; a value stored before encryption (no prefix) is returned as it is."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _cipher().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with the configured keys (FIELD_ENCRYPTION_KEYS or SECRET_KEY changed?)."
        ) from error


class EncryptedTextField(models.TextField):
    """A text column that holds its value encrypted; Python sees the plain text. Not searchable."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        return None if value is None else decrypt_text(value)

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        text = str(value)
        return text if text.startswith(PREFIX) else encrypt_text(text)


def encrypt_column(schema_editor: object, *, table: str, column: str) -> None:
    """For data migrations: write every plain value of ``table.column`` again, encrypted."""
    with schema_editor.connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT id, {column} FROM {table}")  # noqa: S608 - names from the migration
        for pk, value in cursor.fetchall():
            if value and not value.startswith(PREFIX):
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [encrypt_text(value), pk])  # noqa: S608


def decrypt_column(schema_editor: object, *, table: str, column: str) -> None:
    """For reversing a data migration: write every value of ``table.column`` back as plain text."""
    with schema_editor.connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT id, {column} FROM {table}")  # noqa: S608 - names from the migration
        for pk, value in cursor.fetchall():
            if value:
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [decrypt_text(value), pk])  # noqa: S608
