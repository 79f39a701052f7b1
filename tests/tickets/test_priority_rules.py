"""Priority rules: each condition, their combinations, the highest match winning, and their upkeep."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest

from helpdesk.core.exceptions import ApplicationError
from orders.choices import OrderStatus
from tests.accounts.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models import PriorityRule, Ticket, TicketActivity
from tickets.services.ingest import InboundMessage, ingest
from tickets.services.priority_rules import (
    keyword_found,
    priority_rule_create,
    priority_rule_delete,
    priority_rule_update,
    priority_rules_apply,
)

pytestmark = pytest.mark.django_db


def rule(**fields):
    fields.setdefault("name", f"rule {PriorityRule.objects.count() + 1}")
    fields.setdefault("priority", Priority.URGENT)
    return PriorityRule.objects.create(**fields)


def new_ticket(*, subject="A question", body="Hello there", channel=Channel.EMAIL, **fields):
    ticket = TicketFactory(subject=subject, channel=channel, status=TicketStatus.NEW, **fields)
    message = MessageFactory(ticket=ticket, channel=channel, body_text=body)
    return ticket, message


def apply(ticket, message):
    winner = priority_rules_apply(ticket=ticket, first_message=message)
    stored = Ticket.objects.get(pk=ticket.pk).priority
    assert stored == ticket.priority  # the caller's instance is kept in step with the row
    return winner, stored


# --- Keywords ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("charged twice", "I was CHARGED  twice for my order!", True),
        ("charged twice", "I was charged\ntwice", True),
        ("charged twice", "charged, then twice", False),
        ("refund", "Refund please.", True),
        ("refund", "It was refunded already", False),
        ("refund", "non-refundable?", False),
        ("chargeback", "Filing a chargeback.", True),
        ("c++", "I need c++ help", True),
        ("退款", "我想退款了谢谢", True),
        ("返金", "返金してください", True),
        ("환불", "환불을 원합니다", True),
        ("Rückerstattung", "bitte RÜCKERSTATTUNG", True),
        ("iphone", "我的iPhone坏了", True),
        ("paypal", "PayPalで二重に請求されました", True),
        ("iphone", "我的iPhones坏了", False),
        ("คืนเงิน", "ขอคืนเงินค่ะ", True),
        ("iade", "İADE İSTİYORUM", True),
        ("straße", "STRASSE 5", True),
        ("remboursé", unicodedata.normalize("NFD", "remboursé svp"), True),
        ("rembourse", unicodedata.normalize("NFD", "remboursé svp"), False),
        ("rembourse", "le remboursement", False),
        ("refund", "\uff52\uff45\uff46\uff55\uff4e\uff44 please", True),  # full-width letters
        ("\uff8d\uff9d\uff77\uff9d", "ヘンキンしたい", True),  # half-width katakana
        ("charged twice", "charged\u200btwice", True),
        ("charged twice", "charged\u00a0twice", True),
    ],
)
def test_keywords_match_whole_words_and_phrases_in_any_case(keyword, text, found):
    assert keyword_found(keyword=keyword, text=text) is found


def test_a_keyword_in_the_first_message_raises_the_priority_and_is_recorded():
    rule(name="Double charge", keywords=["charged twice"], priority=Priority.URGENT)
    ticket, message = new_ticket(body="Hi, I was Charged Twice for order #1001.")

    winner, stored = apply(ticket, message)

    assert winner.name == "Double charge"
    assert stored == Priority.URGENT
    activity = TicketActivity.objects.get(ticket=ticket)
    assert activity.kind == TicketActivity.Kind.PRIORITY
    assert activity.actor is None
    assert activity.details == {"before": "normal", "after": "urgent", "rule": "Double charge", "rule_id": winner.pk}


def test_a_keyword_in_the_subject_counts():
    rule(keywords=["chargeback"], priority=Priority.HIGH)
    ticket, message = new_ticket(subject="Chargeback notice", body="See attached.")

    _winner, stored = apply(ticket, message)

    assert stored == Priority.HIGH


def test_any_one_keyword_of_a_rule_is_enough():
    rule(keywords=["fraud", "stolen card"], priority=Priority.HIGH)
    ticket, message = new_ticket(body="Someone used a stolen  card here")

    _winner, stored = apply(ticket, message)

    assert stored == Priority.HIGH


def test_keywords_in_the_quoted_history_do_not_count():
    rule(keywords=["charged twice"])
    ticket, message = new_ticket(body="Thanks, all good now.")
    message.quoted_text = "> I was charged twice"
    message.save()

    winner, stored = apply(ticket, message)

    assert winner is None
    assert stored == Priority.NORMAL
    assert not TicketActivity.objects.exists()


def test_an_html_only_message_is_searched_as_text():
    rule(keywords=["charged twice"])
    ticket, message = new_ticket(body="")
    message.body_html = "<p>I was <b>charged</b> twice</p>"
    message.save()

    _winner, stored = apply(ticket, message)

    assert stored == Priority.URGENT


# --- VIP, order total, channel ----------------------------------------------------------------------


@pytest.mark.parametrize(("is_vip", "expected"), [(True, Priority.HIGH), (False, Priority.NORMAL)])
def test_vip_only_rules_match_only_vip_customers(is_vip, expected):
    rule(is_vip_only=True, priority=Priority.HIGH)
    ticket, message = new_ticket(customer=CustomerFactory(is_vip=is_vip))

    _winner, stored = apply(ticket, message)

    assert stored == expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [(Decimal("499.99"), Priority.NORMAL), (Decimal("500.00"), Priority.HIGH), (Decimal("1200.00"), Priority.HIGH)],
)
def test_the_linked_orders_total_is_compared_with_the_minimum(total, expected):
    rule(min_order_total=Decimal("500.00"), priority=Priority.HIGH)
    customer = CustomerFactory()
    ticket, message = new_ticket(customer=customer, order=OrderFactory(customer=customer, total=total))

    _winner, stored = apply(ticket, message)

    assert stored == expected


def test_the_linked_order_decides_even_when_the_customer_has_a_larger_one():
    rule(min_order_total=Decimal("500.00"), priority=Priority.HIGH)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total=Decimal("900.00"))
    ticket, message = new_ticket(customer=customer, order=OrderFactory(customer=customer, total=Decimal("20.00")))

    _winner, stored = apply(ticket, message)

    assert stored == Priority.NORMAL


def test_without_a_linked_order_the_customers_largest_order_counts():
    rule(min_order_total=Decimal("500.00"), priority=Priority.HIGH)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total=Decimal("20.00"))
    OrderFactory(customer=customer, total=Decimal("750.00"))
    OrderFactory(total=Decimal("5000.00"))  # someone else's
    ticket, message = new_ticket(customer=customer)

    _winner, stored = apply(ticket, message)

    assert stored == Priority.HIGH


def test_a_cancelled_order_does_not_count():
    rule(min_order_total=Decimal("500.00"), priority=Priority.HIGH)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total=Decimal("750.00"), status=OrderStatus.CANCELLED)
    ticket, message = new_ticket(customer=customer)

    _winner, stored = apply(ticket, message)

    assert stored == Priority.NORMAL


def test_a_customer_without_orders_never_meets_a_minimum_order_total():
    rule(min_order_total=Decimal("0.00"), priority=Priority.HIGH)
    ticket, message = new_ticket()

    _winner, stored = apply(ticket, message)

    assert stored == Priority.NORMAL


@pytest.mark.parametrize(("channel", "expected"), [(Channel.CHAT, Priority.HIGH), (Channel.EMAIL, Priority.NORMAL)])
def test_channel_rules_match_only_their_channels(channel, expected):
    rule(channels=[Channel.CHAT, Channel.WHATSAPP], priority=Priority.HIGH)
    ticket, message = new_ticket(channel=channel)

    _winner, stored = apply(ticket, message)

    assert stored == expected


# --- Combinations, the winner, only raising ---------------------------------------------------------


@pytest.mark.parametrize(
    ("has_keyword", "is_vip", "is_chat", "big_order", "expected"),
    [
        (True, True, True, True, Priority.URGENT),
        (False, True, True, True, Priority.NORMAL),
        (True, False, True, True, Priority.NORMAL),
        (True, True, False, True, Priority.NORMAL),
        (True, True, True, False, Priority.NORMAL),
    ],
)
def test_every_filled_in_condition_must_hold(has_keyword, is_vip, is_chat, big_order, expected):
    rule(
        keywords=["charged twice"],
        is_vip_only=True,
        channels=[Channel.CHAT],
        min_order_total=Decimal("100.00"),
        priority=Priority.URGENT,
    )
    customer = CustomerFactory(is_vip=is_vip)
    OrderFactory(customer=customer, total=Decimal("150.00") if big_order else Decimal("50.00"))
    ticket, message = new_ticket(
        customer=customer,
        channel=Channel.CHAT if is_chat else Channel.EMAIL,
        body="I was charged twice" if has_keyword else "Where is my parcel?",
    )

    _winner, stored = apply(ticket, message)

    assert stored == expected


def test_the_highest_priority_among_matching_rules_wins():
    rule(name="a-high", keywords=["refund"], priority=Priority.HIGH)
    rule(name="b-urgent", is_vip_only=True, priority=Priority.URGENT)
    rule(name="c-low", channels=[Channel.EMAIL], priority=Priority.LOW)
    ticket, message = new_ticket(body="refund please", customer=CustomerFactory(is_vip=True))

    winner, stored = apply(ticket, message)

    assert winner.name == "b-urgent"
    assert stored == Priority.URGENT
    assert TicketActivity.objects.get(ticket=ticket).details["rule"] == "b-urgent"


@pytest.mark.parametrize(
    ("current", "rule_priority", "expected"),
    [
        (Priority.HIGH, Priority.HIGH, Priority.HIGH),
        (Priority.URGENT, Priority.HIGH, Priority.URGENT),
        (Priority.NORMAL, Priority.LOW, Priority.NORMAL),
        (Priority.LOW, Priority.NORMAL, Priority.NORMAL),
    ],
)
def test_rules_only_ever_raise_the_priority(current, rule_priority, expected):
    rule(keywords=["refund"], priority=rule_priority)
    ticket, message = new_ticket(body="refund please", priority=current)

    _winner, stored = apply(ticket, message)

    assert stored == expected
    assert TicketActivity.objects.filter(ticket=ticket).exists() is (expected != current)


def test_inactive_rules_are_ignored():
    rule(keywords=["refund"], is_active=False)
    ticket, message = new_ticket(body="refund please")

    winner, stored = apply(ticket, message)

    assert winner is None
    assert stored == Priority.NORMAL


@pytest.mark.parametrize("rule_count", [2, 20])
def test_applying_rules_costs_the_same_queries_however_many_there_are(django_assert_num_queries, rule_count):
    for number in range(rule_count):
        rule(name=f"rule {number}", min_order_total=Decimal("10.00"), keywords=[f"word{number}"])
    ticket, message = new_ticket(body="word1 here")
    OrderFactory(customer=ticket.customer, total=Decimal("25.00"))
    ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)

    # rules, largest order, update + refresh, activity (no savepoint inside the caller's transaction)
    with django_assert_num_queries(5):
        winner = priority_rules_apply(ticket=ticket, first_message=message)

    assert winner.name == "rule 1"


def test_a_new_email_ticket_gets_its_priority_at_intake():
    rule(name="Double charge", keywords=["charged twice"])

    result = ingest(
        inbound=InboundMessage(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender_address="maria@example.test",
            subject="Order 1001",
            body_text="My card was charged twice.",
            external_message_id="<charged@mail.example.test>",
        )
    )

    assert result.ticket.priority == Priority.URGENT
    assert Ticket.objects.get(pk=result.ticket.pk).priority == Priority.URGENT


# --- Upkeep -----------------------------------------------------------------------------------------


def test_creating_a_rule_cleans_its_keywords_and_channels(admin_user):
    created = priority_rule_create(
        actor=admin_user,
        name="  Double charge ",
        priority=Priority.URGENT,
        keywords=["charged   twice", "Charged twice", "", "chargeback"],
        channels=[Channel.EMAIL, Channel.EMAIL],
    )

    assert created.name == "Double charge"
    assert created.keywords == ["charged twice", "chargeback"]
    assert created.channels == [Channel.EMAIL]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "at least one condition"),
        ({"keywords": ["x"], "priority": "critical"}, "Unknown priority"),
        ({"channels": ["fax"]}, "Unknown channels"),
        ({"min_order_total": Decimal("-1")}, "cannot be negative"),
        ({"keywords": ["x"], "name": "  "}, "a name"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(admin_user, fields, message):
    arguments = {"name": "Rule", "priority": Priority.HIGH, **fields}

    with pytest.raises(ApplicationError) as error:
        priority_rule_create(actor=admin_user, **arguments)

    assert message in error.value.message
    assert not PriorityRule.objects.exists()


def test_rule_names_are_unique_whatever_the_case(admin_user):
    rule(name="Double charge", keywords=["x"])

    with pytest.raises(ApplicationError):
        priority_rule_create(actor=admin_user, name="double CHARGE", priority=Priority.HIGH, keywords=["y"])

    assert PriorityRule.objects.count() == 1


def test_updating_and_deleting_a_rule(admin_user):
    existing = rule(name="Old", keywords=["x"], priority=Priority.HIGH)
    other = rule(name="Other", keywords=["y"])

    updated = priority_rule_update(
        actor=admin_user,
        rule_id=existing.pk,
        name="New",
        priority=Priority.URGENT,
        keywords=["charged twice"],
        is_vip_only=True,
        min_order_total=Decimal("10.00"),
        channels=[Channel.CHAT],
        is_active=False,
    )
    with pytest.raises(ApplicationError):
        priority_rule_update(
            actor=admin_user,
            rule_id=existing.pk,
            name="Other",
            priority=Priority.URGENT,
            keywords=["x"],
            is_vip_only=False,
            min_order_total=None,
            channels=[],
            is_active=True,
        )
    priority_rule_delete(actor=admin_user, rule_id=other.pk)

    existing.refresh_from_db()
    assert updated == existing
    assert (existing.name, existing.priority, existing.keywords, existing.is_active) == (
        "New",
        Priority.URGENT,
        ["charged twice"],
        False,
    )
    assert list(PriorityRule.objects.values_list("name", flat=True)) == ["New"]
    with pytest.raises(ApplicationError):
        priority_rule_delete(actor=UserFactory(), rule_id=other.pk)
