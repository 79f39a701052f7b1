"""Routing: rules pick the team, auto-assignment picks the agent, the queue waits for capacity."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Availability, Role
from accounts.models import AgentProfile
from accounts.services import agent_set_availability
from helpdesk.celery import app as celery_app
from helpdesk.core.exceptions import ApplicationError
from tests.accounts.factories import AgentProfileFactory, TeamFactory, UserFactory
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.tickets.factories import TagFactory, TicketFactory
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models import Macro, RoutingRule, Tag, Ticket, TicketActivity
from tickets.services.ingest import InboundMessage, ingest
from tickets.services.lifecycle import ticket_change_status, ticket_set_tags
from tickets.services.macros import macro_apply
from tickets.services.routing import (
    routing_rule_create,
    routing_rule_delete,
    routing_rule_update,
    team_assign_waiting,
    team_set_auto_assignment,
    ticket_route,
)
from tickets.tasks import assign_waiting_tickets_task, route_tagged_ticket_task

S = TicketStatus


def agent_in(team, *, capacity=5, availability=Availability.AVAILABLE, languages=("en",), last_assigned_at=None):
    profile = AgentProfileFactory(
        ticket_capacity=capacity,
        availability=availability,
        languages=list(languages),
        last_assigned_at=last_assigned_at,
    )
    team.members.add(profile.user)
    return profile.user


def give(user, count, *, status=S.OPEN):
    TicketFactory.create_batch(count, assignee=user, status=status)


def new_ticket(**fields):
    fields.setdefault("status", S.NEW)
    return TicketFactory(**fields)


def route_rule(team, **fields):
    tags = fields.pop("tags", [])
    created = RoutingRule.objects.create(team=team, **fields)
    created.tags.set(tags)
    return created


def scheduled_assignments(callbacks):
    """The team ids of the assign-waiting tasks among on-commit callbacks."""
    return [
        callback.args[0]
        for callback in callbacks
        if isinstance(callback, partial) and callback.func == assign_waiting_tickets_task.delay
    ]


def load_of(user):
    return Ticket.objects.filter(assignee=user, status__in=[S.NEW, S.OPEN, S.ON_HOLD]).count()


@pytest.fixture
def eager_tasks():
    """Tasks enqueued on commit run in-process, as a worker would run them."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


# --- Which team -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_matching_rule_by_position_names_the_team():
    billing, general, never = TeamFactory(), TeamFactory(), TeamFactory()
    route_rule(general, position=20)
    route_rule(never, position=5, is_active=False)
    route_rule(billing, position=10, channels=[Channel.EMAIL])
    ticket = new_ticket(channel=Channel.EMAIL)

    outcome = ticket_route(ticket=ticket)

    assert outcome.team == billing
    ticket.refresh_from_db()
    assert ticket.team == billing
    activity = TicketActivity.objects.get(ticket=ticket)
    assert activity.kind == TicketActivity.Kind.ASSIGNMENT
    assert activity.details == {
        "before": {"assignee": None, "team": None},
        "after": {"assignee": None, "team": billing.pk},
        "routing_rule": outcome.rule.pk,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ({"channels": [Channel.CHAT, Channel.SMS]}, {"channel": Channel.SMS}, {"channel": Channel.EMAIL}),
        ({"priorities": [Priority.URGENT]}, {"priority": Priority.URGENT}, {"priority": Priority.HIGH}),
        ({"languages": ["es"]}, {"language": "es"}, {"language": "en"}),
        ({"languages": ["pt"]}, {"language": "pt-BR"}, {"language": "es"}),
    ],
)
def test_each_condition_routes_only_matching_tickets(condition, matching, other):
    team = TeamFactory()
    route_rule(team, **condition)

    def ticket_with(facts):
        facts = dict(facts)
        language = facts.pop("language", "en")
        return new_ticket(customer=CustomerFactory(language=language), **facts)

    assert ticket_route(ticket=ticket_with(matching)).team == team
    assert ticket_route(ticket=ticket_with(other)).team is None


@pytest.mark.django_db
def test_a_tag_rule_matches_a_ticket_with_any_of_its_tags():
    team = TeamFactory()
    refunds, damaged, other = TagFactory(name="refund"), TagFactory(name="damaged"), TagFactory(name="other")
    route_rule(team, tags=[refunds, damaged])
    tagged = new_ticket()
    tagged.tags.add(damaged, other)
    untagged, elsewhere = new_ticket(), new_ticket()
    elsewhere.tags.add(other)

    assert ticket_route(ticket=tagged).team == team
    assert ticket_route(ticket=untagged).team is None
    assert ticket_route(ticket=elsewhere).team is None


