import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import formats, timezone

from accounts.choices import Role
from helpdesk.core.exceptions import ApplicationError
from tests.accounts.factories import TeamFactory, UserFactory
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.orders.factories import OrderFactory
from tests.tickets.factories import MessageFactory, TagFactory, TicketFactory
from tickets.choices import MessageDirection, TicketStatus
from tickets.models import (
    BusinessCalendar,
    Escalation,
    Mention,
    Message,
    MessageDelivery,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketActivity,
)
from tickets.services.complaints import complaints_send_extension_notices
from tickets.services.conversation import StaleTicketError, ticket_add_note, ticket_reply
from tickets.services.lifecycle import ticket_assign, ticket_change_status, ticket_escalate, ticket_set_tags
from tickets.services.merge import ticket_merge, ticket_split
from tickets.services.sla import sla_start
from tickets.sla_hooks import sla_after_customer_message
from tickets.status_effects import ticket_from_confirmation_token, tickets_close_solved, tickets_remind_pending
from tickets.status_machine import ALLOWED_TRANSITIONS, InvalidTransitionError

pytestmark = pytest.mark.django_db
S = TicketStatus


def _ticket(status=S.OPEN, **kwargs):
    ticket = TicketFactory(status=status, **kwargs)
    CustomerIdentityFactory(customer=ticket.customer)
    return ticket


ALL_PAIRS = [(a, b) for a in S.values for b in S.values if a != b]


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_every_status_transition_follows_the_table(agent, current, target):
    ticket = _ticket(status=current)

    if target in ALLOWED_TRANSITIONS[current]:
        ticket_change_status(ticket_id=ticket.pk, status=target, actor=agent)
        ticket.refresh_from_db()
        assert ticket.status == target
        assert TicketActivity.objects.filter(ticket=ticket, kind="status").count() == 1
    else:
        with pytest.raises(InvalidTransitionError) as error:
            ticket_change_status(ticket_id=ticket.pk, status=target, actor=agent)
        assert error.value.message
        ticket.refresh_from_db()
        assert ticket.status == current
        assert not TicketActivity.objects.filter(ticket=ticket).exists()


def test_solving_asks_the_customer_to_confirm_and_confirming_closes(client, agent):
    ticket = _ticket()

    ticket_change_status(ticket_id=ticket.pk, status=S.SOLVED, actor=agent)

    request = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    # The token is timestamped: read it from the message rather than signing a new one a second later.
    link = re.search(r"/requests/(?P<token>[^/\s]+)/confirm/", request.body_text)
    assert link is not None
    token = link["token"]
    assert ticket_from_confirmation_token(token) == ticket.pk
    assert client.get(reverse("ticket-confirm-solved", args=[token])).status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == S.SOLVED  # a GET (a link preview) never closes
    response = client.post(reverse("ticket-confirm-solved", args=[token]))
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED


def test_a_forged_confirmation_link_changes_nothing(client):
    ticket = _ticket(status=S.SOLVED)

    response = client.post(reverse("ticket-confirm-solved", args=["forged-token"]))

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == S.SOLVED


def test_solved_tickets_close_after_the_configured_days(settings):
    settings.TICKET_AUTO_CLOSE_DAYS = 4
    old = _ticket(status=S.SOLVED, solved_at=timezone.now() - timedelta(days=5))
    recent = _ticket(status=S.SOLVED, solved_at=timezone.now() - timedelta(days=1))

    assert tickets_close_solved() == 1
    assert tickets_close_solved() == 0

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == (S.CLOSED, S.SOLVED)


@pytest.mark.parametrize("ticket_count", [1, 10])
def test_closing_solved_tickets_costs_three_statements_a_ticket(settings, ticket_count, django_assert_num_queries):
    settings.TICKET_AUTO_CLOSE_DAYS = 7
    solved = [_ticket(status=S.SOLVED, solved_at=timezone.now() - timedelta(days=8)) for _ in range(ticket_count)]

    # The due tickets; per batch of 100: a savepoint, the locks, the ticket listeners' lookup, the
    # release; per ticket: its status, its new version, its history row.
    with django_assert_num_queries(5 + 3 * ticket_count):
        assert tickets_close_solved() == ticket_count

    assert {ticket.status for ticket in Ticket.objects.filter(pk__in=[t.pk for t in solved])} == {S.CLOSED}


