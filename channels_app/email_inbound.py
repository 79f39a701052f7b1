"""Receiving email: every door (SMTP listener, IMAP poller, provider webhook) calls ``email_receive``."""

from __future__ import annotations

import logging

from channels_app.email_parsing import UnparseableEmailError, parse_email
from channels_app.models import QuarantinedEmail
from tickets.services.ingest import IngestResult, ingest

logger = logging.getLogger(__name__)


def email_receive(
    *, raw: bytes, source: str, envelope_sender: str = "", recipients: tuple[str, ...] = ()
) -> IngestResult | QuarantinedEmail:
    """Ingest one raw email; a message that cannot be parsed is quarantined whole, never dropped."""
    try:
        inbound = parse_email(raw, recipients=recipients)
    except UnparseableEmailError as error:
        logger.warning("quarantined %s email from %r: %s", source, envelope_sender, error)
        return QuarantinedEmail.objects.create(
            source=source,
            envelope_sender=envelope_sender[:320],
            envelope_recipients=list(recipients),
            raw_message=raw,
            reason=str(error),
        )
    return ingest(inbound=inbound)
