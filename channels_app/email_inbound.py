"""Receiving email: every door (SMTP listener, IMAP poller, provider webhook) calls ``email_receive``.

Where each kind of message lands:

* a customer's mail goes through the one door in (``tickets.services.ingest``): it joins the
  ticket it answers or opens a new one;
* an auto-reply, out-of-office or list mail goes the same way but is never acknowledged;
* a bounce (a delivery report) never opens a ticket: when it names a message we stored (by
  In-Reply-To / References, or the Message-ID of the original inside the report) it becomes an
  internal note "Delivery failed: ..." on that message's ticket, so the agent knows the customer
  did not get the reply; otherwise it is quarantined as "bounce for an unknown message";
* a message that cannot be read, or that the database refuses to store (a value it cannot hold),
  is quarantined whole (raw bytes kept), never dropped. An admin can retry it from the quarantine
  page once the cause is fixed. A passing failure (the database unreachable) is raised instead, so
  the sender or the poller tries again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from email import policy
from email.parser import BytesHeaderParser

from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from channels_app.email_parsing import DeliveryReport, UnparseableEmailError, header_text, parse_email, storable_text
from channels_app.models import QuarantinedEmail
from helpdesk.core.exceptions import ApplicationError
from tickets.choices import Channel, MessageDirection
from tickets.models import Message
from tickets.services.conversation import ticket_add_automatic_note
from tickets.services.ingest import IngestResult, ingest

logger = logging.getLogger(__name__)
BOUNCE_FOR_UNKNOWN_MESSAGE = "bounce for an unknown message"
NULL_SENDERS = frozenset({"<>"})
# Storage errors that the same message meets again on every retry. Another database error (the
# connection lost, a deadlock) passes, and is raised so the message is offered again.
_PERMANENT_STORAGE_ERRORS = (DataError, IntegrityError, ValueError)


class _Refused(Exception):
    """Internal: the message goes to quarantine with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bounce_note(report: DeliveryReport) -> IngestResult:
    """Record a delivery report on the ticket of the message it is about; raises _Refused if there is none."""
    existing = (
        Message.objects.select_related("ticket")
        .filter(channel=Channel.EMAIL, external_message_id=report.external_message_id)
        .first()
    )
    if existing is not None:
        return IngestResult(ticket=existing.ticket, message=existing, is_new_ticket=False, is_duplicate=True)
    original = (
        Message.objects.filter(channel=Channel.EMAIL, external_message_id__in=list(report.original_message_ids))
        .exclude(direction=MessageDirection.NOTE)
        .order_by("-created_at")
        .first()
        if report.original_message_ids
        else None
    )
    if original is None:
        raise _Refused(BOUNCE_FOR_UNKNOWN_MESSAGE)
    note = ticket_add_automatic_note(
        ticket_id=original.ticket_id,
        channel=Channel.EMAIL,
        body_text=report.summary,
        external_message_id=report.external_message_id,
        references=report.original_message_ids,
        sender_address=report.sender_address,
    )
    return IngestResult(ticket=note.ticket, message=note, is_new_ticket=False, is_duplicate=False)


def _process(*, raw: bytes, envelope_sender: str, recipients: tuple[str, ...]) -> IngestResult:
    """Parse and record one message; raises _Refused when it belongs in quarantine."""
    try:
        parsed = parse_email(raw, recipients=recipients)
    except UnparseableEmailError as error:
        raise _Refused(str(error)) from error
    except Exception as error:  # a parser bug must not lose the mail: keep it for a retry after the fix
        logger.exception("the email parser failed")
        raise _Refused(f"The message could not be read ({type(error).__name__}: {error}).") from error
    if isinstance(parsed, DeliveryReport):
        try:
            with transaction.atomic():
                return _bounce_note(parsed)
        except IntegrityError:
            # The same report arriving twice at once: the unique (channel, Message-ID) kept one.
            existing = Message.objects.select_related("ticket").get(
                channel=Channel.EMAIL, external_message_id=parsed.external_message_id
            )
            return IngestResult(ticket=existing.ticket, message=existing, is_new_ticket=False, is_duplicate=True)
    if envelope_sender.strip() in NULL_SENDERS and not parsed.is_automated:
        parsed = replace(parsed, is_automated=True)  # MAIL FROM:<> is reserved for automatic mail (RFC 5321)
    return ingest(inbound=parsed)