def test_pending_customers_are_reminded_once(settings):
    settings.TICKET_PENDING_REMINDER_DAYS = 3
    waiting = _ticket(status=S.PENDING, status_changed_at=timezone.now() - timedelta(days=4))

    assert tickets_remind_pending() == 1
    assert tickets_remind_pending() == 0
    assert Message.objects.filter(ticket=waiting, direction=MessageDirection.OUTBOUND).count() == 1


@contextmanager
def changed_after_the_first_query(change):
    """Run ``change`` right after the job's first query: what a colleague does while the job runs."""
    is_done = False

    def wrapper(execute, sql, params, many, context):
        nonlocal is_done
        result = execute(sql, params, many, context)
        if not is_done:
            is_done = True
            change()
        return result

    with connection.execute_wrapper(wrapper):
        yield


def test_a_ticket_that_left_pending_and_came_back_while_the_job_ran_is_not_reminded(settings):
    settings.TICKET_PENDING_REMINDER_DAYS = 3
    waiting = _ticket(status=S.PENDING, status_changed_at=timezone.now() - timedelta(days=4))

    def set_pending_again():
        Ticket.objects.filter(pk=waiting.pk).update(status_changed_at=timezone.now())

    with changed_after_the_first_query(set_pending_again):
        assert tickets_remind_pending() == 0

    assert not Message.objects.filter(ticket=waiting, direction=MessageDirection.OUTBOUND).exists()


def test_a_reply_on_a_ticket_that_changed_since_loading_is_held_back(agent):
    ticket = _ticket()
    loaded_version = ticket.version
    seen = MessageFactory(ticket=ticket)
    colleague = UserFactory(role=Role.AGENT)
    colleague_reply = ticket_reply(ticket_id=ticket.pk, author=colleague, body_text="Refund issued.")

    with pytest.raises(StaleTicketError) as error:
        ticket_reply(
            ticket_id=ticket.pk,
            author=agent,
            body_text="Let me check that for you.",
            expected_version=loaded_version,
            last_seen_message_id=seen.pk,
        )

    assert error.value.status_code == 409
    assert error.value.extra["new_message_ids"] == [colleague_reply.pk]
    assert not Message.objects.filter(body_text="Let me check that for you.").exists()
    assert MessageDelivery.objects.count() == 1


def test_a_reply_with_the_current_version_is_sent_and_recorded(agent):
    ticket = _ticket(status=S.NEW)

    message = ticket_reply(ticket_id=ticket.pk, author=agent, body_text="Hi!", expected_version=ticket.version)

    ticket.refresh_from_db()
    assert message.direction == MessageDirection.OUTBOUND
    assert ticket.status == S.OPEN
    assert ticket.assignee == agent
    assert ticket.first_agent_reply_at is not None
    assert ticket.version > 1
    assert MessageDelivery.objects.get(message=message).status == MessageDelivery.Status.PENDING


def test_reply_can_set_pending_in_one_step(agent):
    ticket = _ticket()

    ticket_reply(ticket_id=ticket.pk, author=agent, body_text="Could you send a photo?", status=S.PENDING)

    ticket.refresh_from_db()
    assert ticket.status == S.PENDING


def test_a_closed_ticket_takes_no_reply(agent):
    ticket = _ticket(status=S.CLOSED)

    with pytest.raises(ApplicationError):
        ticket_reply(ticket_id=ticket.pk, author=agent, body_text="Hello?")

    assert Message.objects.count() == 0


def test_notes_notify_mentioned_colleagues_and_never_go_out(agent, django_capture_on_commit_callbacks):
    ticket = _ticket()
    colleague = UserFactory(email="bea@store.test", role=Role.AGENT)
    UserFactory(email="beatrice@store.test", role=Role.AGENT)

    with django_capture_on_commit_callbacks() as callbacks:
        note = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="@bea can you check the refund? cc @nobody")

    assert note.direction == MessageDirection.NOTE
    assert list(Mention.objects.values_list("user", flat=True)) == [colleague.pk]
    assert not MessageDelivery.objects.exists()
    assert len(callbacks) == 2  # the mention notification; the inbox and the ticket events (one callback)


