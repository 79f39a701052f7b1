"""Reading existing mailboxes over IMAP: each new message (by UID) goes through email_receive once.

The mailbox row remembers the folder's UIDVALIDITY and the last UID taken. Each message is
ingested in one transaction with the step of last_seen_uid past it, under a row lock on the
mailbox, so a crash, a restart or two overlapping polls never re-ingest or skip a message. When
the server renumbers the folder (a new UIDVALIDITY) the poll starts again from the first
message; what was already taken is recognised by its Message-ID and not recorded twice.

The size of each new message is asked for before any is fetched. One larger than
EMAIL_INBOUND_MAX_MESSAGE_BYTES (the SMTP listener's limit too) is never downloaded: only its
headers are, and they go to quarantine with the reason, and the poll moves past it like any other,
so one huge message can neither exhaust the worker nor hold up the mailbox.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from channels_app.email_inbound import email_quarantine_headers_only, email_receive
from channels_app.models import ImapMailbox, QuarantinedEmail

logger = logging.getLogger(__name__)
IMAP_TIMEOUT_SECONDS = 30
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class ImapPollError(Exception):
    """The server refused or failed us; recorded on the mailbox as last_error."""


@dataclass(frozen=True)
class MailboxPollResult:
    mailbox_id: int
    received: int
    error: str = ""


def _connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    if mailbox.use_ssl:
        return imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_SECONDS
        )
    return imaplib.IMAP4(mailbox.host, mailbox.port, timeout=IMAP_TIMEOUT_SECONDS)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select(client: imaplib.IMAP4, folder: str) -> int:
    status, _data = client.select(_quoted(folder))
    if status != "OK":
        raise ImapPollError(f"Could not open folder {folder!r}.")
    _name, values = client.response("UIDVALIDITY")
    if values and values[0]:
        return int(values[0])
    raise ImapPollError(f"The server sent no UIDVALIDITY for {folder!r}.")


def _new_uids(client: imaplib.IMAP4, after: int) -> list[int]:
    status, data = client.uid("SEARCH", None, f"UID {after + 1}:*")
    if status != "OK":
        raise ImapPollError("UID SEARCH failed.")
    uids = sorted({int(value) for value in b" ".join(item for item in data if item).split()})
    return [uid for uid in uids if uid > after]  # "n:*" always includes the highest UID, even below n


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    """The RFC822.SIZE of each message, in one command, before any message is fetched."""
    if not uids:
        return {}
    status, data = client.uid("FETCH", ",".join(str(uid) for uid in uids), "(RFC822.SIZE)")
    if status != "OK":
        raise ImapPollError("UID FETCH (RFC822.SIZE) failed.")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes  # an expunged message is missing


def _fetch(client: imaplib.IMAP4, uid: int, items: str = "(RFC822)") -> bytes | None:
    status, data = client.uid("FETCH", str(uid), items)
    if status != "OK":
        raise ImapPollError(f"UID FETCH {uid} failed.")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    return None  # expunged between SEARCH and FETCH


def _quarantine_too_large(*, headers: bytes, size: int) -> None:
    limit_mb = settings.EMAIL_INBOUND_MAX_MESSAGE_BYTES / (1024 * 1024)
    reason = f"The message is larger than {limit_mb:g} MB ({size:,} bytes); not fetched. Only its headers are kept."
    logger.warning("quarantined imap email: %s", reason)
    email_quarantine_headers_only(headers=headers, source=QuarantinedEmail.Source.IMAP, reason=reason)


def _take(*, mailbox_id: int, uid_validity: int, uid: int, raw: bytes | None, too_large: int | None = None) -> bool:
    """Ingest one message and advance past it, atomically; False if another poll already took it.

    With ``too_large`` (the message's size, over the limit) ``raw`` is only its headers: they are quarantined.
    """
    with transaction.atomic():
        mailbox = ImapMailbox.objects.select_for_update().get(pk=mailbox_id)
        if mailbox.uid_validity != uid_validity or uid <= mailbox.last_seen_uid:
            return False
        if raw is not None and too_large is not None:
            _quarantine_too_large(headers=raw, size=too_large)
        elif raw is not None:
            email_receive(raw=raw, source=QuarantinedEmail.Source.IMAP, envelope_sender="", recipients=())
        mailbox.last_seen_uid = uid
        mailbox.save(update_fields=["last_seen_uid", "updated_at"])
    return True


def _start_epoch(*, mailbox_id: int, uid_validity: int) -> None:
    """Remember the folder's UIDVALIDITY; a different one means its UIDs were renumbered: start over."""
    with transaction.atomic():
        mailbox = ImapMailbox.objects.select_for_update().get(pk=mailbox_id)
        if mailbox.uid_validity != uid_validity:
            logger.warning(
                "mailbox %s: UIDVALIDITY changed from %s to %s; reading the folder again from the start",
                mailbox.name,
                mailbox.uid_validity,
                uid_validity,
            )
            mailbox.uid_validity = uid_validity
            mailbox.last_seen_uid = 0
            mailbox.save(update_fields=["uid_validity", "last_seen_uid", "updated_at"])


def _record_outcome(*, mailbox_id: int, error: str) -> None:
    ImapMailbox.objects.filter(pk=mailbox_id).update(
        last_polled_at=timezone.now(), last_error=error[:2000], updated_at=timezone.now()
    )


def mailbox_poll(*, mailbox_id: int) -> MailboxPollResult:
    """Ingest every message that arrived in the mailbox since the last poll (at most a batch)."""
    mailbox = ImapMailbox.objects.get(pk=mailbox_id)
    received = 0
    client: imaplib.IMAP4 | None = None
    try:
        client = _connect(mailbox)
        try:
            client.login(mailbox.username, mailbox.password)
        except imaplib.IMAP4.error as error:
            raise ImapPollError(f"Login failed: {error}") from error
        uid_validity = _select(client, mailbox.folder)
        _start_epoch(mailbox_id=mailbox.pk, uid_validity=uid_validity)
        mailbox.refresh_from_db(fields=["last_seen_uid"])
        uids = _new_uids(client, mailbox.last_seen_uid)[: settings.IMAP_POLL_BATCH_SIZE]
        sizes = _sizes(client, uids)
        for uid in uids:
            size = sizes.get(uid)
            if size is not None and size > settings.EMAIL_INBOUND_MAX_MESSAGE_BYTES:
                headers = _fetch(client, uid, "(BODY.PEEK[HEADER])")
                taken = _take(mailbox_id=mailbox.pk, uid_validity=uid_validity, uid=uid, raw=headers, too_large=size)
            else:
                taken = _take(mailbox_id=mailbox.pk, uid_validity=uid_validity, uid=uid, raw=_fetch(client, uid))
            if taken:
                received += 1
    except (ImapPollError, imaplib.IMAP4.error, OSError) as error:
        message = str(error) or type(error).__name__
        logger.warning("mailbox %s: poll failed: %s", mailbox.name, message)
        _record_outcome(mailbox_id=mailbox.pk, error=message)
        return MailboxPollResult(mailbox_id=mailbox.pk, received=received, error=message)
    except DatabaseError:
        # Nothing past the last committed message was taken; the next poll goes on from there.
        logger.exception("mailbox %s: could not record a message; will retry", mailbox.name)
        raise
    finally:
        if client is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()
    _record_outcome(mailbox_id=mailbox.pk, error="")
    return MailboxPollResult(mailbox_id=mailbox.pk, received=received)


def imap_mailbox_ids_to_poll() -> list[int]:
    return list(ImapMailbox.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
