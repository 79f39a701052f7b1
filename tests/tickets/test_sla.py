"""SLA clocks: policy and calendar choice, targets through a ticket's life, warnings, breaches, acknowledgement."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from tests.accounts.factories import TeamFactory, UserFactory
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.tickets.factories import TicketFactory
from tickets import events
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models import (
    BusinessCalendar,
    BusinessHoursInterval,
    CalendarAssignment,
    Holiday,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketActivity,
)
from tickets.services.acknowledgement import acknowledgement_text
from tickets.services.conversation import ticket_reply
from tickets.services.ingest import InboundMessage, ingest
from tickets.services.lifecycle import ticket_assign, ticket_change_status, ticket_escalate, ticket_set_priority
from tickets.services.sla import (
    CalendarChoice,
    sla_calendar_for,
    sla_follow_policy,
    sla_mark_breaches,
    sla_policy_for,
    sla_send_warnings,
    sla_start,
    sla_warning_horizon,
)
from tickets.sla_hooks import sla_after_agent_reply, sla_after_customer_message, sla_after_status_change
from tickets.tasks import (
    complaints_send_extension_notices_task,
    sla_mark_breaches_task,
    sla_send_warnings_task,
    tickets_close_solved_task,
    tickets_remind_pending_task,
)

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
S = TicketStatus
K = SlaTarget.Kind


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office_calendar(*, name="Berlin office", zone="Europe/Berlin", hours=((9, 17),), holidays=(), **fields):
    calendar = BusinessCalendar.objects.create(name=name, timezone=zone, **fields)
    for weekday in range(5):
        for opens, closes in hours:
            BusinessHoursInterval.objects.create(
                calendar=calendar, weekday=weekday, starts_at=time(opens), ends_at=time(closes)
            )
    for day in holidays:
        Holiday.objects.create(calendar=calendar, date=day, name="Holiday")
    return calendar


def policy(**fields):
    fields.setdefault("name", f"policy {SlaPolicy.objects.count() + 1}")
    return SlaPolicy.objects.create(**fields)


def ticket_created(at: datetime, *, status=S.NEW, **fields) -> Ticket:
    ticket = TicketFactory(status=status, **fields)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    ticket.refresh_from_db()
    return ticket


def targets(ticket: Ticket) -> dict[str, SlaTarget]:
    return {target.kind: target for target in SlaTarget.objects.filter(ticket=ticket)}


def next_due(ticket: Ticket) -> datetime | None:
    return Ticket.objects.values_list("sla_next_due_at", flat=True).get(pk=ticket.pk)


def change_status(ticket: Ticket, status: str, at: datetime) -> None:
    previous, ticket.status, ticket.status_changed_at = ticket.status, status, at
    Ticket.objects.filter(pk=ticket.pk).update(status=status, status_changed_at=at)
    sla_after_status_change(ticket=ticket, previous=previous)


@pytest.fixture
def notifications(monkeypatch):
    sent: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(events, "_notifiers", [lambda user_id, kind, payload: sent.append((user_id, kind, payload))])
    return sent


# --- Which policy, which calendar ------------------------------------------------------------------


@pytest.fixture
def policies():
    return {
        "inactive": policy(position=0, is_active=False),
        "vip": policy(position=1, is_vip_only=True),
        "urgent": policy(position=2, priorities=[Priority.URGENT, Priority.HIGH]),
        "chat": policy(position=3, channels=[Channel.CHAT]),
        "urgent chat": policy(position=3, priorities=[Priority.URGENT], channels=[Channel.CHAT]),
        "any": policy(position=9),
    }


@pytest.mark.parametrize(
    ("is_vip", "priority", "channel", "expected"),
    [
        (False, Priority.NORMAL, Channel.EMAIL, "any"),
        (True, Priority.NORMAL, Channel.EMAIL, "vip"),
        (False, Priority.HIGH, Channel.EMAIL, "urgent"),
        (False, Priority.LOW, Channel.CHAT, "chat"),
        (False, Priority.URGENT, Channel.CHAT, "urgent"),
    ],
)
def test_the_first_active_policy_by_position_whose_conditions_hold_applies(
    policies, is_vip, priority, channel, expected
):
    ticket = TicketFactory(customer=CustomerFactory(is_vip=is_vip), priority=priority, channel=channel)

    assert sla_policy_for(ticket=ticket) == policies[expected]


def test_no_matching_policy_means_no_sla():
    policy(is_active=False)
    policy(channels=[Channel.CHAT])

    assert sla_policy_for(ticket=TicketFactory(channel=Channel.EMAIL)) is None


def test_the_calendar_is_the_policys_then_the_teams_then_the_channels_then_the_default():
    team = TeamFactory()
    own, for_team, for_channel, default = (
        office_calendar(name=name) for name in ("policy", "team", "channel", "default")
    )
    BusinessCalendar.objects.filter(pk=default.pk).update(is_default=True)
    CalendarAssignment.objects.create(calendar=for_team, team=team)
    CalendarAssignment.objects.create(calendar=for_channel, channel=Channel.EMAIL)

    def chosen(**choice):
        calendar = sla_calendar_for(choice=CalendarChoice(**choice))
        return calendar.name if calendar else None

    assert chosen(policy_calendar_id=own.pk, team_id=team.pk, channel=Channel.EMAIL) == "policy"
    assert chosen(policy_calendar_id=None, team_id=team.pk, channel=Channel.EMAIL) == "team"
    assert chosen(policy_calendar_id=None, team_id=TeamFactory().pk, channel=Channel.EMAIL) == "channel"
    assert chosen(policy_calendar_id=None, team_id=None, channel=Channel.EMAIL) == "channel"
    assert chosen(policy_calendar_id=None, team_id=None, channel=Channel.CHAT) == "default"
    BusinessCalendar.objects.filter(pk=default.pk).delete()
    assert chosen(policy_calendar_id=None, team_id=None, channel=Channel.CHAT) is None  # around the clock


# --- Setting up a calendar ----------------------------------------------------------------------------


def test_an_interval_ending_at_midnight_runs_to_the_end_of_its_day():
    calendar = BusinessCalendar.objects.create(name="Late shift", timezone="Europe/Berlin")
    evening = BusinessHoursInterval(calendar=calendar, weekday=0, starts_at=time(18), ends_at=time(0))
    evening.full_clean()
    evening.save()
    BusinessHoursInterval.objects.create(calendar=calendar, weekday=1, starts_at=time(0), ends_at=time(2))
    policy(first_response_minutes=180, calendar=calendar)
    ticket = ticket_created(berlin(2025, 1, 13, 23, 0))  # a Monday

    sla_start(ticket=ticket)

    assert targets(ticket)[K.FIRST_RESPONSE].due_at == berlin(2025, 1, 14, 2, 0)  # 1h on Monday, 2h after midnight


def test_an_interval_that_ends_before_it_starts_is_refused():
    calendar = BusinessCalendar.objects.create(name="Office", timezone="Europe/Berlin")
    backwards = BusinessHoursInterval(calendar=calendar, weekday=0, starts_at=time(17), ends_at=time(9))

    with pytest.raises(ValidationError) as refused:
        backwards.full_clean()

    assert refused.value.messages == [
        "An interval must end after it starts; an end of 00:00 means midnight at the end of the day."
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        backwards.save()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"])
def test_a_calendar_in_a_known_time_zone_is_valid(zone):
    BusinessCalendar(name="Office", timezone=zone).full_clean()


@pytest.mark.parametrize("zone", ["Europe/Berlinn", "CEST", "", "../etc/passwd"])
def test_a_calendar_in_an_unknown_time_zone_is_refused(zone):
    with pytest.raises(ValidationError) as refused:
        BusinessCalendar(name="Office", timezone=zone).full_clean()

    assert refused.value.message_dict["timezone"][-1] in {
        f"{zone} is not a time zone; use a name such as Europe/Berlin.",
        "This field cannot be blank.",
    }


def test_the_calendar_admin_refuses_an_unknown_time_zone(client, admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    management = {
        f"{prefix}-{field}": value
        for prefix in ("intervals", "holidays")
        for field, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
    }

    response = client.post(
        "/admin/tickets/businesscalendar/add/", {"name": "Office", "timezone": "Europe/Berlinn", **management}
    )

    assert response.status_code == 200
    assert "Europe/Berlinn is not a time zone; use a name such as Europe/Berlin." in response.content.decode()
    assert not BusinessCalendar.objects.exists()


# --- Starting the clocks -----------------------------------------------------------------------------


def test_a_new_ticket_gets_its_targets_in_business_time_from_its_creation():
    calendar = office_calendar(holidays=[date(2025, 1, 14)])
    applied = policy(first_response_minutes=120, resolution_minutes=16 * 60, calendar=calendar)
    ticket = ticket_created(berlin(2025, 1, 10, 16, 0))  # a Friday

    sla_start(ticket=ticket)

    first, resolution = targets(ticket)[K.FIRST_RESPONSE], targets(ticket)[K.RESOLUTION]
    assert (first.policy, first.started_at, first.due_at) == (applied, ticket.created_at, berlin(2025, 1, 13, 10, 0))
    # Friday 1h, Monday 8h, Tuesday a holiday, Wednesday the last 7h.
    assert resolution.due_at == berlin(2025, 1, 15, 16, 0)
    assert (first.met_at, first.breached_at, first.paused_at) == (None, None, None)
    assert next_due(ticket) == ticket.sla_next_due_at == berlin(2025, 1, 13, 10, 0)
    assert set(targets(ticket)) == {K.FIRST_RESPONSE, K.RESOLUTION}


def test_only_the_targets_the_policy_sets_are_created_and_starting_twice_adds_nothing():
    policy(resolution_minutes=60)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0))

    sla_start(ticket=ticket)
    sla_start(ticket=ticket)

    assert list(SlaTarget.objects.filter(ticket=ticket).values_list("kind", "due_at")) == [
        (K.RESOLUTION, utc(2025, 1, 10, 13, 0))  # no calendar anywhere: around the clock
    ]


def test_a_ticket_without_a_policy_has_no_clock():
    ticket = ticket_created(utc(2025, 1, 10, 12, 0))

    assert sla_start(ticket=ticket) == []
    assert not SlaTarget.objects.exists()
    assert next_due(ticket) is None


def test_a_ticket_created_on_hold_starts_paused():
    policy(first_response_minutes=90)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0), status=S.ON_HOLD)

    sla_start(ticket=ticket)

    first = targets(ticket)[K.FIRST_RESPONSE]
    assert (first.due_at, first.remaining_business_seconds, first.paused_at) == (None, 90 * 60, ticket.created_at)
    assert next_due(ticket) is None


def test_an_email_that_opens_a_ticket_starts_its_clocks():
    policy(first_response_minutes=60, resolution_minutes=480)

    result = ingest(
        inbound=InboundMessage(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender_address="ana@example.test",
            body_text="Where is my parcel?",
            subject="Parcel",
            external_message_id="<parcel@example.test>",
        )
    )

    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert {kind: target.due_at for kind, target in targets(ticket).items()} == {
        K.FIRST_RESPONSE: ticket.created_at + timedelta(minutes=60),
        K.RESOLUTION: ticket.created_at + timedelta(minutes=480),
    }
    assert ticket.sla_next_due_at == ticket.created_at + timedelta(minutes=60)


# --- Replies and customer messages --------------------------------------------------------------------


def test_an_agents_reply_meets_the_first_response_target(agent):
    policy(first_response_minutes=60, resolution_minutes=480)
    ticket = TicketFactory(status=S.NEW)
    CustomerIdentityFactory(customer=ticket.customer)
    sla_start(ticket=ticket)

    ticket_reply(ticket_id=ticket.pk, author=agent, body_text="We are on it.")

    ticket.refresh_from_db()
    first = targets(ticket)[K.FIRST_RESPONSE]
    assert first.met_at == ticket.first_agent_reply_at
    assert first.breached_at is None
    assert first.is_met is True
    assert ticket.sla_next_due_at == targets(ticket)[K.RESOLUTION].due_at


def test_a_reply_after_the_due_time_is_recorded_as_a_breach():
    policy(first_response_minutes=60)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0))
    sla_start(ticket=ticket)

    sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 13, 5))

    first = targets(ticket)[K.FIRST_RESPONSE]
    assert (first.met_at, first.breached_at) == (utc(2025, 1, 10, 13, 5), utc(2025, 1, 10, 13, 0))
    assert first.is_met is False
    assert next_due(ticket) is None


def test_a_customer_message_starts_next_response_only_after_the_first_response():
    policy(first_response_minutes=60, next_response_minutes=30)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0), status=S.OPEN)
    sla_start(ticket=ticket)

    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 12, 10))
    assert K.NEXT_RESPONSE not in targets(ticket)

    sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 12, 20))
    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 12, 40))
    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 12, 50))  # still unanswered

    following = targets(ticket)[K.NEXT_RESPONSE]
    assert (following.started_at, following.due_at, following.met_at) == (
        utc(2025, 1, 10, 12, 40),
        utc(2025, 1, 10, 13, 10),
        None,
    )
    assert next_due(ticket) == utc(2025, 1, 10, 13, 10)


def test_the_next_response_is_met_by_a_reply_and_restarts_with_the_next_message():
    policy(first_response_minutes=60, next_response_minutes=30)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 12, 5))
    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 13, 0))
    SlaTarget.objects.filter(kind=K.NEXT_RESPONSE).update(assignee_warned_at=utc(2025, 1, 10, 13, 20))

    sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 13, 45))
    answered = targets(ticket)[K.NEXT_RESPONSE]
    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 11, 9, 0))

    assert (answered.met_at, answered.breached_at) == (utc(2025, 1, 10, 13, 45), utc(2025, 1, 10, 13, 30))
    restarted = targets(ticket)[K.NEXT_RESPONSE]
    assert (restarted.started_at, restarted.due_at) == (utc(2025, 1, 11, 9, 0), utc(2025, 1, 11, 9, 30))
    assert (restarted.met_at, restarted.breached_at, restarted.assignee_warned_at) == (None, None, None)
    assert SlaTarget.objects.filter(kind=K.NEXT_RESPONSE).count() == 1


def test_a_customer_message_on_an_on_hold_ticket_starts_next_response_paused():
    policy(first_response_minutes=60, next_response_minutes=30)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 12, 5))
    change_status(ticket, S.ON_HOLD, utc(2025, 1, 10, 12, 6))

    sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 14, 0))

    following = targets(ticket)[K.NEXT_RESPONSE]
    assert (following.due_at, following.remaining_business_seconds) == (None, 30 * 60)
    assert next_due(ticket) is None


def test_each_hook_costs_a_fixed_number_of_queries(django_assert_num_queries):
    policy(first_response_minutes=60, next_response_minutes=30, resolution_minutes=480)
    ticket = ticket_created(utc(2025, 1, 10, 12, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    ticket.refresh_from_db()
    without_sla = ticket_created(utc(2025, 1, 10, 12, 0), status=S.OPEN)

    # The targets, one UPDATE for them and one for the ticket's next due time (no savepoint inside the test's
    # transaction).
    with django_assert_num_queries(3):
        sla_after_agent_reply(ticket=ticket, replied_at=utc(2025, 1, 10, 12, 5))
    # The targets, the calendar lookup (none anywhere: two queries), the INSERT of the next-response target
    # and the ticket's next due time.
    with django_assert_num_queries(5):
        sla_after_customer_message(ticket=ticket, received_at=utc(2025, 1, 10, 12, 30))
    without_sla.status = S.PENDING
    with django_assert_num_queries(1):  # the (empty) targets
        sla_after_status_change(ticket=without_sla, previous=S.OPEN)


# --- Pausing, solving, reopening ------------------------------------------------------------------------


@pytest.fixture
def office_ticket():
    """Created Monday 09:00 in Berlin: first response in 4 business hours, resolution in 16."""
    policy(first_response_minutes=240, resolution_minutes=960, calendar=office_calendar())
    ticket = ticket_created(berlin(2025, 1, 13, 9, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    return ticket


@pytest.mark.parametrize("paused_status", [S.PENDING, S.ON_HOLD])
def test_pending_and_on_hold_pause_every_running_target(office_ticket, paused_status):
    change_status(office_ticket, paused_status, berlin(2025, 1, 13, 11, 0))

    first, resolution = targets(office_ticket)[K.FIRST_RESPONSE], targets(office_ticket)[K.RESOLUTION]
    assert (first.due_at, first.paused_at, first.remaining_business_seconds) == (None, berlin(2025, 1, 13, 11), 7200)
    assert (resolution.due_at, resolution.remaining_business_seconds) == (None, 14 * 3600)
    assert next_due(office_ticket) is None


def test_back_to_open_resumes_with_the_business_time_that_was_left(office_ticket):
    change_status(office_ticket, S.PENDING, berlin(2025, 1, 13, 11, 0))
    change_status(office_ticket, S.ON_HOLD, berlin(2025, 1, 14, 9, 0))

    change_status(office_ticket, S.OPEN, berlin(2025, 1, 15, 16, 0))

    first, resolution = targets(office_ticket)[K.FIRST_RESPONSE], targets(office_ticket)[K.RESOLUTION]
    assert first.due_at == berlin(2025, 1, 16, 10, 0)  # 1h on Wednesday, 1h on Thursday
    assert resolution.due_at == berlin(2025, 1, 17, 14, 0)  # 1h Wednesday, 8h Thursday, 5h Friday
    assert (first.paused_at, first.remaining_business_seconds) == (None, None)
    assert next_due(office_ticket) == berlin(2025, 1, 16, 10, 0)


def test_solving_meets_resolution_and_reopening_restarts_it_with_the_time_left(office_ticket):
    sla_after_agent_reply(ticket=office_ticket, replied_at=berlin(2025, 1, 13, 10, 0))
    change_status(office_ticket, S.SOLVED, berlin(2025, 1, 13, 12, 0))

    solved = targets(office_ticket)[K.RESOLUTION]
    assert (solved.met_at, solved.breached_at, solved.is_met) == (berlin(2025, 1, 13, 12, 0), None, True)
    assert next_due(office_ticket) is None

    change_status(office_ticket, S.OPEN, berlin(2025, 1, 15, 9, 0))

    reopened = targets(office_ticket)[K.RESOLUTION]
    assert (reopened.met_at, reopened.due_at) == (None, berlin(2025, 1, 16, 14, 0))  # 13h left: Wed 8h, Thu 5h
    assert targets(office_ticket)[K.FIRST_RESPONSE].met_at == berlin(2025, 1, 13, 10, 0)
    assert next_due(office_ticket) == berlin(2025, 1, 16, 14, 0)


def test_a_first_response_still_owed_stops_while_solved_and_runs_again_on_reopening(office_ticket):
    change_status(office_ticket, S.SOLVED, berlin(2025, 1, 13, 12, 0))

    assert targets(office_ticket)[K.FIRST_RESPONSE].remaining_business_seconds == 3600
    change_status(office_ticket, S.OPEN, berlin(2025, 1, 14, 9, 0))

    assert targets(office_ticket)[K.FIRST_RESPONSE].due_at == berlin(2025, 1, 14, 10, 0)


def test_solving_late_is_a_breach_and_reopening_keeps_it(office_ticket):
    change_status(office_ticket, S.SOLVED, berlin(2025, 1, 15, 9, 30))

    late = targets(office_ticket)[K.RESOLUTION]
    assert (late.breached_at, late.is_met) == (berlin(2025, 1, 14, 17, 0), False)
    change_status(office_ticket, S.OPEN, berlin(2025, 1, 15, 10, 0))
    reopened = targets(office_ticket)[K.RESOLUTION]
    assert (reopened.due_at, reopened.breached_at) == (berlin(2025, 1, 15, 10, 0), berlin(2025, 1, 14, 17, 0))


def test_status_changes_through_the_lifecycle_service_pause_and_resume(agent):
    policy(first_response_minutes=60, resolution_minutes=480)
    ticket = TicketFactory(status=S.OPEN)
    sla_start(ticket=ticket)

    ticket_change_status(ticket_id=ticket.pk, status=S.PENDING, actor=agent)
    paused = targets(ticket)[K.FIRST_RESPONSE]
    ticket_change_status(ticket_id=ticket.pk, status=S.OPEN, actor=agent)
    resumed = targets(ticket)[K.FIRST_RESPONSE]

    assert paused.due_at is None
    assert 59 * 60 <= paused.remaining_business_seconds <= 60 * 60
    assert resumed.due_at is not None
    assert resumed.remaining_business_seconds is None
    assert next_due(ticket) == resumed.due_at


def test_a_customer_replying_to_a_pending_ticket_resumes_its_clocks():
    policy(first_response_minutes=60, resolution_minutes=480)
    first = ingest(
        inbound=InboundMessage(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender_address="ana@example.test",
            body_text="Where is my parcel?",
            external_message_id="<one@example.test>",
        )
    )
    ticket_change_status(ticket_id=first.ticket.pk, status=S.PENDING, actor=None)
    assert next_due(first.ticket) is None

    ingest(
        inbound=InboundMessage(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender_address="ana@example.test",
            body_text="Here is the photo.",
            external_message_id="<two@example.test>",
            references=("<one@example.test>",),
        )
    )

    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert ticket.status == S.OPEN
    assert all(target.due_at is not None for target in targets(ticket).values())
    assert ticket.sla_next_due_at == targets(ticket)[K.FIRST_RESPONSE].due_at


# --- A change of priority ------------------------------------------------------------------------------


@pytest.fixture
def urgent_and_rest():
    calendar = office_calendar()
    return {
        "urgent": policy(
            position=0,
            priorities=[Priority.URGENT],
            first_response_minutes=180,
            resolution_minutes=600,
            calendar=calendar,
        ),
        "rest": policy(position=1, first_response_minutes=480, resolution_minutes=960, calendar=calendar),
    }


def test_raising_the_priority_refits_the_running_targets_to_the_new_policy_from_their_start(agent):
    urgent = policy(position=0, priorities=[Priority.URGENT], first_response_minutes=60, resolution_minutes=240)
    policy(position=1, first_response_minutes=24 * 60, resolution_minutes=48 * 60)
    ticket = TicketFactory(status=S.OPEN, priority=Priority.NORMAL)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=ticket.created_at - timedelta(minutes=30))
    ticket.refresh_from_db()
    sla_start(ticket=ticket)

    ticket_set_priority(ticket_id=ticket.pk, priority=Priority.URGENT, actor=agent)

    first, resolution = targets(ticket)[K.FIRST_RESPONSE], targets(ticket)[K.RESOLUTION]
    assert (first.policy, first.started_at, first.due_at) == (
        urgent,
        ticket.created_at,
        ticket.created_at + timedelta(hours=1),
    )
    assert (resolution.policy, resolution.due_at) == (urgent, ticket.created_at + timedelta(hours=4))
    assert next_due(ticket) == ticket.created_at + timedelta(hours=1)


def test_a_refitted_target_keeps_the_business_time_it_used_and_not_the_time_it_stood_paused(urgent_and_rest):
    ticket = ticket_created(berlin(2025, 1, 13, 9, 0), status=S.OPEN)  # Monday
    sla_start(ticket=ticket)
    change_status(ticket, S.PENDING, berlin(2025, 1, 13, 10, 0))
    change_status(ticket, S.OPEN, berlin(2025, 1, 13, 14, 0))
    ticket.priority = Priority.URGENT

    sla_follow_policy(ticket=ticket, at=berlin(2025, 1, 13, 15, 0))

    first, resolution = targets(ticket)[K.FIRST_RESPONSE], targets(ticket)[K.RESOLUTION]
    # 2 business hours used (09-10, 14-15): 1h of the urgent 3h is left, 8h of its 10h.
    assert (first.policy, first.due_at) == (urgent_and_rest["urgent"], berlin(2025, 1, 13, 16, 0))
    assert (resolution.policy, resolution.due_at) == (urgent_and_rest["urgent"], berlin(2025, 1, 14, 15, 0))
    assert next_due(ticket) == berlin(2025, 1, 13, 16, 0)


def test_a_paused_target_is_refitted_and_one_whose_new_allowance_ran_out_is_breached(urgent_and_rest):
    ticket = ticket_created(berlin(2025, 1, 13, 9, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    change_status(ticket, S.PENDING, berlin(2025, 1, 13, 13, 0))  # 4 business hours used
    ticket.priority = Priority.URGENT

    sla_follow_policy(ticket=ticket, at=berlin(2025, 1, 14, 9, 0))

    first, resolution = targets(ticket)[K.FIRST_RESPONSE], targets(ticket)[K.RESOLUTION]
    assert (first.due_at, first.remaining_business_seconds, first.breached_at) == (None, 0, berlin(2025, 1, 13, 12, 0))
    assert (resolution.due_at, resolution.remaining_business_seconds, resolution.breached_at) == (None, 6 * 3600, None)
    assert sla_mark_breaches(now=berlin(2025, 1, 14, 9, 5)) == 1  # the breach is escalated, once


def test_a_running_target_whose_new_allowance_ran_out_is_due_when_it_did(urgent_and_rest, notifications):
    ticket = ticket_created(berlin(2025, 1, 13, 9, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    ticket.priority = Priority.URGENT

    sla_follow_policy(ticket=ticket, at=berlin(2025, 1, 13, 13, 0))

    assert targets(ticket)[K.FIRST_RESPONSE].due_at == berlin(2025, 1, 13, 12, 0)
    assert sla_mark_breaches(now=berlin(2025, 1, 13, 13, 1)) == 1
    assert targets(ticket)[K.FIRST_RESPONSE].breached_at == berlin(2025, 1, 13, 12, 0)


def test_met_and_breached_targets_keep_their_times_when_the_policy_changes(urgent_and_rest, agent):
    ticket = ticket_created(berlin(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent)
    sla_start(ticket=ticket)
    sla_after_agent_reply(ticket=ticket, replied_at=berlin(2025, 1, 13, 10, 0))
    assert sla_mark_breaches(now=berlin(2025, 1, 15, 10, 0)) == 1  # resolution was due Tuesday 17:00
    before = targets(ticket)
    ticket.refresh_from_db()
    ticket.priority = Priority.URGENT

    sla_follow_policy(ticket=ticket, at=berlin(2025, 1, 15, 11, 0))

    after = targets(ticket)
    for kind in (K.FIRST_RESPONSE, K.RESOLUTION):
        assert (after[kind].due_at, after[kind].met_at, after[kind].breached_at) == (
            before[kind].due_at,
            before[kind].met_at,
            before[kind].breached_at,
        )
        assert after[kind].policy == urgent_and_rest["urgent"]  # the next cycle works by the ticket's policy


def test_a_target_the_new_policy_does_not_set_stops_and_one_it_sets_starts_from_creation():
    policy(position=0, priorities=[Priority.URGENT], resolution_minutes=120)
    policy(position=1, first_response_minutes=60)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN)
    sla_start(ticket=ticket)
    ticket.priority = Priority.URGENT

    sla_follow_policy(ticket=ticket, at=utc(2025, 1, 13, 9, 30))

    assert list(SlaTarget.objects.filter(ticket=ticket).values_list("kind", "started_at", "due_at")) == [
        (K.RESOLUTION, utc(2025, 1, 13, 9, 0), utc(2025, 1, 13, 11, 0))
    ]
    assert next_due(ticket) == utc(2025, 1, 13, 11, 0)


def test_the_same_policy_after_a_priority_change_leaves_every_target_alone(agent):
    policy(first_response_minutes=60, warning_minutes=30)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent)
    sla_start(ticket=ticket)
    SlaTarget.objects.filter(ticket=ticket).update(assignee_warned_at=utc(2025, 1, 13, 9, 35))
    before = list(SlaTarget.objects.filter(ticket=ticket).values())

    ticket_set_priority(ticket_id=ticket.pk, priority=Priority.HIGH, actor=agent)

    assert list(SlaTarget.objects.filter(ticket=ticket).values()) == before


def test_a_breach_raises_the_priority_but_keeps_the_policy_so_it_never_raises_again_by_itself():
    normal = policy(position=1, first_response_minutes=60, resolution_minutes=600)
    policy(position=0, priorities=[Priority.HIGH], first_response_minutes=30, resolution_minutes=60)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN)
    sla_start(ticket=ticket)

    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 30)) == 1
    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 31)) == 0

    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    resolution = targets(ticket)[K.RESOLUTION]
    assert (resolution.policy, resolution.due_at) == (normal, utc(2025, 1, 13, 19, 0))


# --- Warnings ----------------------------------------------------------------------------------------


@pytest.fixture
def lead():
    return UserFactory()


@pytest.fixture
def watched_ticket(agent, lead):
    """Open, assigned, in a team with a lead; first response due at 10:00 UTC, 30-minute warning window."""
    policy(first_response_minutes=60, warning_minutes=30)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent, team=TeamFactory(lead=lead))
    sla_start(ticket=ticket)
    return ticket


def test_the_assignee_is_warned_once_when_the_warning_window_opens(watched_ticket, agent, notifications):
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 29)) == 0

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 31)) == 1
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 32)) == 0

    assert notifications == [
        (
            agent.pk,
            "sla_warning",
            {
                "ticket_id": watched_ticket.pk,
                "number": watched_ticket.number,
                "subject": watched_ticket.subject,
                "target": K.FIRST_RESPONSE,
                "due_at": "2025-01-13T10:00:00+00:00",
                "recipient": "assignee",
                "business_minutes_left": 29,
            },
        )
    ]
    first = targets(watched_ticket)[K.FIRST_RESPONSE]
    assert (first.assignee_warned_at, first.lead_warned_at) == (utc(2025, 1, 13, 9, 31), None)


def test_the_team_lead_is_warned_once_when_half_the_window_is_left(watched_ticket, agent, lead, notifications):
    sla_send_warnings(now=utc(2025, 1, 13, 9, 31))
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 44)) == 0

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 46)) == 1
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 47)) == 0

    assert [(user_id, kind, payload["recipient"]) for user_id, kind, payload in notifications] == [
        (agent.pk, "sla_warning", "assignee"),
        (lead.pk, "sla_warning", "team_lead"),
    ]
    assert targets(watched_ticket)[K.FIRST_RESPONSE].lead_warned_at == utc(2025, 1, 13, 9, 46)


def test_a_run_that_finds_both_windows_open_warns_both_once(watched_ticket, agent, lead, notifications):
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 50)) == 2
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 51)) == 0

    assert [user_id for user_id, _kind, _payload in notifications] == [agent.pk, lead.pk]


def warned(notifications):
    return [(user_id, payload["recipient"]) for user_id, kind, payload in notifications if kind == "sla_warning"]


def test_a_new_assignee_is_warned_though_the_one_before_was(watched_ticket, agent, notifications):
    other = UserFactory(is_staff=True)
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 35)) == 1

    ticket_assign(ticket_id=watched_ticket.pk, actor=agent, assignee=other)

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 40)) == 1
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 41)) == 0
    assert warned(notifications) == [(agent.pk, "assignee"), (other.pk, "assignee")]


def test_a_new_teams_lead_is_warned_though_the_one_before_was(watched_ticket, agent, lead, notifications):
    new_lead = UserFactory()
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 46)) == 2

    ticket_assign(ticket_id=watched_ticket.pk, actor=agent, assignee=agent, team=TeamFactory(lead=new_lead))

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 47)) == 1
    assert warned(notifications) == [(agent.pk, "assignee"), (lead.pk, "team_lead"), (new_lead.pk, "team_lead")]


def test_a_supervisor_a_ticket_is_escalated_to_is_warned(watched_ticket, agent, supervisor, notifications):
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 35)) == 1

    ticket_escalate(ticket_id=watched_ticket.pk, actor=agent, reason="Angry customer", supervisor=supervisor)

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 36)) == 1
    assert warned(notifications) == [(agent.pk, "assignee"), (supervisor.pk, "assignee")]


def test_a_resolution_clock_that_runs_again_after_a_reopening_warns_again(agent, lead, notifications):
    policy(resolution_minutes=120, warning_minutes=30)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent, team=TeamFactory(lead=lead))
    sla_start(ticket=ticket)
    assert sla_send_warnings(now=utc(2025, 1, 13, 10, 46)) == 2
    change_status(ticket, S.SOLVED, utc(2025, 1, 13, 10, 50))

    change_status(ticket, S.OPEN, utc(2025, 1, 13, 12, 0))

    assert targets(ticket)[K.RESOLUTION].due_at == utc(2025, 1, 13, 12, 10)
    assert sla_send_warnings(now=utc(2025, 1, 13, 12, 1)) == 2
    assert warned(notifications) == [(agent.pk, "assignee"), (lead.pk, "team_lead")] * 2


def test_the_warning_window_is_measured_in_business_time(agent, notifications):
    policy(first_response_minutes=60, warning_minutes=30, calendar=office_calendar())
    ticket = ticket_created(berlin(2025, 1, 10, 16, 20), status=S.OPEN, assignee=agent)  # due Monday 09:20
    sla_start(ticket=ticket)

    assert sla_send_warnings(now=berlin(2025, 1, 10, 16, 45)) == 0  # 15 + 20 business minutes left
    assert sla_send_warnings(now=berlin(2025, 1, 10, 16, 55)) == 1  # 5 + 20, though Monday is days away

    assert notifications[0][2]["business_minutes_left"] == 25


def test_paused_tickets_are_never_warned_nor_breached(watched_ticket, notifications):
    change_status(watched_ticket, S.PENDING, utc(2025, 1, 13, 9, 10))

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 59)) == 0
    assert sla_mark_breaches(now=utc(2025, 1, 14, 9, 0)) == 0
    assert notifications == []


def test_a_ticket_in_a_paused_status_is_ignored_even_if_its_clock_runs(watched_ticket, notifications):
    Ticket.objects.filter(pk=watched_ticket.pk).update(status=S.ON_HOLD)  # changed without the hook

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 59)) == 0
    assert sla_mark_breaches(now=utc(2025, 1, 14, 9, 0)) == 0
    assert notifications == []


def test_an_unassigned_ticket_warns_nobody_and_its_lead_hears_at_the_breach(lead, notifications):
    policy(first_response_minutes=60, warning_minutes=30)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, team=TeamFactory(lead=lead))
    sla_start(ticket=ticket)

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 50)) == 0
    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 1)) == 1

    assert [(user_id, kind) for user_id, kind, _payload in notifications] == [(lead.pk, "sla_breach")]
    assert targets(ticket)[K.FIRST_RESPONSE].lead_warned_at == utc(2025, 1, 13, 10, 1)


def test_without_a_team_lead_only_the_assignee_is_warned(agent, notifications):
    policy(first_response_minutes=60, warning_minutes=30)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent, team=TeamFactory())
    sla_start(ticket=ticket)

    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 55)) == 1
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 56)) == 0
    assert [user_id for user_id, _kind, _payload in notifications] == [agent.pk]


# --- Breaches ----------------------------------------------------------------------------------------


def test_a_breach_is_recorded_once_raises_the_priority_and_tells_the_lead(watched_ticket, lead, notifications):
    assert sla_mark_breaches(now=utc(2025, 1, 13, 9, 59)) == 0

    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 1)) == 1
    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 2)) == 0

    first = targets(watched_ticket)[K.FIRST_RESPONSE]
    assert first.breached_at == utc(2025, 1, 13, 10, 0)
    assert first.met_at is None
    watched_ticket.refresh_from_db()
    assert watched_ticket.priority == Priority.HIGH
    assert list(TicketActivity.objects.filter(ticket=watched_ticket).values_list("kind", "actor", "details")) == [
        (
            TicketActivity.Kind.PRIORITY,
            None,
            {"before": "normal", "after": "high", "reason": "sla_breach", "target": "first_response"},
        )
    ]
    assert notifications == [
        (
            lead.pk,
            "sla_breach",
            {
                "ticket_id": watched_ticket.pk,
                "number": watched_ticket.number,
                "subject": watched_ticket.subject,
                "target": K.FIRST_RESPONSE,
                "due_at": "2025-01-13T10:00:00+00:00",
                "priority": "high",
            },
        )
    ]


def test_a_clock_paused_just_after_its_due_time_is_still_escalated_once(watched_ticket, lead, notifications):
    # Due at 10:00; the agent sets the ticket pending at 10:00:30, before the breach job's next run.
    change_status(watched_ticket, S.PENDING, utc(2025, 1, 13, 10, 0, 30))
    first = targets(watched_ticket)[K.FIRST_RESPONSE]
    assert (first.breached_at, first.due_at) == (utc(2025, 1, 13, 10, 0), None)

    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 1)) == 1
    assert sla_mark_breaches(now=utc(2025, 1, 13, 10, 2)) == 0
    change_status(watched_ticket, S.OPEN, utc(2025, 1, 13, 11, 0))
    assert sla_mark_breaches(now=utc(2025, 1, 13, 11, 5)) == 0

    watched_ticket.refresh_from_db()
    assert watched_ticket.priority == Priority.HIGH
    assert [(user_id, kind) for user_id, kind, _payload in notifications] == [(lead.pk, "sla_breach")]
    first = targets(watched_ticket)[K.FIRST_RESPONSE]
    assert first.breached_at == utc(2025, 1, 13, 10, 0)
    assert first.breach_escalated_at == utc(2025, 1, 13, 10, 1)


def test_met_targets_are_never_breached(watched_ticket, notifications):
    sla_after_agent_reply(ticket=watched_ticket, replied_at=utc(2025, 1, 13, 9, 30))

    assert sla_mark_breaches(now=utc(2025, 1, 13, 11, 0)) == 0
    assert sla_send_warnings(now=utc(2025, 1, 13, 9, 59)) == 0
    assert targets(watched_ticket)[K.FIRST_RESPONSE].breached_at is None
    assert notifications == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Priority.LOW, Priority.NORMAL),
        (Priority.NORMAL, Priority.HIGH),
        (Priority.HIGH, Priority.URGENT),
        (Priority.URGENT, Priority.URGENT),
    ],
)
def test_a_breach_raises_the_priority_one_step(before, after):
    policy(first_response_minutes=60)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, priority=before)
    sla_start(ticket=ticket)

    sla_mark_breaches(now=utc(2025, 1, 13, 11, 0))

    ticket.refresh_from_db()
    assert ticket.priority == after
    assert TicketActivity.objects.filter(ticket=ticket).count() == (0 if before == Priority.URGENT else 1)


def test_each_breached_target_raises_the_priority_once():
    policy(first_response_minutes=60, resolution_minutes=90)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, priority=Priority.LOW)
    sla_start(ticket=ticket)

    assert sla_mark_breaches(now=utc(2025, 1, 13, 11, 0)) == 2

    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert list(TicketActivity.objects.filter(ticket=ticket).values_list("details__target", flat=True)) == [
        "first_response",
        "resolution",
    ]


@pytest.mark.parametrize("ticket_count", [1, 10])
def test_recording_breaches_costs_the_same_statements_for_one_ticket_or_many(
    ticket_count, lead, notifications, django_assert_num_queries
):
    policy(first_response_minutes=60, resolution_minutes=120)
    team = TeamFactory(lead=lead)
    for _ in range(ticket_count):
        sla_start(ticket=ticket_created(utc(2025, 1, 1), status=S.OPEN, team=team))

    # The overdue tickets; per batch of 100: a savepoint, the locks, the targets, the raised priorities,
    # their history, the targets again, the ticket listeners' lookup, the release.
    with django_assert_num_queries(9):
        assert sla_mark_breaches(now=utc(2025, 1, 2)) == 2 * ticket_count

    assert set(Ticket.objects.values_list("priority", flat=True)) == {Priority.URGENT}
    assert TicketActivity.objects.filter(kind=TicketActivity.Kind.PRIORITY).count() == 2 * ticket_count


@pytest.mark.parametrize("ticket_count", [1, 10])
def test_sending_warnings_costs_the_same_statements_for_one_ticket_or_many(
    ticket_count, agent, lead, notifications, django_assert_num_queries
):
    policy(first_response_minutes=60, warning_minutes=30)
    team = TeamFactory(lead=lead)
    for _ in range(ticket_count):
        sla_start(ticket=ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent, team=team))

    # How far ahead to look (the longest window, the calendars), the targets due by then; per batch of
    # 100: a savepoint, the locks, the targets, their calendar (assignments, the default), the warned
    # targets, the release.
    with django_assert_num_queries(10):
        assert sla_send_warnings(now=utc(2025, 1, 13, 9, 50)) == 2 * ticket_count


def test_the_warning_pass_looks_ahead_the_longest_window_on_the_slowest_calendar():
    office_calendar()
    policy(first_response_minutes=60, warning_minutes=45)
    policy(first_response_minutes=60, warning_minutes=10)

    # Friday 16:50 in Berlin: 10 minutes on Friday, 35 on Monday; around the clock it would be 17:35.
    assert sla_warning_horizon(now=berlin(2025, 1, 10, 16, 50)) == berlin(2025, 1, 13, 9, 35)


def test_a_target_due_beyond_every_warning_window_is_not_read_by_the_warning_pass(
    agent, notifications, django_assert_num_queries
):
    policy(first_response_minutes=24 * 60, warning_minutes=30)
    sla_start(ticket=ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, assignee=agent))

    with django_assert_num_queries(3) as captured:  # how far ahead to look, then the (empty) first pass
        assert sla_send_warnings(now=utc(2025, 1, 13, 9, 50)) == 0

    first_pass = next(query["sql"] for query in captured.captured_queries if "tickets_slatarget" in query["sql"])
    assert '"tickets_slatarget"."due_at" <= \'2025-01-13T10:20:00+00:00\'' in first_pass


@pytest.mark.django_db(transaction=True)
def test_a_ticket_another_run_holds_is_skipped_not_waited_for_or_doubled(notifications):
    policy(first_response_minutes=60)
    ticket = ticket_created(utc(2025, 1, 13, 9, 0), status=S.OPEN, team=TeamFactory(lead=UserFactory()))
    sla_start(ticket=ticket)
    locked, release = threading.Event(), threading.Event()

    def hold_the_ticket() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_ticket)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        assert sla_mark_breaches(now=utc(2025, 1, 13, 11, 0)) == 0
    finally:
        release.set()
        holder.join(timeout=10)

    assert sla_mark_breaches(now=utc(2025, 1, 13, 11, 1)) == 1
    assert len(notifications) == 1


# --- Tasks and beat -----------------------------------------------------------------------------------


def test_the_periodic_tasks_call_their_services(watched_ticket, notifications):
    assert sla_send_warnings_task.apply().get() == 0  # real time: long past due, so it is breach work
    assert sla_mark_breaches_task.apply().get() == 1
    assert sla_mark_breaches_task.apply().get() == 0
    assert tickets_close_solved_task.apply().get() == 0
    assert tickets_remind_pending_task.apply().get() == 0
    assert complaints_send_extension_notices_task.apply().get() == 0


@pytest.mark.parametrize(
    ("entry", "task", "minutes"),
    [
        ("sla-send-warnings", "tickets.tasks.sla_send_warnings_task", set(range(60))),
        ("sla-mark-breaches", "tickets.tasks.sla_mark_breaches_task", set(range(60))),
        ("tickets-close-solved", "tickets.tasks.tickets_close_solved_task", {7}),
        ("tickets-remind-pending", "tickets.tasks.tickets_remind_pending_task", {17}),
        ("complaints-send-extension-notices", "tickets.tasks.complaints_send_extension_notices_task", {27}),
    ],
)
def test_beat_runs_each_timer_on_its_schedule(entry, task, minutes):
    scheduled = settings.CELERY_BEAT_SCHEDULE[entry]
    module, name = task.rsplit(".", 1)

    assert scheduled["task"] == task
    assert getattr(import_module(module), name).name == task
    assert isinstance(scheduled["schedule"], crontab)
    assert scheduled["schedule"].minute == minutes
    assert scheduled["schedule"].hour == set(range(24))


# --- The acknowledgement states the expected reply time -----------------------------------------------


def acknowledged_ticket(*, language="en", zone="Europe/Berlin"):
    policy(first_response_minutes=240, calendar=office_calendar())
    ticket = ticket_created(
        berlin(2025, 1, 10, 16, 30), customer=CustomerFactory(name="Ana Ruiz", language=language, timezone=zone)
    )  # a Friday
    sla_start(ticket=ticket)
    return ticket


def test_the_acknowledgement_says_when_the_first_reply_is_due():
    ticket = acknowledged_ticket()

    text = acknowledgement_text(ticket=ticket)

    assert targets(ticket)[K.FIRST_RESPONSE].due_at == berlin(2025, 1, 13, 12, 30)
    assert "An agent will reply by Monday 12:30 p.m. (Europe/Berlin) at the latest." in text
    assert "as soon as possible" not in text


def test_the_expected_reply_time_is_in_the_customers_language():
    text = acknowledgement_text(ticket=acknowledged_ticket(language="es"))

    assert "lunes" in text
    assert "12:30" in text


def test_the_named_time_zone_follows_the_customers_language():
    text = acknowledgement_text(ticket=acknowledged_ticket(language="ja"))

    assert "12:30\uff08Europe/Berlin\uff09" in text  # full-width parentheses


def test_the_expected_reply_time_is_in_the_customers_time_zone():
    text = acknowledgement_text(ticket=acknowledged_ticket(zone="America/New_York"))

    assert "Monday 6:30 a.m. (America/New_York)" in text


@pytest.mark.parametrize("zone", ["UTC", "", "Not/AZone"])
def test_for_a_customer_whose_zone_is_unknown_the_reply_time_is_in_the_calendars_zone_and_names_it(zone):
    text = acknowledgement_text(ticket=acknowledged_ticket(zone=zone))

    assert "An agent will reply by Monday 12:30 p.m. (Europe/Berlin) at the latest." in text


def test_the_calendars_zone_is_the_teams_when_the_policy_has_no_calendar():
    team = TeamFactory()
    CalendarAssignment.objects.create(calendar=office_calendar(zone="America/New_York"), team=team)
    policy(first_response_minutes=60)
    ticket = ticket_created(berlin(2025, 1, 10, 16, 30), team=team)  # 10:30 in New York
    sla_start(ticket=ticket)

    assert "reply by Friday 11:30 a.m. (America/New_York) at the latest" in acknowledgement_text(ticket=ticket)


def test_around_the_clock_the_reply_time_of_a_customer_whose_zone_is_unknown_is_in_utc():
    policy(first_response_minutes=60)
    ticket = ticket_created(utc(2025, 1, 10, 16, 30))
    sla_start(ticket=ticket)

    assert "reply by Friday 5:30 p.m. (UTC) at the latest" in acknowledgement_text(ticket=ticket)


def test_a_reply_due_more_than_a_week_ahead_gives_the_date():
    policy(
        first_response_minutes=60,
        calendar=office_calendar(holidays=[date(2025, 1, 13) + timedelta(days=n) for n in range(7)]),
    )
    ticket = ticket_created(berlin(2025, 1, 10, 16, 30), customer=CustomerFactory(timezone="Europe/Berlin"))
    sla_start(ticket=ticket)

    assert "reply by Jan. 20, 2025 9:30 a.m. (Europe/Berlin) at the latest" in acknowledgement_text(ticket=ticket)


def test_without_an_sla_the_acknowledgement_says_as_soon_as_possible():
    ticket = ticket_created(berlin(2025, 1, 10, 16, 30))

    assert "An agent will reply as soon as possible." in acknowledgement_text(ticket=ticket)