def test_merging_moves_the_timeline_tags_and_order(agent):
    target = _ticket()
    order = OrderFactory(customer=target.customer)
    source = _ticket(customer=target.customer, order=order)
    tag = TagFactory(name="shipping")
    source.tags.add(tag)
    MessageFactory.create_batch(2, ticket=source)
    MessageFactory(ticket=target)

    ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)

    source.refresh_from_db()
    target.refresh_from_db()
    assert target.messages.count() == 3
    assert list(target.tags.all()) == [tag]
    assert target.order == order
    assert source.merged_into == target
    assert source.status == S.CLOSED


def test_merging_tickets_of_different_customers_is_refused_unless_they_are_one_person(agent):
    first, second = _ticket(), _ticket()
    MessageFactory(ticket=first)

    with pytest.raises(ApplicationError, match="different customers"):
        ticket_merge(source_id=first.pk, target_id=second.pk, actor=agent)

    first.refresh_from_db()
    assert first.merged_into is None
    assert first.messages.count() == 1
    assert first.customer.merged_into is None


def test_merging_tickets_of_one_person_with_two_records_folds_the_customers(agent):
    source = _ticket()
    target = _ticket()
    folded, survivor = source.customer, target.customer
    order = OrderFactory(customer=folded)
    other_ticket = TicketFactory(customer=folded)
    MessageFactory(ticket=source)

    ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent, merge_customers=True)

    source.refresh_from_db()
    folded.refresh_from_db()
    other_ticket.refresh_from_db()
    order.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert target.messages.count() == 1
    assert folded.merged_into == survivor
    assert (order.customer, other_ticket.customer, source.customer) == (survivor, survivor, survivor)
    assert set(survivor.identities.values_list("customer", flat=True)) == {survivor.pk}
    assert survivor.identities.count() == 2
    activity = TicketActivity.objects.get(ticket=target, kind=TicketActivity.Kind.MERGE)
    assert activity.details["customer"] == str(folded)


def test_only_staff_who_may_change_customers_fold_them_in_a_merge(agent):
    agent.groups.clear()  # an account without the agent role's customer permission
    agent = type(agent).objects.get(pk=agent.pk)
    source, target = _ticket(), _ticket()

    with pytest.raises(ApplicationError, match="may not merge customers"):
        ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent, merge_customers=True)

    source.refresh_from_db()
    assert (source.merged_into, source.customer.merged_into) == (None, None)


def test_customers_are_folded_only_by_someone_who_may_see_all_their_tickets(agent):
    source, target = _ticket(), _ticket()
    hidden = TicketFactory(customer=source.customer, team=TeamFactory(), assignee=UserFactory(role=Role.AGENT))

    with pytest.raises(ApplicationError, match="tickets you may not see"):
        ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent, merge_customers=True)

    hidden.refresh_from_db()
    source.refresh_from_db()
    assert hidden.customer_id == source.customer_id
    assert (source.merged_into, source.customer.merged_into) == (None, None)
    supervisor = UserFactory(role=Role.SUPERVISOR)
    ticket_merge(source_id=source.pk, target_id=target.pk, actor=supervisor, merge_customers=True)
    hidden.refresh_from_db()
    assert hidden.customer_id == target.customer_id


def test_splitting_a_message_opens_its_own_ticket(agent):
    ticket = _ticket()
    MessageFactory(ticket=ticket, body_text="Where is my order?")
    other = MessageFactory(ticket=ticket, body_text="Also: can I change my address?\nThanks")

    new_ticket = ticket_split(message_id=other.pk, actor=agent)

    assert new_ticket.subject == "Also: can I change my address?"
    assert new_ticket.split_from == ticket
    assert list(new_ticket.messages.all()) == [other]
    assert ticket.messages.count() == 1