@pytest.mark.django_db
def test_all_conditions_of_a_rule_must_hold():
    team = TeamFactory()
    route_rule(team, channels=[Channel.CHAT], languages=["es"], priorities=[Priority.HIGH])
    spanish = CustomerFactory(language="es")

    assert ticket_route(ticket=new_ticket(channel=Channel.CHAT, priority=Priority.HIGH, customer=spanish)).team == team
    assert ticket_route(ticket=new_ticket(channel=Channel.EMAIL, priority=Priority.HIGH, customer=spanish)).team is None
    assert ticket_route(ticket=new_ticket(channel=Channel.CHAT, priority=Priority.LOW, customer=spanish)).team is None
    assert ticket_route(ticket=new_ticket(channel=Channel.CHAT, priority=Priority.HIGH)).team is None


@pytest.mark.django_db
def test_without_a_matching_rule_the_ticket_stays_in_the_general_queue():
    route_rule(TeamFactory(), channels=[Channel.PHONE])
    ticket = new_ticket(channel=Channel.EMAIL)

    outcome = ticket_route(ticket=ticket)

    assert (outcome.team, outcome.rule, outcome.assignee) == (None, None, None)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee, ticket.status) == (None, None, S.NEW)
    assert not TicketActivity.objects.exists()


@pytest.mark.django_db
def test_a_ticket_that_already_has_a_team_keeps_it_and_is_assigned_within_it():
    own, ruled = TeamFactory(), TeamFactory()
    route_rule(ruled)
    member = agent_in(own)
    agent_in(ruled)
    ticket = new_ticket(team=own)

    outcome = ticket_route(ticket=ticket)

    assert (outcome.team, outcome.rule, outcome.assignee) == (own, None, member)


# --- Which agent ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_least_loaded_available_agent_gets_the_ticket():
    team = TeamFactory()
    route_rule(team)
    busy, light = agent_in(team), agent_in(team)
    give(busy, 3)
    give(light, 1)
    ticket = new_ticket()

    outcome = ticket_route(ticket=ticket)

    assert outcome.assignee == light
    ticket.refresh_from_db()
    assert ticket.assignee == light
    assert ticket.status == S.OPEN  # as with a manual assignment, an owned ticket is open
    opened = TicketActivity.objects.get(ticket=ticket, kind=TicketActivity.Kind.STATUS)
    assert (opened.actor, opened.details) == (None, {"before": S.NEW, "after": S.OPEN})
    activity = TicketActivity.objects.filter(ticket=ticket, kind=TicketActivity.Kind.ASSIGNMENT).last()
    assert activity.details == {
        "before": {"assignee": None, "team": team.pk},
        "after": {"assignee": light.pk, "team": team.pk},
        "auto_assignment": True,
    }


@pytest.mark.django_db
def test_three_tickets_to_two_equal_agents_alternate():
    team = TeamFactory()
    route_rule(team)
    recent = agent_in(team, last_assigned_at=timezone.now() - timedelta(minutes=5))
    never = agent_in(team)

    assignees = [ticket_route(ticket=new_ticket()).assignee for _ in range(3)]

    assert assignees == [never, recent, never]


@pytest.mark.django_db
def test_among_equally_loaded_agents_the_longest_waiting_goes_next():
    team = TeamFactory()
    route_rule(team)
    now = timezone.now()
    first = agent_in(team, last_assigned_at=now - timedelta(hours=3))
    second = agent_in(team, last_assigned_at=now - timedelta(hours=2))
    third = agent_in(team, last_assigned_at=now - timedelta(hours=1))
    assignees = []
    for _ in range(4):
        ticket = new_ticket()
        assignees.append(ticket_route(ticket=ticket).assignee)
        Ticket.objects.filter(pk=ticket.pk).update(status=S.SOLVED)  # loads stay equal: pure round robin

    assert assignees == [first, second, third, first]
    assert AgentProfile.objects.get(user=first).last_assigned_at > AgentProfile.objects.get(user=third).last_assigned_at


