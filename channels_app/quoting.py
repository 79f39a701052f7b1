"""Splitting an email's new text from the quoted history and signature under it.

The rules, in the order a reader meets them (the earliest cut wins):

* an attribution line that introduces quoted history: Gmail / Apple Mail / Thunderbird
  "On <date>, <name> wrote:" (possibly wrapped over two or three lines) and its localised
  forms ("Le ... a écrit :", "Am ... schrieb ...:", "El ... escribió:", "Em ... escreveu:",
  "Il ... ha scritto:", "Op ... schreef ...:", "... написал(а):", "...写道：" and more);
* an Outlook separator ("-----Original Message-----" and its translations), a line of
  underscores followed by a header block, or a bare "From: ... / Sent: ..." header block;
* the signature delimiter "-- " (RFC 3676; "--" too, since many clients trim the space);
* a block of ">" quoted lines that runs to the end of the message.

Everything from the cut to the end is the quoted text; what is above it is shown. Two
exceptions keep the message whole: a cut that would leave nothing to show (the whole mail
is a quote or a signature), and an inline reply, where the customer answered between ">"
quoted lines: removing the quotes there would remove the questions being answered, so
only a trailing quoted block is cut. A forwarded message ("---------- Forwarded message")
is content, never cut.
"""

# ruff: noqa: RUF001, RUF002 - the localised attributions are written in their own scripts on purpose

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        On\s.{3,300}?\bwrote\s?:
      | Le\s.{3,300}?\ba\s[ée]crit\s?:
      | Am\s.{3,300}?\bschrieb\b.{0,300}?:
      | El\s.{3,300}?\bescribi[óo]\s?:
      | (?:Em|No\sdia)\s.{3,300}?\bescreveu\s?:
      | Il\s.{3,300}?\bha\sscritto\s?:
      | Op\s.{3,300}?\bschreef\b.{0,300}?:
      | Pada\s.{3,300}?\bmenulis\s?:
      | .{3,300}?\bнаписал(?:\(а\)|а)?\s?:
      | .{3,300}?\bşunu\syazdı\s?:
      | .{1,300}?(?:写道|寫道|のメッセージ|のメール|は書きました|님이\s작성)\s?[:：]
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"""^\s*-{2,}\s*(?:
        Original\sMessage | Ursprüngliche\sNachricht | Message\sd'origine | Mensaje\soriginal
      | Mensagem\soriginal | Messaggio\soriginale | Oorspronkelijk\sbericht | Исходное\sсообщение
      | Orijinal\sİleti | Oprindelig\smeddelelse | Ursprungligt\smeddelande | Opprinnelig\smelding
      | 元のメッセージ | 原始邮件 | 原始郵件 | 원본\s메시지 | Pesan\sAsli | Reply\smessage
    )\s*-{2,}\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(
    r"^\s*\*?(?:From|De|Von|Da|Van|От|Kimden|Dari|发件人|寄件者|差出人|보낸\s사람)\s?\*?\s?[:：]", re.I
)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Datum|Enviado|Enviada|Fecha|Inviato|Data|Verzonden|Отправлено|Дата"
    r"|Gönderildi|Tarih|Dikirim|Tanggal|发送时间|日期|傳送時間|送信日時|日付|보낸\s날짜)\s?\*?\s?[:：]",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^--\s?$")
_FORWARDED = re.compile(r"^\s*-{5,}\s*(?:Forwarded message|Mensaje reenviado|Message transféré|Weitergeleitete)", re.I)
_MAX_ATTRIBUTION_LINES = 3
_ATTRIBUTION_ENDINGS = (":", "：")


@dataclass(frozen=True)
class SplitText:
    shown: str
    quoted: str


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_end(lines: list[str], index: int) -> int | None:
    """The last line of an attribution starting at ``index`` (clients wrap long ones), if it is one."""
    if _is_quoted(lines[index]) or not lines[index].strip():
        return None
    joined = ""
    for end in range(index, min(index + _MAX_ATTRIBUTION_LINES, len(lines))):
        if end > index and (not lines[end].strip() or _is_quoted(lines[end])):
            return None
        joined = f"{joined} {lines[end].strip()}".strip()
        # Every attribution ends in a colon; the pattern's lazy spans cost far more than this check.
        if joined.endswith(_ATTRIBUTION_ENDINGS) and _ATTRIBUTION.match(joined):
            return end
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """Outlook's "From: ... Sent: ..." block: a From line with a date line right under it."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 4] if line.strip()]
    return any(_HEADER_SENT.match(line) for line in following[:2])


def _is_inline_reply(lines: list[str], after: int) -> bool:
    """After an attribution, unquoted text between quoted lines means the customer answered inline."""
    seen_quote = False
    for line in lines[after:]:
        if _SIGNATURE.match(line):
            return False
        if _is_quoted(line):
            seen_quote = True
        elif line.strip() and seen_quote:
            return True
    return False


def _trailing_quote_start(lines: list[str]) -> int | None:
    """The first line of the ">" quoted block that runs to the end of the message (blank lines allowed in it)."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _is_quoted(line):
            start = index
        elif line.strip():
            break
    return start


def _cut_index(lines: list[str]) -> int | None:
    # Once, not per line: a backward scan for every quoted line would make a long quote cost quadratic time.
    trailing_quote_start = _trailing_quote_start(lines)
    for index, line in enumerate(lines):
        if _FORWARDED.match(line):
            return None  # a forward is the content itself; anything below it is what was forwarded
        if _SIGNATURE.match(line) or _ORIGINAL_MESSAGE.match(line) or _is_header_block(lines, index):
            return index
        if _UNDERSCORES.match(line) and any(_HEADER_FROM.match(next_) for next_ in lines[index + 1 : index + 3]):
            return index
        end = _attribution_end(lines, index)
        if end is not None:
            if _is_inline_reply(lines, end + 1):
                return trailing_quote_start
            return index
        if index == trailing_quote_start:
            return index
    return None


def split_quoted_text(text: str) -> SplitText:
    """The new text a customer wrote, and the history and signature they left under it."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = normalised.split("\n")
    cut = _cut_index(lines)
    if cut is None:
        return SplitText(shown=normalised.strip(), quoted="")
    shown = "\n".join(lines[:cut]).strip()
    if not shown:
        return SplitText(shown=normalised.strip(), quoted="")
    return SplitText(shown=shown, quoted="\n".join(lines[cut:]).strip())
