"""Inbound email from a provider (Mailgun, through django-anymail), handed to email_receive.

Anymail checks the signature (HMAC-SHA256 of timestamp + token under the webhook signing key)
and answers 400 to a forged or unsigned post. The signature does not cover the message, so on
top of that:

* a post whose timestamp is further than MAILGUN_WEBHOOK_TOLERANCE_SECONDS from now is refused,
  so a captured post cannot be replayed later;
* each signed token is remembered in the shared cache, with a SHA-256 of what was posted with it,
  for as long as its timestamp is accepted. The same token posted again with other content (a
  captured signature re-used for a message of someone else's making) is refused like a forged post;
  posted again with the same content it is a retry: it goes through as before, and the message
  is recognised by its Message-ID (or, in quarantine, by its bytes) and recorded once.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from channels_app.email_inbound import email_receive
from channels_app.models import QuarantinedEmail


class MailgunInboundWebhook(MailgunInboundWebhookView):
    def validate_request(self, request: HttpRequest) -> None:
        # Anymail runs every validate_request in the class chain; the signature check is its own.
        try:
            timestamp = int(request.POST.get("timestamp", ""))
        except ValueError as error:
            raise AnymailWebhookValidationFailure("Mailgun webhook called without a valid timestamp") from error
        if abs(time.time() - timestamp) > settings.MAILGUN_WEBHOOK_TOLERANCE_SECONDS:
            raise AnymailWebhookValidationFailure("Mailgun webhook timestamp is outside the allowed window")

    def run_validators(self, request: HttpRequest) -> None:
        super().run_validators(request)
        # Only once the signature is known good, so unsigned posts cannot fill the cache with tokens.
        _refuse_reused_token(request)


def _posted_content_digest(request: HttpRequest) -> str:
    """SHA-256 of every field and file posted (body-mime, sender, recipient, or the parsed parts)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(request.POST.lists()), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    for field, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            digest.update(json.dumps([field, upload.name, upload.content_type, upload.size]).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _refuse_reused_token(request: HttpRequest) -> None:
    """Remember the post's token with a digest of its content; the token again with other content is refused."""
    token = request.POST.get("token", "")
    timestamp = int(request.POST["timestamp"])  # validate_request has checked it
    # Kept until the timestamp leaves the accepted window (up to twice the tolerance for a clock ahead of ours).
    timeout = max(1, int(timestamp + settings.MAILGUN_WEBHOOK_TOLERANCE_SECONDS - time.time()) + 1)
    key = f"mailgun-inbound-token:{hashlib.sha256(token.encode()).hexdigest()}"
    content = _posted_content_digest(request)
    if not cache.add(key, content, timeout=timeout) and cache.get(key) != content:
        raise AnymailWebhookValidationFailure("Mailgun webhook token was already used for another message")


def inbound_email_received(sender: object, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    """The anymail ``inbound`` signal: the raw MIME goes through the same door as SMTP and IMAP."""
    message = event.message
    if message is None:
        return
    recipient = message.envelope_recipient or ""
    email_receive(
        raw=message.as_bytes(),
        source=QuarantinedEmail.Source.WEBHOOK,
        envelope_sender=message.envelope_sender or "",
        recipients=(recipient,) if recipient else (),
    )