@pytest.mark.django_db
def test_an_agent_at_capacity_gets_nothing_and_the_ticket_waits_in_the_team_queue():
    team = TeamFactory()
    route_rule(team)
    full = agent_in(team, capacity=2)
    give(full, 2)
    ticket = new_ticket()

    outcome = ticket_route(ticket=ticket)

    assert (outcome.team, outcome.assignee) == (team, None)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee, ticket.status) == (team, None, S.NEW)
    assert load_of(full) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "counts"),
    [(S.NEW, True), (S.OPEN, True), (S.ON_HOLD, True), (S.PENDING, False), (S.SOLVED, False), (S.CLOSED, False)],
)
def test_new_open_and_on_hold_tickets_count_towards_capacity_pending_does_not(status, counts):
    team = TeamFactory()
    route_rule(team)
    member = agent_in(team, capacity=1)
    give(member, 1, status=status)

    outcome = ticket_route(ticket=new_ticket())

    assert outcome.assignee == (None if counts else member)


@pytest.mark.django_db
@pytest.mark.parametrize("availability", [Availability.AWAY, Availability.OFFLINE])
def test_agents_who_are_not_available_are_skipped(availability):
    team = TeamFactory()
    route_rule(team)
    absent = agent_in(team, availability=availability)
    present = agent_in(team)
    give(present, 4)

    assert ticket_route(ticket=new_ticket()).assignee == present
    assert load_of(absent) == 0


@pytest.mark.django_db
def test_inactive_staff_and_other_teams_members_are_skipped():
    team = TeamFactory()
    route_rule(team)
    left = agent_in(team)
    left.is_active = False
    left.save()
    agent_in(TeamFactory())

    assert ticket_route(ticket=new_ticket()).assignee is None


@pytest.mark.django_db
def test_a_language_rule_prefers_agents_who_speak_the_customers_language():
    team = TeamFactory()
    route_rule(team, languages=["es"])
    agent_in(team, languages=["en"])
    speaker = agent_in(team, languages=["en", "es"])
    give(speaker, 3)  # busier, but speaks Spanish

    assert ticket_route(ticket=new_ticket(customer=CustomerFactory(language="es"))).assignee == speaker


@pytest.mark.django_db
def test_without_a_language_rule_load_decides_over_language():
    team = TeamFactory()
    route_rule(team, channels=[Channel.EMAIL])
    idle = agent_in(team, languages=["en"])
    speaker = agent_in(team, languages=["es"])
    give(speaker, 3)

    assert ticket_route(ticket=new_ticket(customer=CustomerFactory(language="es"))).assignee == idle


@pytest.mark.django_db
def test_when_every_speaker_is_full_someone_else_takes_the_ticket():
    team = TeamFactory()
    route_rule(team, languages=["es"])
    other = agent_in(team, languages=["en"])
    speaker = agent_in(team, languages=["es"], capacity=1)
    give(speaker, 1)

    assert ticket_route(ticket=new_ticket(customer=CustomerFactory(language="es"))).assignee == other


@pytest.mark.django_db
def test_with_auto_assignment_off_routing_only_sets_the_team():
    team = TeamFactory(is_auto_assignment_enabled=False)
    route_rule(team)
    agent_in(team)
    ticket = new_ticket()

    outcome = ticket_route(ticket=ticket)

    assert (outcome.team, outcome.assignee) == (team, None)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (team, None)


@pytest.mark.django_db
@pytest.mark.parametrize(("rules", "members"), [(2, 2), (12, 15)])
def test_routing_costs_the_same_queries_however_many_rules_and_agents(django_assert_num_queries, rules, members):
    team = TeamFactory()
    for position in range(rules - 1):
        route_rule(TeamFactory(), position=position, channels=[Channel.PHONE], tags=[TagFactory()])
    route_rule(team, position=rules, languages=["en"])
    for _ in range(members):
        give(agent_in(team), 1)
    ticket_route(ticket=Ticket.objects.select_related("customer").get(pk=new_ticket().pk))  # reads the rules
    ticket = Ticket.objects.select_related("customer").get(pk=new_ticket().pk)

    # the ticket's tags (some rules ask for tags; the rules themselves come from the rule cache); the
    # team: update + refresh, activity; auto-assignment: lock the agents, their loads, last assigned,
    # the waiting tickets, ticket update + refresh, activity (no savepoints inside the caller's transaction)
    with django_assert_num_queries(11):
        outcome = ticket_route(ticket=ticket)

    assert outcome.assignee is not None


