"""Turning a raw RFC 5322 message (any charset, any transfer encoding) into an InboundMessage.

A delivery report (a bounce) becomes a DeliveryReport instead: it is about a message we
sent, not something a customer wrote, so it never opens a ticket (see email_inbound).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import cast

from charset_normalizer import from_bytes
from django.conf import settings

from channels_app.quoting import split_quoted_text
from customers.choices import IdentityKind
from tickets.choices import Channel
from tickets.models import Message as StoredMessage
from tickets.services.ingest import InboundAttachment, InboundMessage

REFUSED_EXTENSIONS = frozenset(
    {".exe", ".bat", ".cmd", ".com", ".cpl", ".dll", ".hta", ".js", ".jse", ".lnk", ".msi", ".msp", ".pif"}
    | {".ps1", ".reg", ".scr", ".vb", ".vbe", ".vbs", ".wsf", ".wsh", ".jar"}
)
REFUSED_TYPES = frozenset(
    {"application/x-msdownload", "application/x-dosexec", "application/x-msdos-program", "application/x-ms-installer"}
)


class _RememberingPolicy(EmailPolicy):
    """``email.policy.default``, remembering the headers it has parsed.

    Reading one multipart message asks for its parts' Content-Type twenty times or more (finding the
    body, walking the parts, each part's disposition), and the default policy parses the header
    again each time. Header objects are immutable, so one parse serves every ask. Only short values
    are kept, so a sender of huge headers cannot fill the memory.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):
            return value
        if len(value) > _REMEMBERED_HEADER_CHARS:
            return policy.default.header_fetch_parse(name, value)
        return _parsed_header(name, value)


_REMEMBERED_HEADER_CHARS = 1000


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> str:
    return policy.default.header_fetch_parse(name, value)


PARSING_POLICY = _RememberingPolicy()
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# What the columns hold: a longer Message-ID is kept as a digest of itself, a longer sender is refused.
_MAX_MESSAGE_ID_CHARS = StoredMessage._meta.get_field("external_message_id").max_length
_MAX_ADDRESS_CHARS = StoredMessage._meta.get_field("sender_address").max_length
_PLUS_TICKET = re.compile(r"\+t(\d{1,12})@", re.IGNORECASE)
_AUTOMATED_LOCAL_PARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")
_BOUNCE_LOCAL_PARTS = ("mailer-daemon", "postmaster")
_AUTOMATED_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office(?: reply| autoreply)?"
    r"|abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|resposta automática"
    r"|risposta automatica|автоматический ответ|自动回复|自動回覆|自動返信)\s*:",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|mail delivery (?:failed|failure|subsystem)|delivery status notification"
    r"|delivery failure|failure notice|delivery has failed|non[- ]?delivery",
    re.IGNORECASE,
)
_EMBEDDED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
# Declared charsets that lie in a known direction: each is read as the superset mail clients really send.
_CHARSET_READ_AS = {
    "gb2312": ("gb18030",),
    "gb_2312-80": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "x-sjis": ("cp932",),
    "sjis": ("cp932",),
    "euc-kr": ("cp949",),
    "ks_c_5601-1987": ("cp949",),
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "us-ascii": ("ascii", "cp1252", "latin-1"),
    "ascii": ("ascii", "cp1252", "latin-1"),
    "tis-620": ("cp874",),
    "windows-874": ("cp874",),
    "iso-8859-8-i": ("iso-8859-8",),
}
# Charsets in which any byte sequence decodes: UTF-8 bytes under one of these labels are a wrong label.
_SINGLE_BYTE_LATIN = frozenset({"iso-8859-1", "latin1", "us-ascii", "ascii", "windows-1252", "iso-8859-15"})


class UnparseableEmailError(ValueError):
    """The message cannot become a ticket message; it goes to quarantine with this reason."""


@dataclass(frozen=True)
class DeliveryReport:
    """A bounce or delay notice about a message we sent."""

    external_message_id: str
    original_message_ids: tuple[str, ...]
    summary: str
    sender_address: str


# --- Text -------------------------------------------------------------------------------------


def storable_text(text: str) -> str:
    """Text as PostgreSQL can store it: a text column refuses NUL (U+0000), wherever a sender put one."""
    return text.replace("\x00", "")


