"""The inbound SMTP listener: accepts mail on SMTP_INBOUND_PORT and hands each message to email_receive.

A message is answered 250 only after it is committed (as a ticket message or in
quarantine); any failure answers 451 so the sending server retries and nothing is lost. While the
workers are behind on acknowledgements, a message waits before it is taken (channels_app.inbound_pacing).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from channels_app.email_inbound import email_receive
from channels_app.inbound_pacing import InboundPacing, inbound_pacing_from_settings
from channels_app.models import QuarantinedEmail
from tickets.services.ingest import IngestResult

logger = logging.getLogger(__name__)


# Django checks a kept connection (CONN_HEALTH_CHECKS) before each request: for a listener taking a message
# every few milliseconds, a round trip per message. A connection that has just served a message is known to
# work; it is checked again only after this long without one.
CONNECTION_RECHECK_IDLE_SECONDS = 5.0
_ingest_thread = threading.local()


def _before_message() -> None:
    used_at = getattr(_ingest_thread, "connection_used_at", None)
    if used_at is None or time.monotonic() - used_at > CONNECTION_RECHECK_IDLE_SECONDS:
        close_old_connections()  # as before a request: too old closed, a kept one checked on its next use


def _after_message() -> None:
    close_old_connections()  # a connection that failed (and does not answer) or outlived CONN_MAX_AGE is closed
    if connection.connection is not None:
        connection.health_check_done = True  # it has just served this message
        _ingest_thread.connection_used_at = time.monotonic()


def _receive(raw: bytes, sender: str, recipients: tuple[str, ...]) -> IngestResult | QuarantinedEmail:
    return email_receive(raw=raw, source=QuarantinedEmail.Source.SMTP, envelope_sender=sender, recipients=recipients)


def _receive_blocking(raw: bytes, sender: str, recipients: tuple[str, ...]) -> str:
    _before_message()
    try:
        try:
            result = _receive(raw, sender, recipients)
        except (InterfaceError, OperationalError):
            if connection.connection is not None and connection.is_usable():
                raise
            # The database dropped the kept connection (a restart, an idle timeout) since its last message:
            # take the message again on a new one. Ingest recognises a message it already recorded.
            logger.warning("the database connection was lost; taking the message again on a new one")
            connection.close()
            result = _receive(raw, sender, recipients)
    finally:
        _after_message()
    if isinstance(result, QuarantinedEmail):
        return "250 2.0.0 Message accepted for review"
    return f"250 2.0.0 Message accepted as ticket #{result.ticket.number}"


class InboundEmailHandler:
    def __init__(self, *, workers: int = 8, pacing: InboundPacing | None = None) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp-ingest")
        self.pacing = pacing if pacing is not None else inbound_pacing_from_settings()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        recipients = tuple(str(r) for r in envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            await self.pacing.wait_for_room()
            return await loop.run_in_executor(
                self.executor, _receive_blocking, raw, str(envelope.mail_from or ""), recipients
            )
        except Exception:
            logger.exception("could not store an inbound email from %r; asking the sender to retry", envelope.mail_from)
            return "451 4.3.0 Temporary failure storing the message; please retry"


def smtp_controller(
    *,
    host: str,
    port: int,
    max_message_bytes: int | None = None,
    pacing: InboundPacing | None = None,
    **kwargs: Any,
) -> Controller:
    return Controller(
        InboundEmailHandler(pacing=pacing),
        hostname=host,
        port=port,
        data_size_limit=settings.EMAIL_INBOUND_MAX_MESSAGE_BYTES if max_message_bytes is None else max_message_bytes,
        decode_data=False,
        server_hostname="helpdesk",
        ready_timeout=10,
        **kwargs,
    )
