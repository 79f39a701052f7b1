"""Macros: placeholders rendered in a sandbox, translations, missing values caught before sending, actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from tests.accounts.factories import UserFactory
from tests.orders.factories import OrderFactory, ShipmentFactory
from tests.tickets.factories import TagFactory, TicketFactory
from tickets.choices import MessageDirection, Priority, TicketStatus
from tickets.models import Macro, MacroTranslation, Message, Ticket
from tickets.services.conversation import StaleTicketError
from tickets.services.macros import (
    MacroPlaceholderMissingError,
    MacroTemplateError,
    macro_apply,
    macro_create,
    macro_render,
    macro_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return TicketFactory(customer__name="Maya Lopez", customer__language="en", status=TicketStatus.OPEN)


def _macro(body: str, **kwargs) -> Macro:
    return Macro.objects.create(name=kwargs.pop("name", "Test macro"), body=body, **kwargs)


def _render(body: str, ticket: Ticket, agent, **kwargs):
    return macro_render(macro=_macro(body, **kwargs), ticket=ticket, agent=agent)


# --- Each placeholder ------------------------------------------------------------------------------


def test_customer_first_name(ticket, agent):
    rendered = _render("Hi {{ customer.first_name }},", ticket, agent)

    assert rendered.text == "Hi Maya,"
    assert rendered.missing_placeholders == ()


def test_customer_first_name_falls_back_to_the_default(agent):
    nameless = TicketFactory(customer__name="")

    rendered = _render('Hi {{ customer.first_name|default:"there" }},', nameless, agent)

    assert rendered.text == "Hi there,"
    assert rendered.missing_placeholders == ()


def test_order_number_from_the_tickets_order(ticket, agent):
    ticket.order = OrderFactory(customer=ticket.customer, number="#5512")
    ticket.save()
    OrderFactory(customer=ticket.customer, number="#9999")  # a later order: the ticket's own wins

    assert _render("Order {{ order.number }}", ticket, agent).text == "Order #5512"


def test_order_number_falls_back_to_the_customers_latest_order(ticket, agent):
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    OrderFactory(customer=ticket.customer, number="#100", placed_at=now - timedelta(days=30))
    OrderFactory(customer=ticket.customer, number="#200", placed_at=now)

    assert _render("Order {{ order.number }}", ticket, agent).text == "Order #200"


def test_tracking_link_and_expected_delivery_from_the_latest_shipment(ticket, agent):
    order = OrderFactory(customer=ticket.customer)
    ShipmentFactory(order=order, tracking_url="https://track.test/old")
    ShipmentFactory(
        order=order,
        tracking_url="https://track.test/new",
        estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC),
    )

    rendered = _render(
        'Track: {{ order.tracking_link }} arriving {{ order.expected_delivery|date:"l j F" }} '
        "({{ order.expected_delivery }})",
        ticket,
        agent,
    )

    assert rendered.text == "Track: https://track.test/new arriving Friday 4 December (Dec. 4, 2026)"


def test_expected_delivery_is_the_date_where_the_customer_lives(agent):
    ticket = TicketFactory(customer__timezone="Pacific/Auckland")
    ShipmentFactory(
        order=OrderFactory(customer=ticket.customer),
        estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC),  # already the 5th in Auckland
    )

    assert _render('{{ order.expected_delivery|date:"Y-m-d" }}', ticket, agent).text == "2026-12-05"


def test_ticket_number_and_agent_first_name(ticket):
    agent = UserFactory(first_name="Alex")

    rendered = _render("Request #{{ ticket.number }}. Best, {{ agent.first_name }}", ticket, agent)

    assert rendered.text == f"Request #{ticket.number}. Best, Alex"


def test_the_safe_filters(ticket, agent):
    rendered = _render(
        "{{ customer.first_name|upper }} {{ customer.first_name|lower }} {{ customer.first_name|lower|title }}",
        ticket,
        agent,
    )

    assert rendered.text == "MAYA maya Maya"


def test_values_are_plain_text_not_html_escaped(agent):
    ticket = TicketFactory(customer__name="O'Brien & Sons")

    assert _render("Hi {{ customer.first_name }}", ticket, agent).text == "Hi O'Brien"


def test_if_else_choose_by_what_the_ticket_has(ticket, agent):
    body = "{% if order.tracking_link %}Track it: {{ order.tracking_link }}{% else %}It ships soon.{% endif %}"

    without = _render(body, ticket, agent)
    ShipmentFactory(order=OrderFactory(customer=ticket.customer), tracking_url="https://track.test/1")
    with_link = macro_render(macro=Macro.objects.get(), ticket=ticket, agent=agent)

    assert (without.text, without.missing_placeholders) == ("It ships soon.", ())
    assert (with_link.text, with_link.missing_placeholders) == ("Track it: https://track.test/1", ())


# --- Translations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected", "used"),
    [("es", "Hola Maya", "es"), ("pt-br", "Olá Maya", "pt"), ("de", "Hello Maya", "")],
)
def test_the_customers_language_picks_the_translation(agent, language, expected, used):
    ticket = TicketFactory(customer__name="Maya Lopez", customer__language=language)
    macro = _macro("Hello {{ customer.first_name }}")
    MacroTranslation.objects.create(macro=macro, language="es", body="Hola {{ customer.first_name }}")
    MacroTranslation.objects.create(macro=macro, language="pt", body="Olá {{ customer.first_name }}")

    rendered = macro_render(macro=macro, ticket=ticket, agent=agent)

    assert (rendered.text, rendered.language) == (expected, used)


def test_dates_are_written_in_the_customers_language(agent):
    ticket = TicketFactory(customer__language="es")
    ShipmentFactory(
        order=OrderFactory(customer=ticket.customer),
        estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC),
    )
    macro = _macro("{{ order.expected_delivery }}")
    MacroTranslation.objects.create(
        macro=macro, language="es", body='Llega el {{ order.expected_delivery|date:"j F" }}'
    )

    assert macro_render(macro=macro, ticket=ticket, agent=agent).text == "Llega el 4 diciembre"


@pytest.mark.parametrize(
    ("language", "expected"), [("de", "Arrives Friday 4 December"), ("es", "Llega el 4 diciembre")]
)
def test_dates_are_written_in_the_language_of_the_text_sent(agent, language, expected):
    ticket = TicketFactory(customer__language=language)
    ShipmentFactory(
        order=OrderFactory(customer=ticket.customer),
        estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC),
    )
    macro = _macro('Arrives {{ order.expected_delivery|date:"l j F" }}')  # no German translation
    MacroTranslation.objects.create(
        macro=macro, language="es", body='Llega el {{ order.expected_delivery|date:"j F" }}'
    )

    rendered = macro_render(macro=macro, ticket=ticket, agent=agent)

    assert rendered.text == expected


# --- Missing placeholders --------------------------------------------------------------------------


def test_an_empty_value_without_a_default_is_reported(ticket, agent):
    rendered = _render("Track: {{ order.tracking_link }} by {{ order.expected_delivery }}", ticket, agent)

    assert rendered.missing_placeholders == ("order.expected_delivery", "order.tracking_link")


@pytest.mark.parametrize(
    ("body", "text", "missing"),
    [
        (
            "Hi {{ customer.first_name|default:order.number }}, thanks",  # saved before the checks refused it
            "Hi , thanks",
            ("customer.first_name", "order.number"),
        ),
        ('Hi {{ customer.first_name|default:"" }}, thanks', "Hi , thanks", ("customer.first_name",)),
        ('Hi {{ customer.first_name|date:"Y" }}, thanks', "Hi , thanks", ("customer.first_name",)),
        ('Hi {{ customer.first_name|default:"there" }}, thanks', "Hi there, thanks", ()),
        ("Arrives {{ order.expected_delivery|upper }}.", "Arrives .", ("order.expected_delivery",)),
    ],
)
def test_a_placeholder_that_prints_nothing_is_reported(agent, body, text, missing):
    nameless = TicketFactory(customer__name="Maya Lopez" if "date" in body else "", status=TicketStatus.OPEN)

    rendered = _render(body, nameless, agent)

    assert (rendered.text, rendered.missing_placeholders) == (text, missing)


def test_an_unknown_placeholder_saved_around_the_checks_is_reported(ticket, agent):
    rendered = _render("Your email: {{ customer.email }}", ticket, agent)

    assert rendered.missing_placeholders == ("customer.email",)


def test_a_placeholder_in_a_branch_not_taken_is_not_missing(ticket, agent):
    rendered = _render("{% if order.number %}Order {{ order.number }}{% endif %}Thanks!", ticket, agent)

    assert (rendered.text, rendered.missing_placeholders) == ("Thanks!", ())


def test_a_missing_placeholder_blocks_sending(ticket, agent):
    macro = _macro("Track it: {{ order.tracking_link }}", set_status=TicketStatus.SOLVED)
    version = ticket.version

    with pytest.raises(MacroPlaceholderMissingError) as error:
        macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=version)

    assert "order.tracking_link" in error.value.message
    assert error.value.extra == {"missing_placeholders": ["order.tracking_link"]}
    assert not Message.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == (TicketStatus.OPEN, version)
    assert Macro.objects.get(pk=macro.pk).usage_count == 0


# --- The sandbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message_start"),
    [
        ("{% load static %}", "{% load %} is not allowed in a macro"),
        ("{% load i18n %}{% translate 'Hi' %}", "{% load %} is not allowed in a macro"),
        ('{% include "tickets/inbox.html" %}', "{% include %} is not allowed in a macro"),
        ('{% extends "base.html" %}', "{% extends %} is not allowed in a macro"),
        ("{% for line in order.lines %}{% endfor %}", "{% for %} is not allowed in a macro"),
        ("{% debug %}", "{% debug %} is not allowed in a macro"),
        ("{% url 'tickets:inbox' %}", "{% url %} is not allowed in a macro"),
        ("{% now 'Y' %}", "{% now %} is not allowed in a macro"),
        (
            "{{ customer.__class__ }}",
            "The macro cannot be read: Variables and attributes may not begin with underscores",
        ),
        ("{{ customer.first_name.__class__.__mro__ }}", "The macro cannot be read: Variables and attributes may not"),
        ("{{ customer.first_name|safe }}", "The macro cannot be read: Invalid filter: 'safe'"),
        ("{{ customer.first_name|pprint }}", "The macro cannot be read: Invalid filter: 'pprint'"),
        ("{{ customer }}", "Unknown placeholders: {{ customer }}."),
        ("{{ customer.first_name.upper }}", "Unknown placeholders: {{ customer.first_name.upper }}."),
        ("{{ ticket.customer.identities }}", "Unknown placeholders: {{ ticket.customer.identities }}."),
        ("{{ settings.SECRET_KEY }}", "Unknown placeholders: {{ settings.SECRET_KEY }}."),
        ("{% if request.user %}x{% endif %}", "Unknown placeholders: {{ request.user }}."),
        ("{{ ticket.number|default:csrf_token }}", "Unknown placeholders: {{ csrf_token }}."),
    ],
)
def test_saving_refuses_anything_the_sandbox_does_not_offer(agent, text, message_start):
    with pytest.raises(MacroTemplateError) as error:
        macro_create(actor=agent, name="Sneaky", body=text)

    assert error.value.message.startswith(message_start)
    assert Macro.objects.count() == 0


def test_a_refused_tag_is_never_rendered_even_if_stored_around_the_checks(ticket, agent):
    rendered = _render("{% load static %}{% debug %}", ticket, agent)

    assert rendered.text == "{% load static %}{% debug %}"
    assert rendered.missing_placeholders[0].startswith("{% load %} is not allowed")


def test_attribute_access_on_placeholder_values_reaches_nothing(ticket, agent):
    # Stored around the checks: the context holds only dicts of strings, so nothing else is reachable.
    rendered = _render("[{{ ticket.objects }}][{{ customer.pk }}][{{ agent.password }}]", ticket, agent)

    assert rendered.text == "[][][]"
    assert set(rendered.missing_placeholders) == {"ticket.objects", "customer.pk", "agent.password"}


def test_saving_checks_every_translation_too(agent):
    with pytest.raises(MacroTemplateError) as error:
        macro_create(actor=agent, name="Hi", body="Hello", translations={"es": "{% load static %}Hola"})

    assert error.value.message.startswith("es: {% load %} is not allowed in a macro")
    assert Macro.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{{ order.expected_delivery|date:"D j M, H:i" }}',
            "{{ order.expected_delivery }} is a date without a time of day; its date format cannot use H, i. "
            "Use letters such as D j M Y.",
        ),
        (
            '{{ order.expected_delivery|default:"soon"|date:"TIME_FORMAT" }}',
            "{{ order.expected_delivery }} is a date without a time of day; its date format cannot use "
            "TIME_FORMAT. Use letters such as D j M Y.",
        ),
        (
            "{{ customer.first_name|default:order.number }}",
            '{{ order.number }} cannot be a filter\'s argument; write quoted text instead, such as default:"there".',
        ),
        (
            "{% if order.number|default:ticket.number %}x{% endif %}",
            '{{ ticket.number }} cannot be a filter\'s argument; write quoted text instead, such as default:"there".',
        ),
    ],
)
def test_saving_refuses_what_cannot_be_rendered(agent, text, message):
    with pytest.raises(MacroTemplateError) as error:
        macro_create(actor=agent, name="Arrival", body=text)

    assert error.value.message == message
    assert Macro.objects.count() == 0


def test_a_date_format_with_only_date_letters_and_an_escaped_time_letter_is_kept(agent):
    macro = macro_create(actor=agent, name="Arrival", body=r'{{ order.expected_delivery|date:"D j M \\a\\t Y" }}')

    assert macro.pk is not None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            '{{ order.expected_delivery|date:"D j M, H:i" }}',
            "The format for date objects may not contain time-related format specifiers (found 'H').",
        ),
        (
            "{{ order.expected_delivery|date:order.tracking_link }}",
            "The format for date objects may not contain time-related format specifiers (found 'h').",
        ),
    ],
)
def test_a_text_that_cannot_render_saved_around_the_checks_blocks_sending(ticket, agent, body, error):
    ShipmentFactory(
        order=OrderFactory(customer=ticket.customer),
        tracking_url="https://track.test/1",
        estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC),
    )
    macro = _macro(body)

    rendered = macro_render(macro=macro, ticket=ticket, agent=agent)
    with pytest.raises(MacroPlaceholderMissingError):
        macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=ticket.version)

    assert rendered.text == body
    assert rendered.missing_placeholders == (
        f"This macro cannot be rendered for this ticket, so nothing can be sent: {error}",
    )
    assert not Message.objects.filter(ticket=ticket).exists()


# --- Keeping macros --------------------------------------------------------------------------------


def test_an_agent_keeps_personal_macros_and_admins_shared_ones(agent, admin_user):
    personal = macro_create(actor=agent, name="Mine", body="Hi {{ customer.first_name }}")
    shared = macro_create(actor=admin_user, name="Ours", body="Hello", is_shared=True)

    assert (personal.owner, shared.owner) == (agent, None)
    with pytest.raises(PermissionDeniedError):
        macro_create(actor=agent, name="Sneaky shared", body="Hello", is_shared=True)


def test_macro_names_are_unique_per_owner_and_among_shared_ones(agent, admin_user):
    macro_create(actor=admin_user, name="Greeting", body="Hello", is_shared=True)
    macro_create(actor=agent, name="Greeting", body="Hello")  # a personal one may share a shared name

    with pytest.raises(ConflictError):
        macro_create(actor=admin_user, name="Greeting", body="Hi", is_shared=True)
    with pytest.raises(ConflictError):
        macro_create(actor=agent, name="Greeting", body="Hi")


def test_update_changes_only_what_is_given_and_replaces_translations(agent):
    TagFactory(name="shipping")
    macro = macro_create(
        actor=agent, name="Track", body="Hi", translations={"es": "Hola", "fr": "Salut"}, add_tags=["shipping"]
    )

    macro_update(macro_id=macro.pk, actor=agent, body="Hello {{ agent.first_name }}", translations={"es": "Buenas"})

    macro.refresh_from_db()
    assert (macro.name, macro.body) == ("Track", "Hello {{ agent.first_name }}")
    assert dict(macro.translations.values_list("language", "body")) == {"es": "Buenas"}
    assert list(macro.add_tags.values_list("name", flat=True)) == ["shipping"]


def test_someone_elses_personal_macro_cannot_be_changed(agent):
    theirs = macro_create(actor=UserFactory(), name="Theirs", body="Hi")

    with pytest.raises(NotFoundError):
        macro_update(macro_id=theirs.pk, actor=agent, body="Changed")


# --- Applying --------------------------------------------------------------------------------------


def test_applying_sends_the_reply_sets_status_and_priority_adds_tags_and_counts_the_use(ticket, agent):
    TagFactory(name="shipping")
    ShipmentFactory(order=OrderFactory(customer=ticket.customer, number="#42"), tracking_url="https://track.test/42")
    macro = macro_create(
        actor=agent,
        name="Track",
        body="Hi {{ customer.first_name }}, order {{ order.number }}: {{ order.tracking_link }}",
        set_status=TicketStatus.PENDING,
        set_priority=Priority.LOW,
        add_tags=["shipping"],
    )

    message = macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=ticket.version)

    assert message.direction == MessageDirection.OUTBOUND
    assert message.body_text == "Hi Maya, order #42: https://track.test/42"
    assert message.author == agent
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (TicketStatus.PENDING, Priority.LOW, agent)
    assert list(ticket.tags.values_list("name", flat=True)) == ["shipping"]
    assert Macro.objects.get(pk=macro.pk).usage_count == 1


def test_applying_to_a_ticket_that_moved_on_sends_nothing(ticket, agent):
    macro = _macro("Thanks!", set_priority=Priority.URGENT)

    with pytest.raises(StaleTicketError):
        macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=ticket.version + 1)

    assert not Message.objects.filter(ticket=ticket).exists()
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.NORMAL
    assert Macro.objects.get(pk=macro.pk).usage_count == 0


def test_someone_elses_personal_macro_cannot_be_applied(ticket, agent):
    macro = _macro("Hi", owner=UserFactory())

    with pytest.raises(NotFoundError):
        macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=None)

    assert not Message.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_two_shared_macros_cannot_share_a_name_even_in_the_database():
    from django.db import IntegrityError, transaction

    from tickets.models import Macro

    Macro.objects.create(name="Refund issued", body="Done.")

    with pytest.raises(IntegrityError), transaction.atomic():
        Macro.objects.create(name="Refund issued", body="Again.")