def test_the_only_customer_message_is_not_split_away_from_its_acknowledgement_and_replies(agent):
    ticket = _ticket()
    only = MessageFactory(ticket=ticket, body_text="Where is my order?")
    MessageFactory(ticket=ticket, direction=MessageDirection.OUTBOUND, is_automatic=True, body_text="We got it")
    MessageFactory(ticket=ticket, direction=MessageDirection.NOTE, body_text="Checking the carrier")

    with pytest.raises(ApplicationError) as error:
        ticket_split(message_id=only.pk, actor=agent)

    assert error.value.message == (
        "This is the ticket's only message from the customer; splitting it would leave nothing to answer."
    )
    assert Message.objects.get(pk=only.pk).ticket_id == ticket.pk
    assert Ticket.objects.count() == 1


def test_escalation_records_who_when_and_why(agent, supervisor):
    ticket = _ticket()
    team = TeamFactory(name="Billing")

    ticket_escalate(ticket_id=ticket.pk, actor=agent, reason="Customer threatens chargeback", team=team)
    ticket_escalate(ticket_id=ticket.pk, actor=agent, reason="Needs a goodwill refund", supervisor=supervisor)

    ticket.refresh_from_db()
    assert ticket.team == team
    assert ticket.assignee == supervisor
    reasons = list(Escalation.objects.order_by("created_at").values_list("escalated_by", "reason"))
    assert reasons == [(agent.pk, "Customer threatens chargeback"), (agent.pk, "Needs a goodwill refund")]


def test_escalating_to_an_agent_as_supervisor_is_refused(agent):
    ticket = _ticket()
    other_agent = UserFactory(role=Role.AGENT)

    with pytest.raises(ApplicationError):
        ticket_escalate(ticket_id=ticket.pk, actor=agent, reason="help", supervisor=other_agent)

    assert not Escalation.objects.exists()


def test_unknown_contact_reasons_are_refused_and_known_ones_recorded(agent):
    ticket = _ticket()
    TagFactory(name="damaged")

    with pytest.raises(ApplicationError):
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["made-up"])
    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["damaged"])

    assert list(ticket.tags.values_list("name", flat=True)) == ["damaged"]


def test_a_complaint_gets_a_thirty_day_clock_and_one_extension_notice(agent):
    ticket = _ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=27))
    TagFactory(name="complaint", is_complaint=True)

    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint"])
    ticket.refresh_from_db()
    due = ticket.complaint_due_at

    assert due is not None
    assert (due - ticket.created_at).days == 30
    assert complaints_send_extension_notices() == 1
    assert complaints_send_extension_notices() == 0
    ticket.refresh_from_db()
    assert ticket.complaint_due_at > due
    notice = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert "more time" in notice.body_text


def test_a_complaint_recognised_after_its_deadline_is_promised_a_date_ahead_of_now(agent):
    now = timezone.now()
    ticket = _ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=now - timedelta(days=60))
    TagFactory(name="complaint", is_complaint=True)
    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint"])

    assert complaints_send_extension_notices(now=now) == 1

    ticket.refresh_from_db()
    assert ticket.complaint_due_at == now + timedelta(days=14)
    notice = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert formats.date_format(now + timedelta(days=14), "DATE_FORMAT") in notice.body_text


@pytest.mark.parametrize(
    ("customer_zone", "calendar_zone", "expected"),
    [
        ("Asia/Tokyo", "America/Los_Angeles", "May 2, 2030"),
        ("UTC", "America/Los_Angeles", "May 1, 2030"),  # unknown: the desk's calendar
        ("UTC", "Asia/Tokyo", "May 2, 2030"),
    ],
)
def test_the_complaint_notice_gives_the_date_in_the_customers_time_zone(agent, customer_zone, calendar_zone, expected):
    BusinessCalendar.objects.create(name="desk", timezone=calendar_zone, is_default=True)
    ticket = _ticket(customer=CustomerFactory(timezone=customer_zone))
    # The new date, 30 + 14 days on, is 2030-05-01 20:00 UTC: May 2 in Tokyo, May 1 in Los Angeles.
    Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2030, 5, 1, 20, tzinfo=UTC) - timedelta(days=44))
    TagFactory(name="complaint", is_complaint=True)
    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint"])

    assert complaints_send_extension_notices(now=datetime(2030, 4, 15, tzinfo=UTC)) == 1

    notice = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert f"answer by {expected}." in notice.body_text


