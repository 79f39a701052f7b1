"""Parsing reads each header once, and what it remembers between messages stays small and correct."""

from email.message import EmailMessage

import pytest

from channels_app import email_parsing
from channels_app.email_parsing import parse_email


def _multipart(number, *, subject="Where is my order?"):
    message = EmailMessage()
    message["From"] = f"Customer {number} <customer{number}@example.test>"
    message["To"] = "support@helpdesk.localhost"
    message["Subject"] = subject
    message["Message-ID"] = f"<headers-{number}@example.test>"
    message.set_content("It has not arrived.")
    message.add_alternative("<p>It has not arrived.</p>", subtype="html")
    message.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="label.png")
    return message.as_bytes()


@pytest.fixture
def header_parses(monkeypatch):
    """Each (name, value) the header registry is asked to parse, in order."""
    asked = []
    remembered = email_parsing._parsed_header.__wrapped__

    def counting(name, value):
        asked.append((name.lower(), value))
        return remembered(name, value)

    cached = email_parsing.functools.lru_cache(maxsize=1024)(counting)
    monkeypatch.setattr(email_parsing, "_parsed_header", cached)
    return asked


def test_a_multipart_message_parses_each_of_its_headers_once(header_parses):
    parsed = parse_email(_multipart(1))

    assert parsed.sender_address == "customer1@example.test"
    assert parsed.body_text == "It has not arrived."
    assert parsed.body_html.strip() == "<p>It has not arrived.</p>"
    assert [attachment.filename for attachment in parsed.attachments] == ["label.png"]
    content_types = [value for name, value in header_parses if name == "content-type"]
    # One parse for each part's own Content-Type (mixed, alternative, plain, html, png), though reading
    # the message asks for them far more often.
    assert [value.split(";")[0] for value in content_types] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
    ]
    assert len(header_parses) == len(set(header_parses))


def test_remembered_headers_read_the_same_in_the_next_message(header_parses):
    first = parse_email(_multipart(2, subject="=?utf-8?b?T8O5IGVzdCBtYSBjb21tYW5kZSA/?="))
    second = parse_email(_multipart(3, subject="=?utf-8?b?T8O5IGVzdCBtYSBjb21tYW5kZSA/?="))

    assert first.subject == second.subject == "Où est ma commande ?"
    assert (first.sender_address, second.sender_address) == ("customer2@example.test", "customer3@example.test")
    assert sum(1 for name, _value in header_parses if name == "subject") == 1


def test_a_huge_header_is_parsed_but_not_remembered(header_parses):
    long_subject = "Order " + "1234567890 " * 200

    parsed = parse_email(_multipart(4, subject=long_subject))

    assert parsed.subject.startswith("Order 1234567890 1234567890")
    assert not [value for name, value in header_parses if name == "subject"]
