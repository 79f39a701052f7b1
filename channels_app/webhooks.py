"""Inbound email from a provider (Mailgun, through django-anymail), handed to email_receive.

Anymail checks the signature (HMAC-SHA256 of timestamp + token under the webhook signing key)
and answers 400 to a forged or unsigned post. On top of that a post whose timestamp is older
than MAILGUN_WEBHOOK_TOLERANCE_SECONDS is refused, so a captured post cannot be replayed later;
a legitimate retry of the same message is recognised by its Message-ID and recorded once.
"""

from __future__ import annotations

import time
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from django.conf import settings
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