def test_a_complaint_reason_removed_while_the_job_runs_is_skipped_and_the_others_still_get_their_notice(agent):
    TagFactory(name="complaint", is_complaint=True)
    withdrawn, complaint = _ticket(), _ticket()
    for ticket in (withdrawn, complaint):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=27))
        ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint"])

    def remove_the_reason():
        Ticket.objects.filter(pk=withdrawn.pk).update(complaint_due_at=None)

    with changed_after_the_first_query(remove_the_reason):
        assert complaints_send_extension_notices() == 1

    assert list(Message.objects.filter(direction=MessageDirection.OUTBOUND).values_list("ticket", flat=True)) == [
        complaint.pk
    ]


def test_a_complaint_reason_removed_again_stops_the_clock_and_no_notice_goes_out(agent):
    ticket = _ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=27))
    TagFactory(name="complaint", is_complaint=True)
    TagFactory(name="damaged")
    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint", "damaged"])

    ticket_set_tags(ticket_id=ticket.pk, actor=agent, remove=["complaint"])

    ticket.refresh_from_db()
    assert ticket.complaint_due_at is None
    assert complaints_send_extension_notices() == 0
    assert not Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND).exists()


def test_a_complaint_reason_removed_after_the_notice_keeps_the_promised_date(agent):
    ticket = _ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=27))
    TagFactory(name="complaint", is_complaint=True)
    ticket_set_tags(ticket_id=ticket.pk, actor=agent, add=["complaint"])
    assert complaints_send_extension_notices() == 1
    ticket.refresh_from_db()
    promised = ticket.complaint_due_at

    ticket_set_tags(ticket_id=ticket.pk, actor=agent, remove=["complaint"])

    ticket.refresh_from_db()
    assert ticket.complaint_due_at == promised


def test_merging_a_complaint_carries_its_deadline_to_the_surviving_ticket(agent):
    complaint = _ticket()
    Ticket.objects.filter(pk=complaint.pk).update(created_at=timezone.now() - timedelta(days=27))
    TagFactory(name="complaint", is_complaint=True)
    ticket_set_tags(ticket_id=complaint.pk, actor=agent, add=["complaint"])
    complaint.refresh_from_db()
    survivor = TicketFactory(customer=complaint.customer, status=TicketStatus.OPEN)

    ticket_merge(source_id=complaint.pk, target_id=survivor.pk, actor=agent)

    survivor.refresh_from_db()
    assert survivor.complaint_due_at == complaint.complaint_due_at
    assert complaints_send_extension_notices() == 1
    assert Message.objects.filter(ticket=survivor, direction=MessageDirection.OUTBOUND, is_automatic=True).exists()


def test_assigning_a_new_ticket_opens_it_and_records_both_changes(agent):
    ticket = _ticket(status=TicketStatus.NEW)

    ticket_assign(ticket_id=ticket.pk, actor=agent, assignee=agent)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    kinds = dict(TicketActivity.objects.filter(ticket=ticket).values_list("kind", "details"))
    assert kinds[TicketActivity.Kind.STATUS] == {"before": TicketStatus.NEW, "after": TicketStatus.OPEN}
    assert kinds[TicketActivity.Kind.ASSIGNMENT]["after"]["assignee"] == agent.pk


def test_assigning_to_a_non_staff_user_is_refused(agent):
    ticket = _ticket()
    outsider = UserFactory(is_staff=False, role="")

    with pytest.raises(ApplicationError):
        ticket_assign(ticket_id=ticket.pk, actor=agent, assignee=outsider)

    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_a_merged_ticket_stops_its_sla_clocks(agent):
    from tickets.models import SlaPolicy, SlaTarget
    from tickets.services.sla import sla_start

    SlaPolicy.objects.create(name="Default", first_response_minutes=60, resolution_minutes=600)
    target = _ticket()
    source = _ticket(customer=target.customer)
    sla_start(ticket=source)
    assert Ticket.objects.get(pk=source.pk).sla_next_due_at is not None

    ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)

    source.refresh_from_db()
    assert source.sla_next_due_at is None
    assert not SlaTarget.objects.filter(ticket=source, met_at__isnull=True, due_at__isnull=False).exists()


