"""What the agent is shown of an email, and what is kept aside as quoted history."""

# ruff: noqa: RUF001 - localised attributions in their own scripts

import pytest

from channels_app import quoting
from channels_app.email_parsing import decode_text, html_to_text, unwrap_flowed
from channels_app.quoting import split_quoted_text

REPLY = "Thanks, that works for me."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Feb 2025 at 10:12, Helpdesk <support@helpdesk.localhost> wrote:",
        "On 3 Feb 2025, at 10:12, Helpdesk <support@helpdesk.localhost> wrote:",
        "On 03/02/2025 10:12, Helpdesk wrote:",
        "Le lun. 3 févr. 2025 à 10:12, Helpdesk <support@helpdesk.localhost> a écrit :",
        "Am Mo., 3. Feb. 2025 um 10:12 Uhr schrieb Helpdesk <support@helpdesk.localhost>:",
        "Am 03.02.2025 um 10:12 schrieb Helpdesk:",
        "El lun, 3 feb 2025 a las 10:12, Helpdesk (<support@helpdesk.localhost>) escribió:",
        "Em seg., 3 de fev. de 2025 às 10:12, Helpdesk <support@helpdesk.localhost> escreveu:",
        "Il giorno lun 3 feb 2025 alle ore 10:12 Helpdesk <support@helpdesk.localhost> ha scritto:",
        "Op ma 3 feb 2025 om 10:12 schreef Helpdesk <support@helpdesk.localhost>:",
        "3 февр. 2025 г., в 10:12, Helpdesk <support@helpdesk.localhost> написал(а):",
        "Helpdesk <support@helpdesk.localhost> 于2025年2月3日周一 10:12写道：",
    ],
)
def test_an_attribution_and_the_quote_under_it_are_kept_aside(attribution):
    text = f"{REPLY}\n\n{attribution}\n\n> Hello,\n> is the new date fine?\n"

    split = split_quoted_text(text)

    assert split.shown == REPLY
    assert split.quoted == f"{attribution}\n\n> Hello,\n> is the new date fine?"


def test_an_attribution_wrapped_over_two_lines_is_recognised():
    text = f"{REPLY}\n\nOn Mon, 3 Feb 2025 at 10:12, Helpdesk Support <\nsupport@helpdesk.localhost> wrote:\n> Hi"

    assert split_quoted_text(text).shown == REPLY


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
    ],
)
def test_an_outlook_separator_starts_the_quoted_text(separator):
    text = f"{REPLY}\n\n{separator}\nFrom: Helpdesk\nSent: Monday\n\nOld text"

    split = split_quoted_text(text)

    assert split.shown == REPLY
    assert split.quoted.startswith(separator)


@pytest.mark.parametrize(
    ("from_line", "date_line"),
    [
        ("From: Helpdesk <support@helpdesk.localhost>", "Sent: Monday, February 3, 2025 4:02 PM"),
        ("*From:* Helpdesk", "*Sent:* Monday"),
        ("De : Helpdesk", "Envoyé : lundi 3 février 2025 16:02"),
        ("Von: Helpdesk", "Gesendet: Montag, 3. Februar 2025 16:02"),
        ("De: Helpdesk", "Enviado: lunes, 3 de febrero de 2025 16:02"),
    ],
)
def test_an_outlook_header_block_starts_the_quoted_text(from_line, date_line):
    text = f"{REPLY}\n\n{from_line}\n{date_line}\nTo: Maria\nSubject: Re: order\n\nOld text"

    split = split_quoted_text(text)

    assert split.shown == REPLY
    assert split.quoted.startswith(from_line)


def test_a_from_line_without_a_date_under_it_is_text():
    text = "From: the warehouse in Leipzig, two parcels were sent.\nOne arrived."

    assert split_quoted_text(text).shown == text


def test_the_signature_is_kept_aside():
    split = split_quoted_text(f"{REPLY}\n-- \nMaria Lopez\n+34 600 000 000")

    assert (split.shown, split.quoted) == (REPLY, "-- \nMaria Lopez\n+34 600 000 000")


def test_trailing_quoted_lines_without_an_attribution_are_kept_aside():
    split = split_quoted_text(f"{REPLY}\n\n> When can you come?\n>\n> Helpdesk")

    assert (split.shown, split.quoted) == (REPLY, "> When can you come?\n>\n> Helpdesk")


def test_an_inline_answer_keeps_the_questions_it_answers():
    text = (
        "On Mon, 3 Feb 2025, Helpdesk wrote:\n> What size did you order?\nM\n> And the colour?\nNavy\n\n"
        "> Thanks,\n> Helpdesk"
    )

    split = split_quoted_text(text)

    assert split.shown == "On Mon, 3 Feb 2025, Helpdesk wrote:\n> What size did you order?\nM\n> And the colour?\nNavy"
    assert split.quoted == "> Thanks,\n> Helpdesk"


def test_a_forwarded_message_is_content_not_history():
    text = "See below.\n\n---------- Forwarded message ---------\nFrom: Courier <c@x>\nDate: Mon\n\nParcel lost."

    assert split_quoted_text(text).shown == text


def test_a_message_that_is_all_quote_is_shown_whole():
    text = "> only a quote\n> nothing else"

    assert split_quoted_text(text) == split_quoted_text(text).__class__(shown=text, quoted="")


def _quote_answer_quote(quoted_lines: int) -> str:
    """Quoted lines, one answer, and as many quoted lines under it."""
    return ">\n" * quoted_lines + "x\n" + ">\n" * quoted_lines