@pytest.mark.django_db
def test_rules_are_read_once_and_again_when_one_changes(django_assert_num_queries):
    first_team, second_team = TeamFactory(is_auto_assignment_enabled=False), TeamFactory()
    rule = route_rule(first_team, languages=["en"])
    assert ticket_route(ticket=new_ticket()).team == first_team  # reads the rules

    ticket = new_ticket()
    with django_assert_num_queries(3):  # the team: update + refresh, activity; no rule query
        assert ticket_route(ticket=ticket).team == first_team

    rule.team = second_team
    rule.save()
    second_team.is_auto_assignment_enabled = False
    second_team.save()

    assert ticket_route(ticket=new_ticket()).team == second_team


# --- Routing again once a ticket has contact reasons ------------------------------------------------


def routing_activities(ticket):
    return list(
        TicketActivity.objects.filter(ticket=ticket, kind=TicketActivity.Kind.ASSIGNMENT)
        .order_by("id")
        .values_list("details__after", flat=True)
    )


@pytest.mark.django_db
def test_a_rule_asking_for_a_contact_reason_routes_the_ticket_once_it_is_given_one(
    django_capture_on_commit_callbacks, eager_tasks, agent
):
    refund = TagFactory(name="refund")
    team = TeamFactory()
    rule = route_rule(team, tags=[refund])
    member = agent_in(team)
    ticket = new_ticket()
    assert ticket_route(ticket=ticket).team is None  # intake: no contact reasons yet

    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["refund"])

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee, ticket.status) == (team, member, S.OPEN)
    assert routing_activities(ticket) == [
        {"assignee": None, "team": team.pk},
        {"assignee": member.pk, "team": team.pk},
    ]
    assert TicketActivity.objects.filter(ticket=ticket, details__routing_rule=rule.pk).count() == 1


@pytest.mark.django_db
def test_routing_after_tagging_twice_routes_once(django_capture_on_commit_callbacks, agent):
    team = TeamFactory(is_auto_assignment_enabled=False)
    route_rule(team, tags=[TagFactory(name="refund")])
    ticket = new_ticket()
    with django_capture_on_commit_callbacks() as callbacks:
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["refund"])

    first = route_tagged_ticket_task(ticket.pk)
    second = route_tagged_ticket_task(ticket.pk)

    assert [callback.func for callback in callbacks if isinstance(callback, partial)] == [
        route_tagged_ticket_task.delay
    ]
    assert (first, second) == (team.pk, None)
    assert routing_activities(ticket) == [{"assignee": None, "team": team.pk}]


@pytest.mark.django_db
def test_a_ticket_with_a_team_is_not_routed_again_when_tagged(django_capture_on_commit_callbacks, agent):
    mine, other = TeamFactory(), TeamFactory()
    route_rule(other, tags=[TagFactory(name="refund")])
    ticket = new_ticket(team=mine)

    with django_capture_on_commit_callbacks() as callbacks:
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["refund"])

    assert [callback for callback in callbacks if isinstance(callback, partial)] == []
    assert route_tagged_ticket_task(ticket.pk) is None
    ticket.refresh_from_db()
    assert ticket.team == mine


@pytest.mark.django_db
def test_a_macro_adding_a_contact_reason_routes_the_ticket(django_capture_on_commit_callbacks, eager_tasks, agent):
    team = TeamFactory(is_auto_assignment_enabled=False)
    route_rule(team, tags=[TagFactory(name="refund")])
    ticket = new_ticket(status=S.OPEN, assignee=agent)
    macro = Macro.objects.create(name="Refund", body="We are on it.")
    macro.add_tags.set(Tag.objects.filter(name="refund"))

    with django_capture_on_commit_callbacks(execute=True):
        macro_apply(macro_id=macro.pk, ticket_id=ticket.pk, agent=agent, expected_version=None)

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (team, agent)