def test_a_split_ticket_gets_the_desks_rules_and_its_own_sla(agent):
    from tickets.models import SlaPolicy, SlaTarget

    SlaPolicy.objects.create(name="Default", first_response_minutes=60)
    ticket = _ticket()
    MessageFactory(ticket=ticket)
    other = MessageFactory(ticket=ticket, body_text="Separate question")

    new_ticket = ticket_split(message_id=other.pk, actor=agent)

    assert SlaTarget.objects.filter(ticket=new_ticket, kind="first_response").count() == 1


def test_a_split_ticket_counts_from_when_the_customer_wrote_not_from_the_split(agent):
    from tickets.models import SlaPolicy, SlaTarget

    SlaPolicy.objects.create(name="Default", first_response_minutes=60)
    ticket = _ticket()
    MessageFactory(ticket=ticket)
    question = MessageFactory(ticket=ticket, body_text="Separate question")
    written_at = timezone.now() - timedelta(hours=6)
    Message.objects.filter(pk=question.pk).update(created_at=written_at)

    new_ticket = ticket_split(message_id=question.pk, actor=agent)

    new_ticket.refresh_from_db()
    assert new_ticket.created_at == written_at
    target = SlaTarget.objects.get(ticket=new_ticket, kind="first_response")
    assert target.started_at == written_at


@pytest.fixture
def answered_then_asked_again(agent):
    """An open ticket the agent answered, then the customer wrote again: its next-response clock runs."""
    SlaPolicy.objects.create(name="Default", first_response_minutes=60, next_response_minutes=60)
    ticket = _ticket()
    MessageFactory(ticket=ticket)
    sla_start(ticket=ticket)
    ticket_reply(ticket_id=ticket.pk, author=agent, body_text="Here is your answer.")
    question = MessageFactory(ticket=ticket, body_text="Also, a different question")
    sla_after_customer_message(ticket=ticket, received_at=question.created_at)
    return ticket, question


def test_splitting_off_the_only_unanswered_message_stops_the_originals_next_response_clock(
    agent, answered_then_asked_again
):
    original, question = answered_then_asked_again

    new_ticket = ticket_split(message_id=question.pk, actor=agent)

    original.refresh_from_db()
    assert list(SlaTarget.objects.filter(ticket=original).values_list("kind", flat=True)) == ["first_response"]
    assert original.sla_next_due_at is None
    first = SlaTarget.objects.get(ticket=new_ticket, kind="first_response")
    assert (first.started_at, first.met_at) == (question.created_at, None)


def test_a_customer_message_still_unanswered_keeps_the_originals_next_response_clock(agent, answered_then_asked_again):
    original, question = answered_then_asked_again
    MessageFactory(ticket=original, body_text="And where is my parcel?")
    running = SlaTarget.objects.get(ticket=original, kind="next_response")

    ticket_split(message_id=question.pk, actor=agent)

    still = SlaTarget.objects.get(ticket=original, kind="next_response")
    assert (still.due_at, still.met_at) == (running.due_at, None)
    original.refresh_from_db()
    assert original.sla_next_due_at == running.due_at


@pytest.fixture
def sent_notifications(monkeypatch):
    sent = []
    monkeypatch.setattr("tickets.services.conversation.notify_staff", lambda **notification: sent.append(notification))
    return sent


def test_a_mention_reaches_only_colleagues_who_may_see_the_ticket(agent, sent_notifications):
    team = TeamFactory()
    teammate = UserFactory(email="dan@store.test", role=Role.AGENT)
    team.members.add(agent, teammate)
    outsider = UserFactory(email="cleo@store.test", role=Role.AGENT)
    TeamFactory().members.add(outsider)
    lead = UserFactory(email="sam@store.test", role=Role.SUPERVISOR)
    ticket = _ticket(team=team, assignee=agent)

    note = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="@cleo @dan and @sam: refund or not?")

    assert set(Mention.objects.filter(message=note).values_list("user", flat=True)) == {teammate.pk, lead.pk}
    assert {sent["user_id"] for sent in sent_notifications} == {teammate.pk, lead.pk}
    assert outsider.pk not in {sent["user_id"] for sent in sent_notifications}


