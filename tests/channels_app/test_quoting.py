"""What the agent is shown of an email, and what is kept aside as quoted history."""

# ruff: noqa: RUF001 - localised attributions in their own scripts

import pytest

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