def decode_text(payload: bytes, declared: str | None) -> str:
    """Bytes to text under the declared charset, or the one the bytes are really in when the label lies."""
    label = (declared or "").strip().strip('"').lower()
    if payload.startswith(codecs.BOM_UTF8):
        return payload[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if label in _SINGLE_BYTE_LATIN and not payload.isascii():
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
    candidates = [*_CHARSET_READ_AS.get(label, ()), label] if label else []
    for candidate in candidates:
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(payload).best()
    if best is not None:
        return str(best)
    for candidate in candidates:
        try:
            return payload.decode(candidate, errors="replace")
        except LookupError:
            continue
    return payload.decode("cp1252", errors="replace")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", errors="surrogateescape")
    declared = part.get_content_charset()
    if declared is None and part.get_content_type() == "text/html":
        match = _META_CHARSET.search(payload[:4096])
        declared = match.group(1).decode("ascii", errors="ignore") if match else None
    text = decode_text(payload, declared)
    if part.get_content_type() == "text/plain" and str(part.get_param("format", "")).lower() == "flowed":
        text = unwrap_flowed(text, delete_space=str(part.get_param("delsp", "")).lower() == "yes")
    return storable_text(text)


def unwrap_flowed(text: str, *, delete_space: bool = False) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next line of the same quote depth."""
    # Written out as fragments joined once, the spaces ending the line being built only counted: growing a
    # string (or stripping it) for every flowed line would make a long flowed paragraph cost quadratic time.
    fragments: list[str] = []
    depth = -1  # quote depth of the line being built; -1 before the first line
    line_start = 0  # index of its first fragment of text
    visible_length = 0  # of its text up to the last non-space character
    trailing_spaces = 0  # after that character, not yet in the fragments
    for raw_line in text.replace("\r\n", "\n").split("\n"):
        line_depth = len(raw_line) - len(raw_line.lstrip(">"))
        content = raw_line[line_depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        is_signature = visible_length == 2 and "".join(fragments[line_start:]) == "--"
        if line_depth == depth and trailing_spaces and not is_signature:
            if delete_space:
                trailing_spaces -= 1
        else:
            fragments.append(" " * trailing_spaces)
            if depth >= 0:
                fragments.append("\n")
            fragments.append(">" * line_depth + " " if line_depth else "")
            depth, line_start, visible_length, trailing_spaces = line_depth, len(fragments), 0, 0
        visible = content.rstrip(" ")
        if visible:
            fragments.append(" " * trailing_spaces + visible)
            visible_length += trailing_spaces + len(visible)
            trailing_spaces = len(content) - len(visible)
        else:
            trailing_spaces += len(content)
    fragments.append(" " * trailing_spaces)
    return "".join(fragments)


class _HtmlToText(HTMLParser):
    """Readable text from an HTML mail: paragraphs and line breaks kept, blockquotes as "> " lines."""

    _BLOCK = frozenset(
        {"div", "ul", "ol", "table", "tr", "pre", "address", "section", "article", "header", "footer", "dl", "dt"}
        | {"dd", "center", "form", "fieldset", "figure", "hr", "nav", "main", "aside", "tbody", "thead"}
    )
    _PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
    _SKIP = frozenset({"head", "style", "script", "title", "template", "xml"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current = ""
        self.current_depth = 0
        self.depth = 0
        self.skipping = 0
        self.preformatted = 0
        self.list_counters: list[int | None] = []
        self.word_lines: list[bool] = []

    def _break(self, *, paragraph: bool = False, line_break: bool = False) -> None:
        if self.current.strip():
            self.lines.append("> " * self.current_depth + self.current.strip())
        elif line_break and self.lines:
            self.lines.append("")  # <br> on an empty line is a blank line (Gmail writes <div><br></div>)
        self.current = ""
        if paragraph and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag == "br":
            self._break(line_break=True)
        elif tag in self._PARAGRAPH:
            # Word and Outlook write every line as a MsoNormal paragraph with no margin, and a
            # blank line as an empty one.
            is_word_line = "mso" in (dict(attrs).get("class") or "").lower()
            self.word_lines.append(is_word_line)
            self._break(paragraph=not is_word_line)
        elif tag == "blockquote":
            self._break(paragraph=True)
            self.depth += 1
        elif tag in {"ul", "ol"}:
            self._break()
            self.list_counters.append(0 if tag == "ol" else None)
        elif tag == "li":
            self._break()
            counter = self.list_counters[-1] if self.list_counters else None
            if counter is None:
                self.current = "- "
            else:
                self.list_counters[-1] = counter + 1
                self.current = f"{counter + 1}. "
            self.current_depth = self.depth
        elif tag in {"td", "th"}:
            if self.current.strip():
                self.current += "  "
        elif tag in self._BLOCK:
            self._break()
        if tag == "pre":
            self.preformatted += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break(line_break=True)
        elif tag == "hr":
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._PARAGRAPH:
            is_word_line = self.word_lines.pop() if self.word_lines else False
            self._break(paragraph=not is_word_line, line_break=is_word_line)
        elif tag == "blockquote":
            self._break(paragraph=True)
            self.depth = max(0, self.depth - 1)
        elif tag in {"ul", "ol"}:
            self._break()
            if self.list_counters:
                self.list_counters.pop()
        elif tag in self._BLOCK or tag == "li":
            self._break()
        if tag == "pre":
            self.preformatted = max(0, self.preformatted - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.preformatted:
            chunks = data.replace("\xa0", " ").split("\n")
            for index, chunk in enumerate(chunks):
                if index:
                    self._break()
                if not self.current:
                    self.current_depth = self.depth
                self.current += chunk
            return
        text = re.sub(r"[\s\xa0]+", " ", data)
        if not self.current.strip():
            text = text.lstrip()
            if not text:
                return
            self.current_depth = self.depth
        self.current += text

    def text(self) -> str:
        self._break()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    return parser.text()


# --- Headers ----------------------------------------------------------------------------------


def _undecodable_to_text(value: str) -> str:
    """A header with raw 8-bit bytes (no RFC 2047): the bytes back, then read as their real charset."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_text(value.encode("utf-8", errors="surrogateescape"), None)


def header_text(message: Message, name: str) -> str:
    """One header as text, whatever its encoding; never raises for a malformed value."""
    try:
        value = message.get(name)
    except Exception:  # a header the registry cannot parse: read the raw value instead
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), None)
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        with contextlib.suppress(Exception):  # a broken encoded word is left as written
            text = str(make_header(decode_header(text)))
    return " ".join(storable_text(_undecodable_to_text(text)).split())