def _process_or_refuse(*, raw: bytes, envelope_sender: str, recipients: tuple[str, ...]) -> IngestResult:
    """_process; a storage error that would recur on every retry raises _Refused.

    Every write _process makes is inside an atomic block of its own (ingest's, or the bounce note's):
    a transaction when nothing encloses it (the SMTP listener), a savepoint inside a caller's (the IMAP
    poller's). Either is rolled back before the message is quarantined, so the quarantine row is
    written in a transaction the failed statement has not broken.
    """
    try:
        return _process(raw=raw, envelope_sender=envelope_sender, recipients=recipients)
    except _PERMANENT_STORAGE_ERRORS as error:
        logger.exception("an inbound email could not be stored")
        raise _Refused(f"The message could not be stored ({type(error).__name__}: {str(error).strip()}).") from error


def _fitted(field: str, value: str) -> str:
    """A value as the QuarantinedEmail column can hold it: no NULs, cut to the column's length."""
    return storable_text(value)[: QuarantinedEmail._meta.get_field(field).max_length]


def _headers_for_review(raw: bytes) -> tuple[str, str]:
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        return _fitted("header_from", header_text(headers, "From")), _fitted("subject", header_text(headers, "Subject"))
    except Exception:
        return "", ""


def email_quarantine_headers_only(*, headers: bytes, source: str, reason: str) -> QuarantinedEmail:
    """Keep the headers of a message too large to fetch, for an admin to see; it cannot be retried."""
    return _quarantine(raw=headers, source=source, envelope_sender="", recipients=(), reason=reason, headers_only=True)


def _quarantine(
    *,
    raw: bytes,
    source: str,
    envelope_sender: str,
    recipients: tuple[str, ...],
    reason: str,
    headers_only: bool = False,
) -> QuarantinedEmail:
    """Keep the raw message for an admin; the same bytes arriving again are kept once."""
    digest = hashlib.sha256(raw).hexdigest()
    header_from, subject = _headers_for_review(raw)
    try:
        with transaction.atomic():
            quarantined, _created = QuarantinedEmail.objects.get_or_create(
                digest=digest,
                defaults={
                    "source": source,
                    "envelope_sender": _fitted("envelope_sender", envelope_sender),
                    "envelope_recipients": [storable_text(recipient) for recipient in recipients],
                    "raw_message": raw,
                    "reason": storable_text(reason),
                    "size": len(raw),
                    "is_headers_only": headers_only,
                    "header_from": header_from,
                    "subject": subject,
                },
            )
    except IntegrityError:
        quarantined = QuarantinedEmail.objects.get(digest=digest)
    return quarantined


def email_receive(
    *, raw: bytes, source: str, envelope_sender: str = "", recipients: tuple[str, ...] = ()
) -> IngestResult | QuarantinedEmail:
    """Ingest one raw email; a message that cannot be recorded is quarantined whole, never dropped."""
    try:
        return _process_or_refuse(raw=raw, envelope_sender=envelope_sender, recipients=recipients)
    except _Refused as refused:
        logger.warning("quarantined %s email from %r: %s", source, envelope_sender, refused.reason)
        return _quarantine(
            raw=raw, source=source, envelope_sender=envelope_sender, recipients=recipients, reason=refused.reason
        )


@transaction.atomic
def quarantined_email_retry(*, quarantined_email_id: int, actor: User) -> QuarantinedEmail:
    """Run a quarantined message through email_receive again; resolved when it is now recorded."""
    quarantined = QuarantinedEmail.objects.select_for_update().get(pk=quarantined_email_id)
    if quarantined.is_resolved:
        raise ApplicationError(_("This email was already processed."))
    if quarantined.is_headers_only:
        raise ApplicationError(
            _("Only this email's headers were kept (it was too large to fetch); it cannot be retried from here.")
        )
    try:
        result = _process_or_refuse(
            raw=bytes(quarantined.raw_message),
            envelope_sender=quarantined.envelope_sender,
            recipients=tuple(quarantined.envelope_recipients),
        )
    except _Refused as refused:
        reason = storable_text(refused.reason)
        if reason != quarantined.reason:
            quarantined.reason = reason
            quarantined.save(update_fields=["reason", "updated_at"])
        return quarantined
    quarantined.is_resolved = True
    quarantined.resolved_at = timezone.now()
    quarantined.resolved_by = actor
    quarantined.resolved_message = result.message
    quarantined.save(update_fields=["is_resolved", "resolved_at", "resolved_by", "resolved_message", "updated_at"])
    return quarantined