# --- The waiting queue ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_oldest_waiting_ticket_goes_to_the_agent_who_becomes_available(
    django_capture_on_commit_callbacks, eager_tasks
):
    team = TeamFactory()
    returning = agent_in(team, capacity=1, availability=Availability.AWAY)
    newer = new_ticket(team=team)
    older = new_ticket(team=team)
    Ticket.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assigned_elsewhere = new_ticket(team=TeamFactory())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        agent_set_availability(user=returning, availability=Availability.AVAILABLE)

    assert scheduled_assignments(callbacks) == [team.pk]
    older.refresh_from_db()
    newer.refresh_from_db()
    assigned_elsewhere.refresh_from_db()
    assert older.assignee == returning
    assert older.status == S.OPEN
    assert newer.assignee is None  # capacity 1: full now
    assert assigned_elsewhere.assignee is None


@pytest.mark.django_db
def test_a_new_ticket_waits_behind_older_ones_for_a_freed_slot():
    team = TeamFactory()
    route_rule(team)
    member = agent_in(team, capacity=1)
    waiting = new_ticket(team=team)  # the slot freed before the queue got to it

    fresh = new_ticket()
    outcome = ticket_route(ticket=fresh)

    waiting.refresh_from_db()
    fresh.refresh_from_db()
    assert (outcome.team, outcome.assignee) == (team, None)
    assert (waiting.assignee, waiting.status) == (member, S.OPEN)
    assert (fresh.team, fresh.assignee, fresh.status) == (team, None, S.NEW)


@pytest.mark.django_db
def test_with_room_for_more_the_older_waiting_tickets_go_first_then_the_new_one():
    team = TeamFactory()
    route_rule(team)
    member = agent_in(team, capacity=2)
    waiting = new_ticket(team=team)
    ticket = new_ticket()

    outcome = ticket_route(ticket=ticket)

    waiting.refresh_from_db()
    ticket.refresh_from_db()
    assert outcome.assignee == member
    assert (waiting.assignee, ticket.assignee) == (member, member)
    assert list(
        TicketActivity.objects.filter(kind=TicketActivity.Kind.ASSIGNMENT, details__auto_assignment=True)
        .order_by("id")
        .values_list("ticket_id", flat=True)
    ) == [waiting.pk, ticket.pk]


@pytest.mark.django_db
def test_going_away_hands_out_nothing(django_capture_on_commit_callbacks):
    team = TeamFactory()
    member = agent_in(team)
    new_ticket(team=team)

    with django_capture_on_commit_callbacks() as callbacks:
        profile = agent_set_availability(user=member, availability=Availability.AWAY)

    assert scheduled_assignments(callbacks) == []
    assert profile.availability == Availability.AWAY
    assert profile.availability_changed_at is not None


@pytest.mark.django_db
def test_solving_a_ticket_frees_capacity_for_the_oldest_waiting_one(
    django_capture_on_commit_callbacks, eager_tasks, agent
):
    team = TeamFactory()
    member = agent_in(team, capacity=1)
    working = TicketFactory(team=team, assignee=member, status=S.OPEN)
    CustomerIdentityFactory(customer=working.customer)  # the solve confirmation goes out by email
    waiting = new_ticket(team=team)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket_change_status(ticket_id=working.pk, status=S.SOLVED, actor=member)

    assert scheduled_assignments(callbacks) == [team.pk]
    waiting.refresh_from_db()
    assert waiting.assignee == member


@pytest.mark.django_db
@pytest.mark.parametrize(("previous", "status"), [(S.OPEN, S.ON_HOLD), (S.PENDING, S.SOLVED), (S.ON_HOLD, S.OPEN)])
def test_a_status_change_that_frees_nothing_enqueues_nothing(django_capture_on_commit_callbacks, previous, status):
    team = TeamFactory()
    member = agent_in(team, capacity=1)
    working = TicketFactory(team=team, assignee=member, status=previous)
    CustomerIdentityFactory(customer=working.customer)

    with django_capture_on_commit_callbacks() as callbacks:
        ticket_change_status(ticket_id=working.pk, status=status, actor=member)

    assert scheduled_assignments(callbacks) == []


@pytest.mark.django_db
def test_a_freed_agent_in_a_team_without_auto_assignment_enqueues_nothing(django_capture_on_commit_callbacks):
    team = TeamFactory(is_auto_assignment_enabled=False)
    member = agent_in(team, capacity=1)
    working = TicketFactory(team=team, assignee=member, status=S.OPEN)
    CustomerIdentityFactory(customer=working.customer)

    with django_capture_on_commit_callbacks() as callbacks:
        ticket_change_status(ticket_id=working.pk, status=S.PENDING, actor=member)

    assert scheduled_assignments(callbacks) == []


