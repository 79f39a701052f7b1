"""seed_demo: a believable demo store, written once, all or nothing, and quick to skip on every start."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts.choices import Role
from accounts.demo import DEMO_PASSWORD, DEMO_STAFF
from accounts.models import AgentProfile, Team, User
from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from helpdesk.demo_data import DEMO_SEED, demo_store_plan, ticket_marker
from orders.choices import ShipmentStatus
from orders.models import Order, OrderItem, Product, Shipment
from surveys.models import SurveyResponse
from tickets.choices import Channel, MessageDirection, Priority, TicketStatus
from tickets.models import Message, MessageDelivery, Tag, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("seed_demo")]

SEEDED_MODELS = (
    Customer,
    CustomerIdentity,
    Product,
    Order,
    OrderItem,
    Shipment,
    Ticket,
    Message,
    MessageDelivery,
    Tag,
    User,
    Team,
    AgentProfile,
    SurveyResponse,
)
DEMO_CHANNELS = {Channel.EMAIL, Channel.CHAT, Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM}


@dataclass(frozen=True)
class SeedRun:
    output: str
    counts: dict[str, int]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def _contents() -> dict[str, list[tuple]]:
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in SEEDED_MODELS}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One seed for the module, inside a transaction rolled back at the end so other modules start empty."""
    with django_db_blocker.unblock(), transaction.atomic():
        output = StringIO()
        call_command("seed_demo", stdout=output)
        run = SeedRun(output=output.getvalue(), counts=_counts())
        yield run
        transaction.set_rollback(True)


def test_a_fresh_seed_builds_the_store_in_fixed_sizes(seeded):
    assert seeded.output.startswith("Demo data created in ")
    counts = seeded.counts
    assert counts["Customer"] == 200
    assert counts["Product"] == 50
    assert counts["Order"] == 500
    assert counts["Ticket"] == 300
    assert counts["User"] == len(DEMO_STAFF)
    assert counts["Team"] == 2
    assert counts["AgentProfile"] == len(DEMO_STAFF)
    assert counts["Tag"] == 12
    assert 250 <= counts["CustomerIdentity"] <= 600
    assert 500 <= counts["OrderItem"] <= 2000
    assert 400 <= counts["Shipment"] <= 550
    assert 600 <= counts["Message"] <= 1800
    assert counts["MessageDelivery"] == Message.objects.filter(direction=MessageDirection.OUTBOUND).count()
    closed = Ticket.objects.filter(status=TicketStatus.CLOSED).count()
    assert closed * 0.4 <= counts["SurveyResponse"] <= closed * 0.8
    assert not SurveyResponse.objects.exclude(ticket__status=TicketStatus.CLOSED).exists()


def test_running_it_again_changes_nothing(seeded):
    before = _contents()
    output = StringIO()

    call_command("seed_demo", stdout=output)

    assert output.getvalue().startswith("Demo data already complete; nothing created")
    assert _counts() == seeded.counts
    assert _contents() == before


def test_once_returns_at_once_with_one_line_when_the_data_is_there(seeded, django_assert_max_num_queries):
    output = StringIO()

    with django_assert_max_num_queries(2):
        call_command("seed_demo", "--once", stdout=output)

    assert output.getvalue() == "Demo data already present; nothing to do.\n"
    assert _counts() == seeded.counts


def test_once_puts_back_only_what_is_missing(seeded):
    first_ticket = Ticket.objects.get(messages__external_message_id=ticket_marker(seed=DEMO_SEED, index=0))
    Ticket.objects.filter(pk=first_ticket.pk).delete()
    output = StringIO()

    call_command("seed_demo", "--once", stdout=output)

    assert "tickets=1," in output.getvalue()
    assert _counts() == seeded.counts
    restored = Ticket.objects.get(messages__external_message_id=ticket_marker(seed=DEMO_SEED, index=0))
    assert restored.subject == first_ticket.subject
    assert restored.number > first_ticket.number


def test_every_shipment_status_appears(seeded):
    assert set(Shipment.objects.values_list("status", flat=True).distinct()) == set(ShipmentStatus.values)


def test_shipments_carry_carrier_tracking_numbers_and_links(seeded):
    patterns = {
        "UPS": r"1Z[0-9A-Z]{16}",
        "USPS": r"94\d{20}",
        "FedEx": r"\d{12}",
        "DHL": r"\d{10}",
    }
    rows = list(Shipment.objects.values_list("carrier", "tracking_number", "tracking_url"))

    assert {carrier for carrier, _number, _url in rows} == set(patterns)
    for carrier, number, url in rows:
        assert re.fullmatch(patterns[carrier], number), (carrier, number)
        assert url.startswith("https://")
        assert url.endswith(number)