def _storable_message_id(message_id: str) -> str:
    """A Message-ID too long for the column becomes a digest of itself: a second delivery of the
    message, or a reply naming it, still finds it."""
    message_id = storable_text(message_id)
    if len(message_id) <= _MAX_MESSAGE_ID_CHARS:
        return message_id
    return f"<{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}@truncated.invalid>"


def _message_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(_storable_message_id(found) for found in _MESSAGE_ID.findall(storable_text(str(value))))


def _sender(message: Message) -> tuple[str, str]:
    try:
        addresses = getaddresses([header_text(message, "From")])
    except Exception as error:
        raise UnparseableEmailError(f"The From header could not be read: {error}") from error
    name, address = addresses[0] if addresses else ("", "")
    address = address.strip().lower()
    if len(address) > _MAX_ADDRESS_CHARS:
        raise UnparseableEmailError(
            f"The sender address (From) is {len(address)} characters long; at most {_MAX_ADDRESS_CHARS} can be kept."
        )
    return name.strip(), address


def _fallback_message_id(message: Message, raw: bytes) -> str:
    """A stable id for mail without a Message-ID, so a second delivery of it is still recognised."""
    separator = raw.find(b"\n\n") if b"\r\n\r\n" not in raw else raw.find(b"\r\n\r\n")
    body = raw[separator:].replace(b"\r\n", b"\n").strip() if separator >= 0 else b""
    identity = "|".join(header_text(message, name) for name in ("From", "Date", "Subject", "To")).encode()
    digest = hashlib.sha256(identity + b"\n" + body).hexdigest()[:40]
    return f"<{digest}@no-message-id.invalid>"


def _local_part(address: str) -> str:
    return address.partition("@")[0].lower()


_AUTOMATED_HEADERS = (
    "X-Auto-Response-Suppress",
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Reply",
    "X-Failed-Recipients",
)


def is_automated(message: Message, sender: str) -> bool:
    """Auto-replies, bounces and list mail: never acknowledged, so two autoresponders cannot loop (RFC 3834)."""
    auto_submitted = header_text(message, "Auto-Submitted").lower()
    precedence = header_text(message, "Precedence").lower()
    # Presence is enough for these: ``in`` reads the header names without parsing any value.
    return (
        auto_submitted not in {"", "no"}
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or any(name in message for name in _AUTOMATED_HEADERS)
        or ("Return-Path" in message and header_text(message, "Return-Path") in {"<>", ""})
        or message.get_content_type() == "multipart/report"
        or _local_part(sender).startswith(_AUTOMATED_LOCAL_PARTS)
        or bool(_AUTOMATED_SUBJECT.match(header_text(message, "Subject")))
    )