def test_a_mention_of_a_colleague_who_may_not_see_the_ticket_notifies_nobody(agent, sent_notifications):
    UserFactory(email="cleo@store.test", role=Role.AGENT)
    ticket = _ticket(assignee=UserFactory(role=Role.AGENT), team=TeamFactory())

    note = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="@cleo@store.test have a look")

    assert not Mention.objects.filter(message=note).exists()
    assert sent_notifications == []


def test_a_handle_two_colleagues_share_names_nobody_and_the_full_address_names_one(agent, sent_notifications):
    first = UserFactory(email="alex@one.test", role=Role.AGENT)
    UserFactory(email="alex@two.test", role=Role.AGENT)
    UserFactory(email="alexandra@one.test", role=Role.AGENT)
    ticket = _ticket()

    shared = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="@alex can you check?")
    exact = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="@Alex@one.test can you check?")

    assert not Mention.objects.filter(message=shared).exists()
    assert list(Mention.objects.filter(message=exact).values_list("user", flat=True)) == [first.pk]
    assert [sent["user_id"] for sent in sent_notifications] == [first.pk]


def test_a_handle_names_staff_only_by_their_whole_local_part(agent, sent_notifications):
    alex = UserFactory(email="alex@one.test", role=Role.AGENT)
    UserFactory(email="alex@customer.test", is_staff=False, role="")
    UserFactory(email="alex.ortiz@one.test", role=Role.AGENT)
    ticket = _ticket()

    note = ticket_add_note(ticket_id=ticket.pk, author=agent, body_text="Thanks @alex.")

    assert list(Mention.objects.filter(message=note).values_list("user", flat=True)) == [alex.pk]


def _message_at(created_at, **kwargs):
    message = MessageFactory(**kwargs)
    Message.objects.filter(pk=message.pk).update(created_at=created_at)  # created_at is set on insert
    return message


def test_a_merge_bringing_an_unanswered_customer_message_starts_the_survivors_response_clock_from_it(agent):
    from tickets.models import SlaPolicy, SlaTarget
    from tickets.services.sla import sla_record_agent_reply, sla_start

    SlaPolicy.objects.create(name="Default", first_response_minutes=60, next_response_minutes=30)
    now = timezone.now()
    target = _ticket(status=TicketStatus.OPEN)
    sla_start(ticket=target)
    _message_at(now - timedelta(hours=3), ticket=target)
    sla_record_agent_reply(ticket=Ticket.objects.get(pk=target.pk), replied_at=now - timedelta(hours=2))
    _message_at(now - timedelta(hours=2), ticket=target, direction=MessageDirection.OUTBOUND)
    source = _ticket(customer=target.customer, status=TicketStatus.OPEN)
    sla_start(ticket=source)
    asked_at = now - timedelta(minutes=10)
    _message_at(asked_at, ticket=source, body_text="Unanswered question")

    ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)

    target.refresh_from_db()
    running = SlaTarget.objects.get(ticket=target, kind=SlaTarget.Kind.NEXT_RESPONSE)
    assert (running.started_at, running.due_at, running.met_at) == (asked_at, asked_at + timedelta(minutes=30), None)
    assert target.sla_next_due_at == asked_at + timedelta(minutes=30)


def test_a_merge_bringing_customer_messages_older_than_the_survivors_answer_starts_no_response_clock(agent):
    from tickets.models import SlaPolicy, SlaTarget
    from tickets.services.sla import sla_record_agent_reply, sla_start

    SlaPolicy.objects.create(name="Default", first_response_minutes=60, next_response_minutes=30)
    now = timezone.now()
    target = _ticket(status=TicketStatus.OPEN)
    sla_start(ticket=target)
    _message_at(now - timedelta(hours=3), ticket=target)
    source = _ticket(customer=target.customer, status=TicketStatus.OPEN)
    _message_at(now - timedelta(hours=2), ticket=source)
    sla_record_agent_reply(ticket=Ticket.objects.get(pk=target.pk), replied_at=now - timedelta(hours=1))
    _message_at(now - timedelta(hours=1), ticket=target, direction=MessageDirection.OUTBOUND)

    ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)

    response_kinds = [SlaTarget.Kind.FIRST_RESPONSE, SlaTarget.Kind.NEXT_RESPONSE]
    assert not SlaTarget.objects.filter(ticket=target, kind__in=response_kinds, met_at__isnull=True).exists()