@pytest.mark.django_db
def test_turning_auto_assignment_on_hands_out_the_waiting_tickets(
    django_capture_on_commit_callbacks, eager_tasks, admin_user
):
    team = TeamFactory(is_auto_assignment_enabled=False)
    member = agent_in(team)
    waiting = [new_ticket(team=team) for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        team_set_auto_assignment(actor=admin_user, team_id=team.pk, is_enabled=True)

    assert [Ticket.objects.get(pk=ticket.pk).assignee for ticket in waiting] == [member, member, member]


@pytest.mark.django_db
def test_waiting_tickets_are_spread_until_everyone_is_full_and_a_second_run_changes_nothing():
    team = TeamFactory()
    first, second = agent_in(team, capacity=2), agent_in(team, capacity=3)
    give(second, 1)
    waiting = [new_ticket(team=team) for _ in range(6)]
    new_ticket(team=team, status=S.PENDING)  # waits on the customer, not on an agent
    TicketFactory(team=team, assignee=UserFactory(role=Role.AGENT), status=S.OPEN)

    assert team_assign_waiting(team=team) == 4
    assert team_assign_waiting(team=team) == 0

    assert (load_of(first), load_of(second)) == (2, 3)
    assigned = [Ticket.objects.get(pk=ticket.pk).assignee_id is not None for ticket in waiting]
    assert assigned == [True, True, True, True, False, False]  # the oldest first


@pytest.mark.django_db
def test_a_team_with_auto_assignment_off_keeps_its_queue():
    team = TeamFactory(is_auto_assignment_enabled=False)
    agent_in(team)
    ticket = new_ticket(team=team)

    assert team_assign_waiting(team=team) == 0
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.django_db
def test_availability_must_be_a_known_value_and_a_missing_profile_is_created():
    member = UserFactory(role=Role.SUPERVISOR)

    with pytest.raises(ApplicationError):
        agent_set_availability(user=member, availability="napping")
    profile = agent_set_availability(user=member, availability=Availability.AWAY)

    assert profile.user == member
    assert AgentProfile.objects.get(user=member).availability == Availability.AWAY


# --- Intake -----------------------------------------------------------------------------------------


def _inbound_email(sender, language=None):
    return InboundMessage(
        channel=Channel.EMAIL,
        sender_kind="email",
        sender_address=sender,
        subject="Where is my parcel?",
        body_text="It has been two weeks.",
        external_message_id=f"<parcel-{sender}>",
        language=language,
    )


@pytest.mark.django_db
def test_a_new_email_ticket_is_routed_and_assigned_at_intake(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as unrouted:
        ingest(inbound=_inbound_email("before@example.test"))
    team = TeamFactory()
    route_rule(team, channels=[Channel.EMAIL])
    member = agent_in(team)

    with django_capture_on_commit_callbacks() as routed:
        result = ingest(inbound=_inbound_email("maria@example.test"))

    assert (result.ticket.team, result.ticket.assignee, result.ticket.status) == (team, member, S.OPEN)
    stored = Ticket.objects.get(pk=result.ticket.pk)
    assert (stored.team, stored.assignee, stored.version) == (team, member, result.ticket.version)
    assert len(routed) == len(unrouted)  # no extra event: the ticket's "created" event already says it all


# --- Concurrency ------------------------------------------------------------------------------------


def _in_thread(work, errors):
    def run():
        try:
            work()
        except Exception as error:  # reported by the test that started the thread
            errors.append(error)
        finally:
            connection.close()

    return threading.Thread(target=run)


def _route(ticket_id):
    ticket = Ticket.objects.select_related("customer").get(pk=ticket_id)
    return ticket_route(ticket=ticket)


@pytest.mark.django_db(transaction=True)
def test_a_second_assigner_waits_for_the_first_to_commit_and_sees_the_agent_full():
    team = TeamFactory()
    route_rule(team)
    member = agent_in(team, capacity=1)
    first, second = new_ticket(), new_ticket()
    first_routed, errors = threading.Event(), []
    second_finished_at = []

    def first_assigner():
        with transaction.atomic():
            _route(first.pk)
            first_routed.set()
            time.sleep(0.5)  # hold the agent's row while the second assigner tries

    def second_assigner():
        first_routed.wait(5)
        _route(second.pk)
        second_finished_at.append(time.monotonic())

    threads = [_in_thread(first_assigner, errors), _in_thread(second_assigner, errors)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert second_finished_at[0] - started >= 0.5  # it waited on the lock
    assert Ticket.objects.get(pk=first.pk).assignee == member
    second_ticket = Ticket.objects.get(pk=second.pk)
    assert (second_ticket.team, second_ticket.assignee) == (team, None)
    assert load_of(member) == 1


@pytest.mark.django_db(transaction=True)
def test_tickets_routed_at_once_never_push_an_agent_over_capacity():
    team = TeamFactory()
    route_rule(team)
    members = [agent_in(team, capacity=2), agent_in(team, capacity=2)]
    tickets = [new_ticket() for _ in range(8)]
    start, errors = threading.Barrier(len(tickets)), []

    def assigner(ticket_id):
        def work():
            start.wait(5)
            with transaction.atomic():
                _route(ticket_id)

        return work

    threads = [_in_thread(assigner(ticket.pk), errors) for ticket in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert errors == []
    assert [load_of(member) for member in members] == [2, 2]
    assert Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets], assignee__isnull=True).count() == 4


# --- Upkeep -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rule_language_is_stored_as_customers_languages_are_and_matches_them(admin_user):
    team = TeamFactory(is_auto_assignment_enabled=False)

    rule = routing_rule_create(actor=admin_user, team=team, languages=["pt-BR", "zh_CN", "ZH-Hant", "en-gb"])
    result = ingest(inbound=_inbound_email("ana@example.test", language="pt"))  # as the API stores pt-BR

    assert rule.languages == ["pt", "zh-hans", "zh-hant", "en"]
    assert (result.ticket.customer.language, result.ticket.team) == ("pt", team)


@pytest.mark.django_db
@pytest.mark.parametrize("languages", [["Spanish!"], ["es", "xx"], ["klingon"]])
def test_a_rule_language_that_is_not_supported_is_refused(admin_user, languages):
    with pytest.raises(ApplicationError) as error:
        routing_rule_create(actor=admin_user, team=TeamFactory(), languages=languages)

    assert error.value.message == (
        f"Unsupported language {languages[-1]}; use one of en, es, zh-hans, zh-hant, fr, id, ja, ko, ru, de, tr, "
        "ar, pt."
    )
    assert not RoutingRule.objects.exists()


@pytest.mark.django_db
def test_routing_rules_are_created_updated_and_deleted_with_clean_values(admin_user):
    team, other = TeamFactory(), TeamFactory()
    tag = TagFactory(name="refund")

    created = routing_rule_create(
        actor=admin_user, team=team, position=3, channels=[Channel.EMAIL], tags=[tag], languages=[" ES ", "pt-BR", "es"]
    )
    updated = routing_rule_update(
        actor=admin_user,
        rule_id=created.pk,
        team=other,
        position=1,
        is_active=False,
        channels=[],
        tags=[],
        languages=[],
        priorities=[Priority.URGENT],
    )

    assert created.languages == ["es", "pt"]
    updated.refresh_from_db()
    assert (updated.team, updated.position, updated.is_active, updated.priorities) == (other, 1, False, ["urgent"])
    assert list(updated.tags.all()) == []
    with pytest.raises(ApplicationError):
        routing_rule_create(actor=admin_user, team=team, languages=["Spanish!"])
    with pytest.raises(ApplicationError):
        routing_rule_create(actor=admin_user, team=team, channels=["fax"])
    routing_rule_delete(actor=admin_user, rule_id=created.pk)
    assert not RoutingRule.objects.exists()


@pytest.mark.django_db
def test_the_migration_stores_existing_languages_in_their_supported_form():
    from django.apps import apps

    rule = RoutingRule.objects.create(team=TeamFactory(), languages=["pt-BR", "pt", "ES", "klingon"])
    profile = AgentProfileFactory(languages=["zh_CN", "en-gb"])
    tickets_migration = importlib.import_module("tickets.migrations.0013_routing_rule_languages_supported")
    accounts_migration = importlib.import_module("accounts.migrations.0003_agent_languages_supported")

    tickets_migration.normalise_languages(apps, None)
    accounts_migration.normalise_languages(apps, None)

    rule.refresh_from_db()
    profile.refresh_from_db()
    assert rule.languages == ["pt", "es", "klingon"]  # an unsupported code is left for the admin to correct
    assert profile.languages == ["zh-hans", "en"]