# --- Delivery reports (bounces) -----------------------------------------------------------------


def _is_bounce(message: Message, sender: str) -> bool:
    if message.get_content_type() == "multipart/report":
        return str(message.get_param("report-type", "")).lower() == "delivery-status"
    if "X-Failed-Recipients" in message:
        return True
    subject = header_text(message, "Subject")
    null_sender = header_text(message, "Return-Path") == "<>"
    from_daemon = _local_part(sender) in _BOUNCE_LOCAL_PARTS or not sender
    return bool(_BOUNCE_SUBJECT.search(subject)) and (from_daemon or null_sender)


def _report_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    parser = BytesParser(policy=PARSING_POLICY)
    return [parser.parsebytes(block.strip().encode("utf-8", "surrogateescape")) for block in text.split("\n\n")]


def _delivery_report(message: EmailMessage, raw: bytes, sender: str) -> DeliveryReport:
    original_ids: list[str] = [*_message_ids(message.get("In-Reply-To")), *_message_ids(message.get("References"))]
    failures: list[str] = []
    actions: set[str] = set()
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in {"message/delivery-status", "message/global-delivery-status"}:
            for block in _report_blocks(part):
                recipient = header_text(block, "Final-Recipient") or header_text(block, "Original-Recipient")
                if not recipient:
                    continue
                action = header_text(block, "Action").lower()
                actions.add(action)
                address = recipient.partition(";")[2].strip() or recipient
                status = header_text(block, "Status")
                diagnostic = header_text(block, "Diagnostic-Code")
                details = ", ".join(bit for bit in (status, diagnostic) if bit)
                failures.append(f"{address} ({details})" if details else address)
        elif content_type in {"message/rfc822", "message/global"}:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original_ids.extend(_message_ids(inner[0].get("Message-ID")))
        elif content_type in {"text/rfc822-headers", "message/rfc822-headers"} or (
            content_type == "text/plain" and not part.get_filename()
        ):
            original_ids.extend(map(_storable_message_id, _EMBEDDED_MESSAGE_ID.findall(_part_text(part))))
    if not failures:
        failures = [address.strip() for address in header_text(message, "X-Failed-Recipients").split(",") if address]
    if actions and actions <= {"delayed"}:
        headline = "Delivery delayed"
    elif actions and "failed" not in actions:
        headline = "Delivery report"
    else:
        headline = "Delivery failed"
    summary = f"{headline}: {'; '.join(failures) or header_text(message, 'Subject') or 'no details given'}"
    own_ids = _message_ids(message.get("Message-ID"))
    return DeliveryReport(
        external_message_id=own_ids[0] if own_ids else _fallback_message_id(message, raw),
        original_message_ids=tuple(dict.fromkeys(original_ids)),
        summary=summary[:4000],
        sender_address=sender,
    )


# --- Attachments ------------------------------------------------------------------------------


def _leaf_parts(part: Message) -> list[Message]:
    """Every non-multipart part; an attached email (message/rfc822) is one leaf, not opened."""
    if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), list):
        return [leaf for sub in part.get_payload() for leaf in _leaf_parts(sub)]
    return [part]


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if "=?" in name:
        with contextlib.suppress(Exception):  # keep the encoded name rather than nothing
            name = str(make_header(decode_header(name)))
    name = _undecodable_to_text(name)
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]


def _refusal_reason(*, filename: str, content_type: str, content: bytes, total: int) -> str:
    max_bytes = settings.EMAIL_INBOUND_MAX_ATTACHMENT_BYTES
    max_total = settings.EMAIL_INBOUND_MAX_TOTAL_ATTACHMENT_BYTES
    extension = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if extension in REFUSED_EXTENSIONS or content_type in REFUSED_TYPES:
        return f"Files of type {extension or content_type} are not accepted."
    if content.startswith(b"MZ"):
        return "Executable files are not accepted."
    if len(content) > max_bytes:
        return f"Larger than the {max_bytes // 1024} KB limit per file."
    if total + len(content) > max_total:
        return f"The message's attachments exceed {max_total // 1024} KB in all."
    return ""


