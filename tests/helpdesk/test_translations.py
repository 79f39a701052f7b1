"""Every customer-facing message is translated into every target language."""

import pytest
from django.conf import settings
from django.utils import translation

from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.tickets.factories import TicketFactory
from tickets.services.acknowledgement import acknowledgement_text
from tickets.status_effects import confirmation_request_text, pending_reminder_text

TARGET_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
CUSTOMER_FACING = [
    "Hello,",
    "Is your request solved?",
    "Did our answer solve your problem?",
    "Yes, it is solved",
    "If not, simply reply to our email and we will pick it up again.",
    "This request is closed. Thank you!",
    "We are still working on this request.",
    "This link is not valid",
    "It may have expired. Reply to our email instead.",
]


def test_every_target_language_is_configured():
    assert set(TARGET_LANGUAGES) == {"es", "zh-hans", "zh-hant", "fr", "id", "ja", "ko", "ru", "de", "tr", "ar", "pt"}


@pytest.mark.parametrize("language", TARGET_LANGUAGES)
@pytest.mark.parametrize("text", CUSTOMER_FACING)
def test_customer_facing_text_is_translated(language, text):
    with translation.override(language):
        assert translation.gettext(text) != text


@pytest.mark.django_db
@pytest.mark.parametrize("language", TARGET_LANGUAGES)
def test_emails_to_the_customer_are_written_in_their_language(language):
    customer = CustomerFactory(name="Sam Lee", language=language)
    CustomerIdentityFactory(customer=customer)
    ticket = TicketFactory(customer=customer)

    texts = [
        acknowledgement_text(ticket=ticket),
        confirmation_request_text(ticket=ticket),
        pending_reminder_text(ticket=ticket),
    ]

    for text in texts:
        assert f"#{ticket.number}" in text
        assert "Thank you for contacting us" not in text
        assert "We believe your request" not in text
        assert "We are waiting for your reply" not in text


def test_arabic_pages_are_right_to_left(client):
    response = client.get("/requests/not-a-token/confirm/", HTTP_ACCEPT_LANGUAGE="ar")

    assert 'dir="rtl"' in response.content.decode()
