"""The settings pages: only admins keep the rules and the auto-assignment switch; every agent sets availability."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Availability, Role
from accounts.models import AgentProfile, StaffSecuritySettings
from tests.accounts.factories import AgentProfileFactory, TeamFactory, UserFactory
from tests.tickets.factories import TagFactory
from tickets.choices import Channel, Priority
from tickets.models import PriorityRule, RoutingRule

pytestmark = pytest.mark.django_db

DENIED_ROLES = [Role.AGENT, Role.SUPERVISOR]
ALL_ROLES = [Role.AGENT, Role.SUPERVISOR, Role.ADMIN]


@pytest.fixture
def priority_rule():
    return PriorityRule.objects.create(name="Double charge", keywords=["charged twice"], priority=Priority.URGENT)


@pytest.fixture
def team():
    return TeamFactory(name="Billing")


@pytest.fixture
def routing_rule(team):
    return RoutingRule.objects.create(team=team, position=1, channels=[Channel.EMAIL], languages=["es"])


def priority_rule_form(**overrides):
    data = {
        "name": "VIP refunds",
        "priority": Priority.HIGH,
        "keywords": "refund, money back , ,refund",
        "is_vip_only": "on",
        "min_order_total": "250.00",
        "channels": [Channel.EMAIL, Channel.CHAT],
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def routing_rule_form(team, **overrides):
    data = {
        "team": team.pk,
        "position": "5",
        "channels": [Channel.WHATSAPP],
        "languages": "ES, pt-BR",
        "priorities": [Priority.URGENT, Priority.HIGH],
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def priority_rule_state():
    return list(PriorityRule.objects.order_by("pk").values())


def routing_rule_state():
    return list(RoutingRule.objects.order_by("pk").values()), list(RoutingRule.tags.through.objects.values())


# --- Who may open the pages -------------------------------------------------------------------------

ADMIN_PAGES = [
    ("settings:index", False),
    ("settings:priority-rules", False),
    ("settings:priority-rule-new", False),
    ("settings:priority-rule-edit", "priority_rule"),
    ("settings:priority-rule-delete", "priority_rule"),
    ("settings:routing-rules", False),
    ("settings:routing-rule-new", False),
    ("settings:routing-rule-edit", "routing_rule"),
    ("settings:routing-rule-delete", "routing_rule"),
    ("settings:teams", False),
]


def page_url(request, name, needs):
    if not needs:
        return reverse(name)
    return reverse(name, args=[request.getfixturevalue(needs).pk])


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(("name", "needs"), ADMIN_PAGES)
def test_only_admins_open_the_automation_settings(request, client, staff_by_role, role, name, needs):
    url = page_url(request, name, needs)
    client.force_login(staff_by_role[role])

    response = client.get(url)

    assert response.status_code == (200 if role == Role.ADMIN else 403)


@pytest.mark.parametrize(("name", "needs"), ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(request, client, name, needs):
    url = page_url(request, name, needs)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Priority rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", DENIED_ROLES)
def test_agents_and_supervisors_cannot_create_edit_or_delete_priority_rules(client, staff_by_role, role, priority_rule):
    before = priority_rule_state()
    client.force_login(staff_by_role[role])

    responses = [
        client.post(reverse("settings:priority-rule-new"), priority_rule_form()),
        client.post(reverse("settings:priority-rule-edit", args=[priority_rule.pk]), priority_rule_form()),
        client.post(reverse("settings:priority-rule-delete", args=[priority_rule.pk])),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert priority_rule_state() == before


def test_an_admin_creates_a_priority_rule_from_comma_separated_keywords(client, admin_user):
    client.force_login(admin_user)

    response = client.post(reverse("settings:priority-rule-new"), priority_rule_form())

    assert response.status_code == 302
    assert response["Location"] == reverse("settings:priority-rules")
    created = PriorityRule.objects.get()
    assert (created.name, created.priority, created.keywords) == ("VIP refunds", "high", ["refund", "money back"])
    assert (created.is_vip_only, created.min_order_total, created.channels) == (
        True,
        Decimal("250.00"),
        ["email", "chat"],
    )
    assert created.is_active is True


def test_an_admin_edits_a_priority_rule_and_the_form_shows_its_values(client, admin_user, priority_rule):
    client.force_login(admin_user)
    url = reverse("settings:priority-rule-edit", args=[priority_rule.pk])

    page = client.get(url)
    response = client.post(
        url,
        priority_rule_form(
            name="Double charge", keywords="charged twice, double charge", is_vip_only=None, is_active=None
        ),
    )

    assert 'value="charged twice"' in page.content.decode()
    assert response.status_code == 302
    priority_rule.refresh_from_db()
    assert priority_rule.keywords == ["charged twice", "double charge"]
    assert (priority_rule.is_vip_only, priority_rule.is_active) == (False, False)


def test_an_admin_deletes_a_priority_rule_after_confirming(client, admin_user, priority_rule):
    client.force_login(admin_user)
    url = reverse("settings:priority-rule-delete", args=[priority_rule.pk])

    confirmation = client.get(url)
    assert PriorityRule.objects.exists()
    response = client.post(url)

    assert confirmation.status_code == 200
    assert response.status_code == 302
    assert not PriorityRule.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keywords": "", "is_vip_only": None, "min_order_total": "", "channels": None}, "at least one condition"),
        ({"name": "Double charge"}, "already exists"),
        ({"priority": "critical"}, "Select a valid choice"),
        ({"min_order_total": "-5"}, "greater than or equal to 0"),
    ],
)
def test_a_priority_rule_form_with_errors_is_shown_again_and_saves_nothing(
    client, admin_user, priority_rule, overrides, message
):
    before = priority_rule_state()
    client.force_login(admin_user)

    response = client.post(reverse("settings:priority-rule-new"), priority_rule_form(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert priority_rule_state() == before


def test_editing_or_deleting_a_missing_priority_rule_is_not_found(client, admin_user):
    client.force_login(admin_user)

    assert client.get(reverse("settings:priority-rule-edit", args=[999])).status_code == 404
    assert client.post(reverse("settings:priority-rule-delete", args=[999])).status_code == 404


@pytest.mark.parametrize("count", [5, 50])
def test_the_priority_rule_list_costs_a_fixed_number_of_queries(client, admin_user, django_assert_num_queries, count):
    for number in range(count):
        PriorityRule.objects.create(name=f"Rule {number}", keywords=["x"], channels=["email"], priority=Priority.HIGH)
    StaffSecuritySettings.load()
    client.force_login(admin_user)

    # user (the session comes from the cache), security settings (MFA middleware, first read), the
    # admin's permissions (2), the rules
    with django_assert_num_queries(5):
        response = client.get(reverse("settings:priority-rules"))

    assert response.content.decode().count("data-rule=") == count


# --- Routing rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", DENIED_ROLES)
def test_agents_and_supervisors_cannot_create_edit_or_delete_routing_rules(
    client, staff_by_role, role, routing_rule, team
):
    before = routing_rule_state()
    client.force_login(staff_by_role[role])

    responses = [
        client.post(reverse("settings:routing-rule-new"), routing_rule_form(team)),
        client.post(reverse("settings:routing-rule-edit", args=[routing_rule.pk]), routing_rule_form(team)),
        client.post(reverse("settings:routing-rule-delete", args=[routing_rule.pk])),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert routing_rule_state() == before


def test_an_admin_creates_a_routing_rule(client, admin_user, team):
    refund, damaged = TagFactory(name="refund"), TagFactory(name="damaged")
    client.force_login(admin_user)

    response = client.post(reverse("settings:routing-rule-new"), routing_rule_form(team, tags=[refund.pk, damaged.pk]))

    assert response.status_code == 302
    created = RoutingRule.objects.get()
    assert (created.team, created.position, created.channels) == (team, 5, ["whatsapp"])
    assert (created.languages, created.priorities) == (["es", "pt"], ["urgent", "high"])
    assert set(created.tags.all()) == {refund, damaged}


def test_an_admin_edits_a_routing_rule(client, admin_user, routing_rule):
    other = TeamFactory(name="Returns")
    client.force_login(admin_user)
    url = reverse("settings:routing-rule-edit", args=[routing_rule.pk])

    page = client.get(url)
    response = client.post(url, routing_rule_form(other, channels=None, languages="", priorities=None, is_active=None))

    assert 'value="es"' in page.content.decode()
    assert response.status_code == 302
    routing_rule.refresh_from_db()
    assert (routing_rule.team, routing_rule.channels, routing_rule.languages) == (other, [], [])
    assert routing_rule.is_active is False


def test_a_routing_rule_with_a_wrong_language_code_is_refused(client, admin_user, team):
    client.force_login(admin_user)

    response = client.post(reverse("settings:routing-rule-new"), routing_rule_form(team, languages="Spanish!"))

    assert response.status_code == 400
    assert "Unsupported language Spanish!; use one of en, es," in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_an_admin_deletes_a_routing_rule(client, admin_user, routing_rule):
    client.force_login(admin_user)

    response = client.post(reverse("settings:routing-rule-delete", args=[routing_rule.pk]))

    assert response.status_code == 302
    assert not RoutingRule.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_the_routing_rule_list_costs_a_fixed_number_of_queries(client, admin_user, django_assert_num_queries, count):
    tags = [TagFactory(), TagFactory()]
    for position in range(count):
        created = RoutingRule.objects.create(team=TeamFactory(), position=position, priorities=["urgent"])
        created.tags.set(tags)
    StaffSecuritySettings.load()
    client.force_login(admin_user)

    # user, security settings, permissions (2), the rules with their teams, their tags
    with django_assert_num_queries(6):
        response = client.get(reverse("settings:routing-rules"))

    assert response.content.decode().count("data-rule=") == count


# --- The auto-assignment switch ---------------------------------------------------------------------


@pytest.mark.parametrize("role", DENIED_ROLES)
def test_agents_and_supervisors_cannot_turn_auto_assignment_off(client, staff_by_role, role, team):
    client.force_login(staff_by_role[role])

    response = client.post(reverse("settings:team-auto-assignment", args=[team.pk]), {})

    assert response.status_code == 403
    team.refresh_from_db()
    assert team.is_auto_assignment_enabled is True


def test_an_admin_turns_auto_assignment_off_and_on(client, admin_user, team):
    client.force_login(admin_user)
    url = reverse("settings:team-auto-assignment", args=[team.pk])

    off = client.post(url, {})
    team.refresh_from_db()
    is_off = team.is_auto_assignment_enabled
    on = client.post(url, {"is_enabled": "on"})
    team.refresh_from_db()

    assert (off.status_code, on.status_code) == (302, 302)
    assert (is_off, team.is_auto_assignment_enabled) == (False, True)


def test_the_switch_is_changed_by_post_only(client, admin_user, team):
    client.force_login(admin_user)

    assert client.get(reverse("settings:team-auto-assignment", args=[team.pk])).status_code == 405
    assert client.post(reverse("settings:team-auto-assignment", args=[999]), {}).status_code == 404


@pytest.mark.parametrize("count", [5, 50])
def test_the_team_list_costs_a_fixed_number_of_queries(client, admin_user, django_assert_num_queries, count):
    for _ in range(count):
        TeamFactory().members.add(UserFactory())
    StaffSecuritySettings.load()
    client.force_login(admin_user)

    # user, security settings, permissions (2), the teams with their counts
    with django_assert_num_queries(5):
        response = client.get(reverse("settings:teams"))

    assert response.content.decode().count("data-team=") == count


# --- Availability -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_staff_member_sets_their_own_availability(client, staff_by_role, role):
    user = staff_by_role[role]
    AgentProfileFactory(user=user, availability=Availability.AVAILABLE)
    client.force_login(user)

    away = client.post(reverse("settings:availability"), {"availability": "away", "next": "/inbox/"})
    is_away = AgentProfile.objects.get(user=user).availability
    back = client.post(reverse("settings:availability"), {"availability": "available"})

    assert (away.status_code, away["Location"]) == (302, "/inbox/")
    assert (back.status_code, back["Location"]) == (302, "/")
    assert (is_away, AgentProfile.objects.get(user=user).availability) == ("away", "available")


def test_an_htmx_toggle_gets_the_new_toggle_back(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("settings:availability"), {"availability": "available"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="availability" value="away"' in body
    assert AgentProfile.objects.get(user=agent).availability == "available"


@pytest.mark.parametrize("value", ["offline", "napping", ""])
def test_only_available_or_away_can_be_chosen(client, agent, value):
    AgentProfileFactory(user=agent, availability=Availability.AVAILABLE)
    client.force_login(agent)

    response = client.post(reverse("settings:availability"), {"availability": value})

    assert response.status_code == 400
    assert AgentProfile.objects.get(user=agent).availability == Availability.AVAILABLE


def test_availability_is_changed_by_post_only_and_never_for_anonymous_visitors(client, agent):
    AgentProfileFactory(user=agent, availability=Availability.AWAY)

    anonymous = client.post(reverse("settings:availability"), {"availability": "available"})
    client.force_login(agent)
    by_get = client.get(reverse("settings:availability"))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    assert by_get.status_code == 405
    assert AgentProfile.objects.get(user=agent).availability == Availability.AWAY


def test_a_foreign_next_address_is_not_followed(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("settings:availability"), {"availability": "away", "next": "https://evil.example/phish"}
    )

    assert (response.status_code, response["Location"]) == (302, "/")