def _attachments(leaves: list[Message]) -> tuple[InboundAttachment, ...]:
    kept: list[InboundAttachment] = []
    total = 0
    for index, part in enumerate(leaves, start=1):
        content_type = storable_text(part.get_content_type())
        disposition = part.get_content_disposition()
        if content_type.startswith("message/"):
            inner = part.get_payload()
            content = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        else:
            decoded = part.get_payload(decode=True)
            content = decoded if isinstance(decoded, bytes) else b""
        content_id = storable_text(str(part.get("Content-ID", "") or "")).strip().strip("<>").strip()
        is_inline = disposition != "attachment" and bool(
            content_id or (disposition == "inline" and content_type.startswith("image/"))
        )
        filename = _filename(part)
        if not filename:
            extension = ".eml" if content_type == "message/rfc822" else mimetypes.guess_extension(content_type) or ""
            filename = f"{'inline' if is_inline else 'attachment'}-{index}{extension}"
        reason = _refusal_reason(filename=filename, content_type=content_type, content=content, total=total)
        if not reason:
            total += len(content)
        # A refused file keeps its content here only so its size is recorded; ingest never stores it.
        kept.append(
            InboundAttachment(
                filename=filename,
                content_type=content_type,
                content=content,
                content_id=content_id[:255],
                is_inline=is_inline,
                refusal_reason=reason[:255],
            )
        )
    return tuple(kept)


# --- The message ------------------------------------------------------------------------------


def _check_structure(message: EmailMessage) -> None:
    if message.get_content_maintype() == "multipart" and not isinstance(message.get_payload(), list):
        boundary = message.get_boundary()
        raise UnparseableEmailError(
            f"The MIME structure is broken: the multipart boundary {boundary!r} never appears in the body."
        )
    if message.get_content_maintype() == "multipart" and not message.get_payload():
        raise UnparseableEmailError("The MIME structure is broken: a multipart message with no parts.")


def _ticket_number_hint(message: Message, recipients: tuple[str, ...]) -> int | None:
    local_part = _local_part(settings.DEFAULT_FROM_EMAIL)
    headers = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
    candidates = [*recipients, *(header_text(message, name) for name in headers)]
    for candidate in candidates:
        for _name, address in getaddresses([candidate]):
            match = _PLUS_TICKET.search(address)
            if match and address.lower().startswith(f"{local_part}+"):
                return int(match.group(1))
    return None


def parse_email(raw: bytes, *, recipients: tuple[str, ...] = ()) -> InboundMessage | DeliveryReport:
    """Read one raw message; raises UnparseableEmailError with the reason when it cannot become a ticket message."""
    try:
        message = cast(EmailMessage, BytesParser(policy=PARSING_POLICY).parsebytes(raw))
    except Exception as error:  # the parser is lenient; anything it raises is a broken message
        raise UnparseableEmailError(f"The message could not be read: {error}") from error
    if not message.keys():
        raise UnparseableEmailError("The message has no readable headers.")
    _check_structure(message)
    name, sender = _sender(message)
    if _is_bounce(message, sender):
        return _delivery_report(message, raw, sender)
    if not sender or "@" not in sender:
        raise UnparseableEmailError("The message has no sender address (From).")

    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    body_html = _part_text(html) if html is not None else ""
    body_text = _part_text(plain) if plain is not None else ""
    if not body_text.strip() and body_html:
        body_text = html_to_text(body_html)
    leaves = [part for part in _leaf_parts(message) if part is not plain and part is not html]
    attachment_parts: list[Message] = []
    for part in leaves:
        is_body_text = (
            part.get_content_type() in {"text/plain", "text/html"}
            and part.get_content_disposition() != "attachment"
            and not _filename(part)
        )
        if not is_body_text:
            attachment_parts.append(part)
        elif plain is not None and part.get_content_type() == "text/plain":
            body_text = f"{body_text.rstrip()}\n\n{_part_text(part).strip()}"  # e.g. a list footer, split bodies
    split = split_quoted_text(body_text)
    message_ids = _message_ids(message.get("Message-ID"))
    references = [*_message_ids(message.get("In-Reply-To")), *reversed(_message_ids(message.get("References")))]
    return InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=IdentityKind.EMAIL,
        sender_address=sender,
        sender_name=name,
        subject=header_text(message, "Subject")[:998],
        body_text=split.shown,
        quoted_text=split.quoted,
        body_html=body_html,
        external_message_id=message_ids[0] if message_ids else _fallback_message_id(message, raw),
        references=tuple(dict.fromkeys(references)),
        ticket_number_hint=_ticket_number_hint(message, recipients),
        is_automated=is_automated(message, sender),
        attachments=_attachments(attachment_parts),
    )