def _count_calls(monkeypatch, name: str) -> list[None]:
    calls: list[None] = []
    original = getattr(quoting, name)

    def counted(*args):
        calls.append(None)
        return original(*args)

    monkeypatch.setattr(quoting, name, counted)
    return calls


def test_the_trailing_quote_is_looked_for_once_however_long_the_quote(monkeypatch):
    scans = _count_calls(monkeypatch, "_trailing_quote_start")

    split = split_quoted_text(_quote_answer_quote(2000))

    assert split.quoted == "\n".join([">"] * 2000)
    assert len(scans) == 1


def test_twice_the_lines_cost_at_most_twice_the_line_checks(monkeypatch):
    checks = _count_calls(monkeypatch, "_is_quoted")
    split_quoted_text(_quote_answer_quote(1000))
    checks_for_1000 = len(checks)
    checks.clear()

    split_quoted_text(_quote_answer_quote(2000))

    assert len(checks) <= 2 * checks_for_1000 + 10


def test_a_twenty_thousand_line_message_keeps_its_answer_and_cuts_the_trailing_quote():
    split = split_quoted_text(_quote_answer_quote(10_000))

    assert split.shown == "\n".join([">"] * 10_000 + ["x"])
    assert split.quoted == "\n".join([">"] * 10_000)


def test_a_long_inline_reply_keeps_its_answers_and_cuts_the_trailing_quote():
    answered = "On Mon, 3 Feb 2025, Helpdesk wrote:\n" + "> Which size?\nM\n" * 5000
    text = answered + "\n" + "> Thanks,\n" * 10_000

    split = split_quoted_text(text)

    assert split.shown == answered.strip()
    assert split.quoted == "\n".join(["> Thanks,"] * 10_000)


def test_html_becomes_readable_text():
    html = (
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>Hello,</p><p>Line one<br>line&nbsp;two</p><ol><li>first</li><li>second</li></ol>"
        "<blockquote><p>quoted</p></blockquote><script>alert(1)</script></body></html>"
    )

    assert html_to_text(html) == "Hello,\n\nLine one\nline two\n\n1. first\n2. second\n\n> quoted"


def test_format_flowed_lines_are_joined():
    assert unwrap_flowed("a long \nline\n> quoted \n> more\n-- \nsig") == "a long line\n> quoted more\n-- \nsig"


@pytest.mark.parametrize(
    ("text", "delete_space", "unwrapped"),
    [
        ("a  \nb", False, "a  b"),
        ("a   \nb", True, "a  b"),  # DelSp removes the one space that marks the line as flowed
        ("a \r\nb", True, "ab"),
        ("a  ", False, "a  "),
        ("> a \n>> b \n>> c\n> d", False, "> a \n>> b c\n> d"),  # a change of quote depth ends the line
        (" -- \nx", False, "-- \nx"),  # a space-stuffed signature delimiter does not flow
        ("--  \nx", False, "--  \nx"),
    ],
)
def test_format_flowed_keeps_spaces_depths_and_signatures(text, delete_space, unwrapped):
    assert unwrap_flowed(text, delete_space=delete_space) == unwrapped


def test_a_hundred_thousand_flowed_lines_become_one_line():
    text = "twenty chars long. \n" * 100_000 + "end"

    assert unwrap_flowed(text) == "twenty chars long. " * 100_000 + "end"
    assert unwrap_flowed(text, delete_space=True) == "twenty chars long." * 100_000 + "end"


def test_twenty_thousand_flowed_quoted_lines_become_one_quoted_line_per_depth():
    text = "> outer \n" * 10_000 + ">> inner \n" * 10_000 + ">> end"

    assert unwrap_flowed(text) == "> " + "outer " * 10_000 + "\n>> " + "inner " * 10_000 + "end"


@pytest.mark.parametrize(
    ("payload", "declared", "text"),
    [
        # A wrong label: the bytes are windows-1251 (guessed from the text, so a sentence, not a word).
        (
            "Здравствуйте, мой заказ не пришёл. Когда ждать доставку?".encode("cp1251"),
            "utf-8",
            "Здравствуйте, мой заказ не пришёл. Когда ждать доставку?",
        ),
        ("Grüße".encode(), "iso-8859-1", "Grüße"),  # UTF-8 bytes labelled latin-1
        ("Grüße".encode("cp1252"), "us-ascii", "Grüße"),
        ("镕".encode("gbk"), "gb2312", "镕"),  # a GBK-only character under a gb2312 label
        ("ｶﾀｶﾅ".encode("iso2022_jp_ext"), "iso-2022-jp", "ｶﾀｶﾅ"),  # half-width kana need the extension
        ("テスト".encode("cp932"), "shift_jis", "テスト"),
        (b"hello", "x-unknown-charset", "hello"),
        ("\ufeffbom".encode(), None, "bom"),
    ],
)
def test_text_is_decoded_whatever_the_label_says(payload, declared, text):
    assert decode_text(payload, declared) == text


def test_the_attribution_pattern_is_tried_only_on_lines_that_end_in_a_colon(monkeypatch):
    pattern = quoting._ATTRIBUTION
    tried: list[str] = []

    class Counting:
        def match(self, text):
            tried.append(text)
            return pattern.match(text)

    monkeypatch.setattr(quoting, "_ATTRIBUTION", Counting())
    body = "\n".join(["Am Montag schrieb ich schon einmal wegen der Lieferung"] * 2000)
    text = f"{body}\n\nOn Mon, 3 Feb 2025, Support <support@helpdesk.localhost> wrote:\n> Your order shipped."

    split = split_quoted_text(text)

    assert split.shown == body
    assert split.quoted.startswith("On Mon, 3 Feb 2025")
    assert all(line.endswith(":") for line in tried)
    assert len(tried) <= 3