def test_every_listed_channel_status_and_priority_appears(seeded):
    assert set(Ticket.objects.values_list("channel", flat=True).distinct()) == DEMO_CHANNELS
    assert set(Ticket.objects.values_list("status", flat=True).distinct()) == set(TicketStatus.values)
    assert set(Ticket.objects.values_list("priority", flat=True).distinct()) == set(Priority.values)


def test_order_totals_add_up_for_every_order(seeded, django_assert_num_queries):
    lines = (
        OrderItem.objects.filter(order=OuterRef("pk")).values("order").annotate(sum=Sum("line_total")).values("sum")[:1]
    )
    money = DecimalField(max_digits=12, decimal_places=2)

    with django_assert_num_queries(1):
        wrong = (
            Order.objects.annotate(lines_total=Subquery(lines, output_field=money))
            .filter(
                ~Q(total=F("subtotal") + F("shipping_total") + F("tax_total") - F("discount_total"))
                | ~Q(subtotal=F("lines_total"))
            )
            .count()
        )

    assert wrong == 0
    assert OrderItem.objects.exclude(line_total=F("unit_price") * F("quantity")).count() == 0
    assert set(Order.objects.values_list("currency", flat=True).distinct()) == {"USD", "EUR"}
    assert Order.objects.filter(currency="USD").count() > Order.objects.filter(currency="EUR").count()


def test_orders_and_messages_are_spread_over_the_past(seeded):
    now = timezone.now()
    oldest_order = Order.objects.order_by("placed_at").first()
    newest_message = Message.objects.order_by("-created_at").first()

    assert oldest_order.placed_at < now - timedelta(days=100)
    assert Order.objects.filter(placed_at__gt=now).count() == 0
    assert newest_message.created_at < now
    assert Message.objects.filter(created_at__lt=now - timedelta(days=60)).exists()
    assert Message.objects.filter(created_at__gt=now - timedelta(days=2)).exists()
    last = Message.objects.filter(ticket=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    assert Ticket.objects.annotate(last=Subquery(last)).exclude(last_message_at=F("last")).count() == 0


def test_tickets_are_about_the_customers_own_orders_and_tagged_with_a_reason(seeded):
    linked = Ticket.objects.filter(order__isnull=False)

    assert linked.count() >= 150
    assert linked.exclude(order__customer=F("customer")).count() == 0
    assert Ticket.objects.filter(tags__isnull=True).count() == 0
    assert Ticket.objects.filter(assignee__isnull=False).count() >= 150
    assert Tag.objects.get(name="complaint").is_complaint is True
    assert list(Tag.objects.filter(is_complaint=True).values_list("name", flat=True)) == ["complaint"]
    assert Ticket.objects.filter(tags__name="Where is my order?").exists()
    assert Message.objects.filter(direction=MessageDirection.NOTE, author__isnull=False).exists()
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND, author__isnull=True).count() == 0


def test_customers_write_in_every_target_language_with_names_that_fit(seeded):
    languages = set(Customer.objects.values_list("language", flat=True).distinct())
    scripts = {
        "ja": r"[\u3040-\u30ff\u4e00-\u9fff]",
        "ar": r"[\u0600-\u06ff]",
        "ru": r"[\u0400-\u04ff]",
        "ko": r"[\uac00-\ud7af]",
    }

    assert languages == {code for code, _name in settings.LANGUAGES}
    for language, script in scripts.items():
        for name in Customer.objects.filter(language=language).values_list("name", flat=True):
            assert re.search(script, name), (language, name)
    assert CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL, is_primary=True).count() == 200
    assert CustomerIdentity.objects.filter(kind=IdentityKind.PHONE, value__regex=r"^\+\d{8,15}$").count() >= 40
    assert 3 <= Customer.objects.filter(is_vip=True).count() <= 15


@pytest.mark.parametrize(("email", "first_name", "last_name", "role"), DEMO_STAFF)
def test_each_demo_staff_member_signs_in_with_the_demo_password_and_has_their_role(
    seeded, email, first_name, last_name, role
):
    user = authenticate(None, email=email, password=DEMO_PASSWORD)

    assert user is not None
    assert (user.first_name, user.last_name, user.role, user.is_staff) == (first_name, last_name, role, True)
    assert list(user.groups.values_list("name", flat=True)) == [Role(role).label]
    assert user.agent_profile.languages[0] == "en"


def test_two_teams_with_a_lead_and_members(seeded):
    teams = {team.name: team for team in Team.objects.select_related("lead").prefetch_related("members")}

    assert set(teams) == {"Orders & Shipping", "Billing & Returns"}
    for team in teams.values():
        assert team.lead is not None
        assert team.lead.role == Role.SUPERVISOR
        assert team.lead in team.members.all()
        assert team.members.filter(role=Role.AGENT).count() >= 2


def test_the_plan_is_the_same_for_the_same_seed_and_clock():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    assert repr(demo_store_plan(now=now)) == repr(demo_store_plan(now=now))
