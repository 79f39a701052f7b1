"""Turning a raw RFC 5322 message (any charset, any transfer encoding) into an InboundMessage."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from customers.choices import IdentityKind
from tickets.choices import Channel
from tickets.services.ingest import InboundAttachment, InboundMessage

MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024
MAX_TOTAL_ATTACHMENT_BYTES = 30 * 1024 * 1024
REFUSED_EXTENSIONS = frozenset({".exe", ".bat", ".cmd", ".com", ".js", ".jse", ".vbs", ".scr", ".msi", ".ps1", ".jar"})
REFUSED_TYPES = frozenset({"application/x-msdownload", "application/x-dosexec", "application/x-msdos-program"})
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_PLUS_TICKET = re.compile(r"\+t(\d{3,12})@", re.IGNORECASE)
_AUTOMATED_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@", "donotreply@")


class UnparseableEmailError(ValueError):
    """The message cannot become a ticket message; it goes to quarantine with this reason."""


def _decoded_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, errors="replace")
        except LookupError:
            content = payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(str(value))) if value else ()


def is_automated(message: EmailMessage, sender: str) -> bool:
    """Auto-replies, bounces and list mail: never acknowledged, so two autoresponders cannot loop."""
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return_path = message.get("Return-Path")
    return (
        auto_submitted not in {"", "no"}
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or message.get("X-Auto-Response-Suppress") is not None
        or message.get("List-Id") is not None
        or message.get("List-Unsubscribe") is not None
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or (return_path is not None and str(return_path).strip() in {"<>", ""})
        or message.get_content_type() == "multipart/report"
        or sender.lower().startswith(_AUTOMATED_SENDERS)
    )


def _attachments(message: EmailMessage) -> tuple[InboundAttachment, ...]:
    kept: list[InboundAttachment] = []
    total = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        is_inline_image = disposition == "inline" and content_type.startswith("image/")
        if disposition != "attachment" and not is_inline_image:
            continue
        filename = part.get_filename() or ("inline-image" if is_inline_image else "attachment")
        content = part.get_payload(decode=True) or b""
        reason = ""
        extension = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
        if extension in REFUSED_EXTENSIONS or content_type in REFUSED_TYPES:
            reason = f"Files of type {extension or content_type} are not accepted."
        elif len(content) > MAX_ATTACHMENT_BYTES:
            reason = f"Larger than the {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB limit per file."
        elif total + len(content) > MAX_TOTAL_ATTACHMENT_BYTES:
            reason = f"The message's attachments exceed {MAX_TOTAL_ATTACHMENT_BYTES // (1024 * 1024)} MB in all."
        if not reason:
            total += len(content)
        kept.append(
            InboundAttachment(
                filename=filename,
                content_type=content_type,
                content=b"" if reason else content,
                content_id=str(part.get("Content-ID", "")).strip("<> "),
                is_inline=is_inline_image,
                refusal_reason=reason,
            )
        )
    return tuple(kept)


def parse_email(raw: bytes, *, recipients: tuple[str, ...] = ()) -> InboundMessage:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the parser is lenient; anything it raises is a broken message
        raise UnparseableEmailError(f"The message could not be read: {error}") from error
    if message.defects and not message.get("From"):
        raise UnparseableEmailError("The message has no readable headers.")
    try:
        addresses = getaddresses([str(message.get("From", ""))])
    except Exception as error:
        raise UnparseableEmailError(f"The From header could not be read: {error}") from error
    name, sender = addresses[0] if addresses else ("", "")
    if not sender or "@" not in sender:
        raise UnparseableEmailError("The message has no sender address (From).")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    body_html = _decoded_text(html) if html is not None else ""
    body_text = _decoded_text(plain) if plain is not None else ""
    if not body_text and body_html:
        from django.utils.html import strip_tags

        body_text = strip_tags(body_html).strip()
    ticket_hint = None
    for address in (*recipients, *(str(v) for v in message.get_all("To", []) + message.get_all("Cc", []))):
        match = _PLUS_TICKET.search(address)
        if match:
            ticket_hint = int(match.group(1))
            break
    references = _message_ids(message.get("References")) + _message_ids(message.get("In-Reply-To"))
    message_ids = _message_ids(message.get("Message-ID"))
    return InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=IdentityKind.EMAIL,
        sender_address=sender.lower(),
        sender_name=name,
        subject=str(message.get("Subject", "")).strip(),
        body_text=body_text.strip(),
        body_html=body_html,
        external_message_id=message_ids[0] if message_ids else None,
        references=tuple(dict.fromkeys(references)),
        ticket_number_hint=ticket_hint,
        is_automated=is_automated(message, sender),
        attachments=_attachments(message),
    )
