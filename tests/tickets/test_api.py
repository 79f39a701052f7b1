"""The staff REST API for tickets, macros and contact reasons (/api/v1/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.choices import Role
from customers.models import CustomerIdentity
from tests.accounts.factories import TeamFactory, UserFactory
from tests.customers.factories import CustomerIdentityFactory
from tests.orders.factories import OrderFactory, ShipmentFactory
from tests.tickets.factories import MessageFactory, TagFactory, TicketFactory
from tickets.choices import Channel, MessageDirection, Priority, TicketStatus
from tickets.models import Escalation, Macro, Message, Tag, Ticket, TicketActivity

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _ticket(**kwargs):
    ticket = TicketFactory(**kwargs)
    CustomerIdentityFactory(customer=ticket.customer)
    return ticket


@pytest.fixture
def my_team(agent):
    team = TeamFactory(name="Shipping")
    team.members.add(agent)
    return team


@pytest.fixture
def other_team():
    return TeamFactory(name="Billing")


@pytest.fixture
def agent_client(agent, token_client_for):
    return token_client_for(agent)


@pytest.fixture
def supervisor_client(supervisor, token_client_for):
    return token_client_for(supervisor)


@pytest.fixture
def admin_client(admin_user, token_client_for):
    return token_client_for(admin_user)


def _state(ticket: Ticket) -> dict:
    """Everything an API call could change on a ticket, to assert that a refusal changed nothing."""
    fresh = Ticket.objects.get(pk=ticket.pk)
    return {
        "status": fresh.status,
        "priority": fresh.priority,
        "assignee": fresh.assignee_id,
        "team": fresh.team_id,
        "version": fresh.version,
        "merged_into": fresh.merged_into_id,
        "updated_at": fresh.updated_at,
        "tags": sorted(fresh.tags.values_list("name", flat=True)),
        "messages": list(Message.objects.filter(ticket=fresh).values_list("pk", flat=True)),
        "activities": TicketActivity.objects.filter(ticket=fresh).count(),
        "escalations": Escalation.objects.filter(ticket=fresh).count(),
    }


# --- Authentication ---------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/tickets/"),
    ("post", "/tickets/"),
    ("get", "/tickets/1/"),
    ("get", "/tickets/1/messages/"),
    ("post", "/tickets/1/reply/"),
    ("post", "/tickets/1/notes/"),
    ("post", "/tickets/1/status/"),
    ("post", "/tickets/1/priority/"),
    ("post", "/tickets/1/tags/"),
    ("post", "/tickets/1/assignment/"),
    ("post", "/tickets/1/escalate/"),
    ("post", "/tickets/1/merge/"),
    ("get", "/tickets/1/macros/1/preview/"),
    ("post", "/tickets/1/macros/1/apply/"),
    ("get", "/macros/"),
    ("post", "/macros/"),
    ("patch", "/macros/1/"),
    ("get", "/tags/"),
    ("post", "/tags/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_401_without_a_token(api_client, method, path):
    ticket = _ticket(status=TicketStatus.OPEN)
    before = _state(ticket)

    response = getattr(api_client, method)(f"{API}{path}".replace("/1/", f"/{ticket.pk}/", 1), {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _state(ticket) == before
    assert Ticket.objects.count() == 1


def test_an_unknown_token_is_a_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert api_client.get(f"{API}/tickets/").status_code == 401


# --- Listing ----------------------------------------------------------------------------------------


def test_the_list_shows_tickets_newest_activity_first_with_their_details(supervisor_client, agent, my_team):
    now = timezone.now()
    older = _ticket(subject="Parcel late", last_message_at=now - timedelta(hours=2))
    newer = _ticket(subject="Charged twice", assignee=agent, team=my_team, priority=Priority.HIGH, last_message_at=now)
    newer.tags.add(TagFactory(name="billing"))

    response = supervisor_client.get(f"{API}/tickets/")

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert first["number"] == newer.number
    assert first["subject"] == "Charged twice"
    assert first["priority"] == "high"
    assert first["assignee"]["id"] == agent.pk
    assert first["team"] == {"id": my_team.pk, "name": "Shipping"}
    assert first["tags"] == ["billing"]
    assert first["customer"]["email"] == newer.customer.identities.get().value
    assert first["version"] == newer.version
    assert body["next_cursor"] is None
    assert body["next"] is None


def test_keyset_pages_cover_every_ticket_once(supervisor_client):
    tickets = [_ticket() for _ in range(7)]
    seen: list[int] = []

    url = f"{API}/tickets/?limit=3"
    pages = 0
    while url:
        body = supervisor_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 3
    assert sorted(seen) == sorted(ticket.pk for ticket in tickets)
    assert len(seen) == 7


def test_a_forged_cursor_is_a_clear_400(supervisor_client):
    response = supervisor_client.get(f"{API}/tickets/", {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json()["detail"] == "That page link is not valid; start again from the first page."


@pytest.fixture
def filter_world(agent, supervisor, my_team, other_team):
    """A handful of tickets differing in one respect each, named for what finds them."""
    order = OrderFactory(number="#20417")
    world = {
        "urgent_chat": _ticket(priority=Priority.URGENT, channel=Channel.CHAT, status=TicketStatus.OPEN),
        "pending_mine": _ticket(status=TicketStatus.PENDING, assignee=agent, team=my_team),
        "billing_team": _ticket(status=TicketStatus.OPEN, team=other_team, assignee=supervisor),
        "solved_tagged": _ticket(status=TicketStatus.SOLVED),
        "with_order": _ticket(status=TicketStatus.NEW, order=order),
    }
    world["solved_tagged"].tags.add(TagFactory(name="damaged"))
    CustomerIdentity.objects.filter(customer=world["urgent_chat"].customer).update(value="maya@shop.test")
    return world


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "pending"}, {"pending_mine"}),
        ({"status": ["open", "pending"]}, {"urgent_chat", "pending_mine", "billing_team"}),
        ({"priority": "urgent"}, {"urgent_chat"}),
        ({"channel": "chat"}, {"urgent_chat"}),
        ({"assignee": "none"}, {"urgent_chat", "solved_tagged", "with_order"}),
        ({"team": "none"}, {"urgent_chat", "solved_tagged", "with_order"}),
        ({"tag": "damaged"}, {"solved_tagged"}),
        ({"q": "maya@shop.test"}, {"urgent_chat"}),
        ({"q": "MAYA@shop.test"}, {"urgent_chat"}),
        ({"q": "#20417"}, {"with_order"}),
        ({"q": "20417"}, {"with_order"}),
    ],
)
def test_the_list_filters(supervisor_client, filter_world, query, expected):
    response = supervisor_client.get(f"{API}/tickets/", query)

    assert response.status_code == 200
    names = {
        name for name, ticket in filter_world.items() if ticket.pk in {r["id"] for r in response.json()["results"]}
    }
    assert names == expected


def test_the_list_filters_by_assignee_me_id_team_and_ticket_number(supervisor_client, supervisor, agent, filter_world):
    def found(**query):
        results = supervisor_client.get(f"{API}/tickets/", query).json()["results"]
        return {name for name, ticket in filter_world.items() if ticket.pk in {r["id"] for r in results}}

    assert found(assignee="me") == {"billing_team"}
    assert found(assignee=str(agent.pk)) == {"pending_mine"}
    assert found(team=str(filter_world["billing_team"].team_id)) == {"billing_team"}
    assert found(q=str(filter_world["solved_tagged"].number)) == {"solved_tagged"}


def test_an_unknown_filter_value_is_a_400_naming_the_field(supervisor_client):
    response = supervisor_client.get(f"{API}/tickets/", {"status": "lost", "assignee": "someone"})

    assert response.status_code == 400
    assert set(response.json()) == {"status", "assignee"}


def test_an_agent_lists_only_their_own_their_teams_and_unrouted_tickets(agent_client, agent, my_team, other_team):
    mine = _ticket(assignee=agent, team=other_team)
    my_teams = _ticket(team=my_team, assignee=UserFactory())
    unrouted = _ticket()
    _ticket(team=other_team)
    _ticket(assignee=UserFactory())

    response = agent_client.get(f"{API}/tickets/")

    assert {row["id"] for row in response.json()["results"]} == {mine.pk, my_teams.pk, unrouted.pk}


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
@pytest.mark.parametrize("page_size", [5, 50])
def test_a_page_of_50_costs_the_queries_a_page_of_5_does(
    django_assert_num_queries, token_client_for, staff_by_role, my_team, role, page_size
):
    user = staff_by_role[role]
    my_team.members.add(user)
    tag = TagFactory(name="shipping")
    for index in range(page_size):
        ticket = _ticket(
            team=my_team,
            assignee=user if index % 2 else None,
            order=OrderFactory() if index % 3 else None,
        )
        ticket.tags.add(tag, TagFactory(name=f"extra-{index % 4}"))
    client = token_client_for(user)

    # token and user, the user's and their groups' permissions, tickets with their joins, tags, emails.
    with django_assert_num_queries(6):
        response = client.get(f"{API}/tickets/", {"limit": page_size})

    assert len(response.json()["results"]) == page_size


# --- One ticket -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "is_visible"), [(Role.AGENT, False), (Role.SUPERVISOR, True), (Role.ADMIN, True)])
def test_another_teams_ticket_is_visible_to_supervisors_and_admins_only(
    token_client_for, staff_by_role, my_team, other_team, role, is_visible
):
    my_team.members.add(staff_by_role[Role.AGENT])
    ticket = _ticket(team=other_team)

    response = token_client_for(staff_by_role[role]).get(f"{API}/tickets/{ticket.pk}/")

    assert response.status_code == (200 if is_visible else 404)
    if is_visible:
        assert response.json()["number"] == ticket.number
    else:
        assert response.json() == {"detail": "There is no such ticket, or it is not yours to see."}


def test_a_ticket_that_does_not_exist_is_the_same_404(agent_client):
    response = agent_client.get(f"{API}/tickets/999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no such ticket, or it is not yours to see."}


def test_the_detail_shows_the_ticket(agent_client, agent):
    order = OrderFactory(number="#3001")
    ticket = _ticket(assignee=agent, order=order, status=TicketStatus.PENDING)

    body = agent_client.get(f"{API}/tickets/{ticket.pk}/").json()

    assert body["id"] == ticket.pk
    assert body["status"] == "pending"
    assert body["order_number"] == "#3001"
    assert body["assignee"] == {"id": agent.pk, "name": agent.display_name, "email": agent.email}
    assert body["merged_into_number"] is None


# --- Creating a ticket ------------------------------------------------------------------------------


def test_creating_a_ticket_goes_through_ingest_and_answers_201_with_its_number(agent_client, monkeypatch):
    from tickets.api import tickets as tickets_api

    doors = []
    real_ingest = tickets_api.ingest

    def through_the_door(*, inbound, **options):
        doors.append(inbound)
        return real_ingest(inbound=inbound, **options)

    monkeypatch.setattr(tickets_api, "ingest", through_the_door)

    response = agent_client.post(
        f"{API}/tickets/",
        {
            "customer_email": "Maya@Example.test",
            "customer_name": "Maya Lopez",
            "subject": "Where is my parcel?",
            "body": "It has been a week.",
            "language": "es",
        },
        format="json",
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert response.json() == {
        "id": ticket.pk,
        "number": ticket.number,
        "status": "new",
        "message_id": ticket.messages.get().pk,
        "is_new_ticket": True,
        "is_duplicate": False,
    }
    assert [inbound.channel for inbound in doors] == ["api"]
    assert ticket.channel == Channel.API
    assert ticket.subject == "Where is my parcel?"
    assert ticket.customer.name == "Maya Lopez"
    assert ticket.customer.language == "es"
    assert ticket.customer.identities.get().value == "maya@example.test"
    message = ticket.messages.get()
    assert (message.direction, message.body_text) == (MessageDirection.INBOUND, "It has been a week.")


def test_a_ticket_can_be_created_for_another_channel(agent_client):
    response = agent_client.post(
        f"{API}/tickets/",
        {"customer_email": "sam@example.test", "body": "Calling about my order", "channel": "phone"},
        format="json",
    )

    assert response.status_code == 201
    assert Ticket.objects.get().channel == Channel.PHONE


def test_sending_the_same_external_id_again_returns_the_first_ticket(agent_client):
    body = {"customer_email": "sam@example.test", "body": "Broken lid", "external_id": "form-881"}
    first = agent_client.post(f"{API}/tickets/", body, format="json")

    second = agent_client.post(f"{API}/tickets/", body, format="json")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["is_duplicate"] is True
    assert second.json()["number"] == first.json()["number"]
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_new_message_never_joins_a_ticket_the_caller_may_not_see(agent_client, other_team):
    elsewhere = _ticket(team=other_team, assignee=UserFactory(role=Role.AGENT), status=TicketStatus.PENDING)
    customer_email = elsewhere.customer.identities.get().value
    before = _state(elsewhere)

    response = agent_client.post(
        f"{API}/tickets/",
        {"customer_email": customer_email, "subject": f"[#{elsewhere.number}]", "body": "Send the refund elsewhere"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["is_new_ticket"] is True
    assert response.json()["number"] != elsewhere.number
    assert _state(elsewhere) == before
    assert Ticket.objects.get(number=response.json()["number"]).customer_id == elsewhere.customer_id


def test_an_external_id_of_a_ticket_the_caller_may_not_see_is_a_409_that_tells_nothing(
    agent_client, supervisor_client, other_team
):
    body = {"customer_email": "kim@example.test", "body": "Lid broken", "external_id": "form-990"}
    first = supervisor_client.post(f"{API}/tickets/", body, format="json")
    Ticket.objects.filter(number=first.json()["number"]).update(team=other_team)

    response = agent_client.post(f"{API}/tickets/", body, format="json")

    assert response.status_code == 409
    assert str(first.json()["number"]) not in response.content.decode()
    assert Message.objects.count() == 1


def test_staff_without_the_permission_to_open_tickets_get_403_and_nothing_is_stored(token_client_for):
    from django.contrib.auth.models import Permission

    reader = UserFactory(role=Role.AGENT)
    reader.groups.clear()
    reader.user_permissions.add(*Permission.objects.filter(codename="view_ticket"))

    response = token_client_for(reader).post(
        f"{API}/tickets/", {"customer_email": "lee@example.test", "body": "Hello"}, format="json"
    )

    assert response.status_code == 403
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_email": "not-an-email", "body": "x"}, "customer_email"),
        ({"customer_email": "a@example.test"}, "body"),
        ({"customer_email": "a@example.test", "body": "x", "channel": "pigeon"}, "channel"),
        ({"customer_email": "a@example.test", "body": "x", "language": "klingon"}, "language"),
    ],
)
def test_an_invalid_new_ticket_is_a_400_naming_the_field_and_stores_nothing(agent_client, body, field):
    response = agent_client.post(f"{API}/tickets/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Ticket.objects.count() == 0


# --- The conversation -------------------------------------------------------------------------------


def test_the_messages_list_holds_the_whole_timeline_with_notes_oldest_first(agent_client, agent):
    ticket = _ticket(assignee=agent)
    inbound = MessageFactory(ticket=ticket, body_text="Where is it?")
    note = MessageFactory(ticket=ticket, direction=MessageDirection.NOTE, author=agent, body_text="Checking UPS")

    response = agent_client.get(f"{API}/tickets/{ticket.pk}/messages/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [inbound.pk, note.pk]
    assert rows[1]["is_note"] is True
    assert rows[1]["author"]["id"] == agent.pk
    assert rows[0]["body_text"] == "Where is it?"


def test_the_messages_list_pages_by_keyset(agent_client, agent):
    ticket = _ticket(assignee=agent)
    messages = [MessageFactory(ticket=ticket) for _ in range(5)]

    first = agent_client.get(f"{API}/tickets/{ticket.pk}/messages/", {"limit": 3}).json()
    second = agent_client.get(first["next"]).json()

    assert [row["id"] for row in first["results"] + second["results"]] == [m.pk for m in messages]
    assert second["next"] is None


def test_a_reply_with_the_current_version_is_sent(agent_client, agent):
    ticket = _ticket(status=TicketStatus.NEW)

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/reply/",
        {"body": "It ships tomorrow.", "expected_version": ticket.version, "status": "pending"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    message = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert body["message"]["id"] == message.pk
    assert message.body_text == "It ships tomorrow."
    assert message.author == agent
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    assert ticket.assignee == agent
    assert body["ticket"]["version"] == ticket.version > 1


def test_a_reply_to_a_ticket_that_moved_on_is_a_409_and_sends_nothing(agent_client, agent):
    ticket = _ticket(assignee=agent)
    seen = MessageFactory(ticket=ticket)
    loaded_version = ticket.version
    newer = MessageFactory(ticket=ticket, body_text="Actually, cancel it")
    Ticket.objects.filter(pk=ticket.pk).update(version=F("version") + 1)

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/reply/",
        {"body": "Shipped!", "expected_version": loaded_version, "last_seen_message_id": seen.pk},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This ticket changed while you were writing. Your reply was not sent; read the new messages first.",
        "current_version": loaded_version + 1,
        "new_message_ids": [newer.pk],
    }
    assert not Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND).exists()


def test_a_reply_without_text_is_a_400(agent_client, agent):
    ticket = _ticket(assignee=agent)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/reply/", {"body": "   "}, format="json")

    assert response.status_code == 400
    assert "body" in response.json()


def test_a_note_is_recorded_for_staff_only(agent_client, agent):
    ticket = _ticket(assignee=agent)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/notes/", {"body": "Refund approved"}, format="json")

    assert response.status_code == 201
    note = Message.objects.get(ticket=ticket)
    assert note.direction == MessageDirection.NOTE
    assert response.json()["id"] == note.pk
    assert response.json()["is_note"] is True
    assert not hasattr(note, "delivery")


# --- Changes ----------------------------------------------------------------------------------------


def test_the_status_changes(agent_client, agent):
    ticket = _ticket(assignee=agent, status=TicketStatus.OPEN)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/status/", {"status": "on_hold"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "on_hold"
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ON_HOLD


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (
            TicketStatus.OPEN,
            TicketStatus.CLOSED,
            "Only a solved ticket can close: solve it first, then it closes when the customer confirms.",
        ),
        (
            TicketStatus.CLOSED,
            TicketStatus.OPEN,
            "A closed ticket cannot change; the customer's next message opens a follow-up.",
        ),
        (TicketStatus.OPEN, TicketStatus.NEW, "A ticket cannot go back to new."),
    ],
)
def test_an_invalid_transition_is_a_400_saying_why_and_changes_nothing(agent_client, agent, current, target, message):
    ticket = _ticket(assignee=agent, status=current)
    before = _state(ticket)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/status/", {"status": target}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": message}
    assert _state(ticket) == before


def test_an_invalid_transition_with_a_reply_sends_nothing(agent_client, agent):
    ticket = _ticket(assignee=agent, status=TicketStatus.OPEN)
    before = _state(ticket)

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/reply/", {"body": "Closing this", "status": "closed"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Only a solved ticket can close")
    assert _state(ticket) == before


def test_the_priority_changes(agent_client, agent):
    ticket = _ticket(assignee=agent)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/priority/", {"priority": "urgent"}, format="json")

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.URGENT


def test_tags_are_added_and_removed(agent_client, agent):
    ticket = _ticket(assignee=agent)
    ticket.tags.add(TagFactory(name="shipping"))
    TagFactory(name="damaged")

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/tags/", {"add": ["damaged"], "remove": ["shipping"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["tags"] == ["damaged"]
    assert list(ticket.tags.values_list("name", flat=True)) == ["damaged"]


def test_an_unknown_tag_is_a_400_and_changes_nothing(agent_client, agent):
    ticket = _ticket(assignee=agent)
    before = _state(ticket)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/tags/", {"add": ["made-up"]}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown contact reasons: made-up"}
    assert _state(ticket) == before


def test_assignment_sets_the_assignee_and_team_and_null_clears_the_team(agent_client, agent, my_team):
    ticket = _ticket(status=TicketStatus.NEW)
    colleague = UserFactory()

    first = agent_client.post(
        f"{API}/tickets/{ticket.pk}/assignment/", {"assignee_id": colleague.pk, "team_id": my_team.pk}, format="json"
    )
    kept = agent_client.post(f"{API}/tickets/{ticket.pk}/assignment/", {"assignee_id": agent.pk}, format="json")
    cleared = agent_client.post(
        f"{API}/tickets/{ticket.pk}/assignment/", {"assignee_id": agent.pk, "team_id": None}, format="json"
    )

    assert first.status_code == 200
    assert first.json()["assignee"]["id"] == colleague.pk
    assert first.json()["team"]["id"] == my_team.pk
    assert first.json()["status"] == "open"
    assert kept.json()["team"]["id"] == my_team.pk
    assert cleared.json()["team"] is None
    assert cleared.json()["assignee"]["id"] == agent.pk


def test_assigning_to_someone_who_is_not_staff_is_a_400(agent_client, agent):
    ticket = _ticket(assignee=agent)
    before = _state(ticket)

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/assignment/",
        {"assignee_id": UserFactory(is_staff=False, role="").pk},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["assignee_id"]
    assert _state(ticket) == before


def test_escalating_records_who_and_why(agent_client, agent, supervisor):
    ticket = _ticket(assignee=agent)

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/escalate/",
        {"reason": "Threatens a chargeback", "supervisor_id": supervisor.pk},
        format="json",
    )

    assert response.status_code == 201
    escalation = Escalation.objects.get(ticket=ticket)
    assert response.json()["id"] == escalation.pk
    assert response.json()["to_supervisor"]["id"] == supervisor.pk
    assert escalation.escalated_by == agent
    assert Ticket.objects.get(pk=ticket.pk).assignee == supervisor


def test_escalating_without_a_target_is_a_400(agent_client, agent):
    ticket = _ticket(assignee=agent)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/escalate/", {"reason": "help"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Escalate to a team or to a supervisor."}


def test_merging_moves_the_timeline_into_the_other_ticket(agent_client, agent):
    source = _ticket(assignee=agent)
    target = TicketFactory(customer=source.customer, assignee=agent)
    moved = MessageFactory(ticket=source)

    response = agent_client.post(f"{API}/tickets/{source.pk}/merge/", {"into_ticket_id": target.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == target.pk
    assert Message.objects.get(pk=moved.pk).ticket_id == target.pk
    source.refresh_from_db()
    assert (source.status, source.merged_into_id) == (TicketStatus.CLOSED, target.pk)


def test_merging_tickets_of_two_customer_records_needs_merge_customers(agent_client, agent):
    source = _ticket(assignee=agent)
    target = TicketFactory(assignee=agent)

    refused = agent_client.post(f"{API}/tickets/{source.pk}/merge/", {"into_ticket_id": target.pk}, format="json")
    merged = agent_client.post(
        f"{API}/tickets/{source.pk}/merge/", {"into_ticket_id": target.pk, "merge_customers": True}, format="json"
    )

    assert refused.status_code == 400
    assert "different customers" in refused.json()["detail"]
    assert merged.status_code == 200
    source.refresh_from_db()
    assert (source.merged_into_id, source.customer_id) == (target.pk, target.customer_id)


def test_merging_into_a_ticket_the_agent_may_not_see_is_a_404_and_changes_nothing(agent_client, agent, other_team):
    source = _ticket(assignee=agent)
    hidden = TicketFactory(customer=source.customer, team=other_team)
    before = (_state(source), _state(hidden))

    response = agent_client.post(f"{API}/tickets/{source.pk}/merge/", {"into_ticket_id": hidden.pk}, format="json")

    assert response.status_code == 404
    assert (_state(source), _state(hidden)) == before


# --- Every ticket operation refuses an agent on another team's ticket ------------------------------


def _denied_operations():
    return [
        ("get", "", lambda ctx: None),
        ("get", "messages/", lambda ctx: None),
        ("post", "reply/", lambda ctx: {"body": "Hello"}),
        ("post", "notes/", lambda ctx: {"body": "Psst"}),
        ("post", "status/", lambda ctx: {"status": "pending"}),
        ("post", "priority/", lambda ctx: {"priority": "urgent"}),
        ("post", "tags/", lambda ctx: {"add": ["shipping"]}),
        ("post", "assignment/", lambda ctx: {"assignee_id": ctx["agent"].pk}),
        ("post", "escalate/", lambda ctx: {"reason": "Angry", "team_id": ctx["team"].pk}),
        ("post", "merge/", lambda ctx: {"into_ticket_id": ctx["own_ticket"].pk}),
        ("get", "macros/{macro}/preview/", lambda ctx: None),
        ("post", "macros/{macro}/apply/", lambda ctx: {}),
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), _denied_operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_an_agent_gets_404_on_another_teams_ticket_and_nothing_changes(
    agent_client, agent, my_team, other_team, method, suffix, body
):
    hidden = _ticket(team=other_team, status=TicketStatus.OPEN)
    own_ticket = TicketFactory(customer=hidden.customer, assignee=agent)
    TagFactory(name="shipping")
    macro = Macro.objects.create(name="Thanks", body="Thanks for writing!")
    context = {"agent": agent, "team": my_team, "own_ticket": own_ticket}
    before = (_state(hidden), _state(own_ticket), Macro.objects.get(pk=macro.pk).usage_count)

    path = f"{API}/tickets/{hidden.pk}/{suffix.format(macro=macro.pk)}"
    response = getattr(agent_client, method)(path, body(context), format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no such ticket, or it is not yours to see."}
    assert (_state(hidden), _state(own_ticket), Macro.objects.get(pk=macro.pk).usage_count) == before


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_change_any_teams_ticket(token_client_for, staff_by_role, other_team, role):
    ticket = _ticket(team=other_team, status=TicketStatus.OPEN)

    response = token_client_for(staff_by_role[role]).post(
        f"{API}/tickets/{ticket.pk}/status/", {"status": "pending"}, format="json"
    )

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.PENDING


def test_staff_without_a_role_see_no_ticket(token_client_for):
    ticket = _ticket()
    client = token_client_for(UserFactory(role=""))

    assert client.get(f"{API}/tickets/{ticket.pk}/").status_code == 404
    assert client.get(f"{API}/tickets/").json()["results"] == []


# --- Macros -----------------------------------------------------------------------------------------


def test_the_macro_list_holds_shared_macros_and_my_own(agent_client, agent):
    shared = Macro.objects.create(name="Where is my order", body="Hi {{ customer.first_name }}")
    mine = Macro.objects.create(name="My sign-off", body="Cheers", owner=agent)
    Macro.objects.create(name="Someone else's", body="Hello", owner=UserFactory())
    Macro.objects.create(name="Retired", body="Old", is_active=False)

    response = agent_client.get(f"{API}/macros/")

    assert response.status_code == 200
    assert [(row["id"], row["is_shared"]) for row in response.json()] == [(mine.pk, False), (shared.pk, True)]


def test_an_agent_saves_a_personal_macro(agent_client, agent):
    TagFactory(name="shipping")

    response = agent_client.post(
        f"{API}/macros/",
        {
            "name": "Tracking",
            "body": 'Hi {{ customer.first_name|default:"there" }}, track it here: {{ order.tracking_link }}',
            "translations": {"es": 'Hola {{ customer.first_name|default:"" }}: {{ order.tracking_link }}'},
            "set_status": "pending",
            "add_tags": ["shipping"],
        },
        format="json",
    )

    assert response.status_code == 201
    macro = Macro.objects.get()
    assert macro.owner == agent
    assert response.json()["is_shared"] is False
    assert response.json()["translations"] == {
        "es": 'Hola {{ customer.first_name|default:"" }}: {{ order.tracking_link }}'
    }
    assert response.json()["add_tags"] == ["shipping"]
    assert macro.set_status == TicketStatus.PENDING


def test_only_admins_save_shared_macros(agent_client, admin_client):
    body = {"name": "Refund policy", "body": "Refunds take 5 days.", "is_shared": True}

    refused = agent_client.post(f"{API}/macros/", body, format="json")
    saved = admin_client.post(f"{API}/macros/", body, format="json")

    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only admins keep shared macros; save it as a personal macro instead."}
    assert saved.status_code == 201
    assert Macro.objects.get().owner is None


@pytest.mark.parametrize(
    ("text", "message_start"),
    [
        ("{% load static %}Hi", "{% load %} is not allowed in a macro"),
        ('{% include "base.html" %}', "{% include %} is not allowed in a macro"),
        ("{{ customer.__class__ }}", "The macro cannot be read: Variables and attributes may not begin"),
        ("{{ customer.email }}", "Unknown placeholders: {{ customer.email }}."),
        ("{{ customer.first_name|safe }}", "The macro cannot be read: Invalid filter: 'safe'"),
    ],
)
def test_a_macro_using_what_the_sandbox_lacks_is_refused_with_a_clear_400(agent_client, text, message_start):
    response = agent_client.post(f"{API}/macros/", {"name": "Bad", "body": text}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message_start)
    assert Macro.objects.count() == 0


def test_the_owner_changes_a_personal_macro(agent_client, agent):
    macro = Macro.objects.create(name="Sign-off", body="Cheers", owner=agent)

    response = agent_client.patch(
        f"{API}/macros/{macro.pk}/", {"body": "Best, {{ agent.first_name }}", "is_active": False}, format="json"
    )

    assert response.status_code == 200
    macro.refresh_from_db()
    assert (macro.body, macro.is_active, macro.name) == ("Best, {{ agent.first_name }}", False, "Sign-off")


def test_an_agent_cannot_change_a_shared_macro_or_see_someone_elses(agent_client):
    shared = Macro.objects.create(name="Shared", body="Hello")
    theirs = Macro.objects.create(name="Theirs", body="Hello", owner=UserFactory())

    on_shared = agent_client.patch(f"{API}/macros/{shared.pk}/", {"body": "Changed"}, format="json")
    on_theirs = agent_client.patch(f"{API}/macros/{theirs.pk}/", {"body": "Changed"}, format="json")

    assert on_shared.status_code == 403
    assert on_theirs.status_code == 404
    assert set(Macro.objects.values_list("body", flat=True)) == {"Hello"}


def test_an_admin_changes_a_shared_macro(admin_client):
    shared = Macro.objects.create(name="Shared", body="Hello")

    response = admin_client.patch(f"{API}/macros/{shared.pk}/", {"name": "Greeting"}, format="json")

    assert response.status_code == 200
    assert Macro.objects.get(pk=shared.pk).name == "Greeting"


def test_a_macro_preview_shows_the_text_and_what_is_missing(agent_client, agent):
    ticket = _ticket(assignee=agent)
    ticket.customer.name = "Maya Lopez"
    ticket.customer.save()
    macro = Macro.objects.create(name="Track", body="Hi {{ customer.first_name }}: {{ order.tracking_link }}")

    response = agent_client.get(f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/preview/")

    assert response.status_code == 200
    assert response.json() == {
        "text": "Hi Maya:",
        "missing_placeholders": ["order.tracking_link"],
        "actions": {"set_status": None, "set_priority": None, "add_tags": []},
        "language": "",
        "ticket_version": ticket.version,
    }


def test_applying_a_macro_sends_the_reply_and_makes_its_changes(agent_client, agent):
    ticket = _ticket(assignee=agent, status=TicketStatus.OPEN)
    ShipmentFactory(order=OrderFactory(customer=ticket.customer, number="#7001"), tracking_url="https://t.test/1")
    macro = Macro.objects.create(
        name="Track", body="Order {{ order.number }}: {{ order.tracking_link }}", set_status=TicketStatus.PENDING
    )

    response = agent_client.post(
        f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/apply/", {"expected_version": ticket.version}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["message"]["body_text"] == "Order #7001: https://t.test/1"
    assert response.json()["ticket"]["status"] == "pending"


def test_applying_a_macro_with_a_missing_placeholder_is_a_400_listing_it(agent_client, agent):
    ticket = _ticket(assignee=agent)
    macro = Macro.objects.create(name="Track", body="Track it: {{ order.tracking_link }}")
    before = _state(ticket)

    response = agent_client.post(f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/apply/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["missing_placeholders"] == ["order.tracking_link"]
    assert _state(ticket) == before


def test_a_macro_that_cannot_render_is_previewed_as_blocked_and_applying_it_is_a_400(agent_client, agent):
    ticket = _ticket(assignee=agent, status=TicketStatus.OPEN)
    ShipmentFactory(
        order=OrderFactory(customer=ticket.customer), estimated_delivery_at=datetime(2026, 12, 4, 15, tzinfo=UTC)
    )
    body = 'Arrives {{ order.expected_delivery|date:"D j M, H:i" }}'  # saved before the checks refused it
    macro = Macro.objects.create(name="Arrival", body=body)
    problem = (
        "This macro cannot be rendered for this ticket, so nothing can be sent: "
        "The format for date objects may not contain time-related format specifiers (found 'H')."
    )
    before = _state(ticket)

    preview = agent_client.get(f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/preview/")
    applied = agent_client.post(f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/apply/", {}, format="json")

    assert (preview.status_code, preview.json()["text"], preview.json()["missing_placeholders"]) == (
        200,
        body,
        [problem],
    )
    assert (applied.status_code, applied.json()["missing_placeholders"]) == (400, [problem])
    assert _state(ticket) == before


@pytest.mark.parametrize(("method", "suffix"), [("get", "preview/"), ("post", "apply/")], ids=["preview", "apply"])
def test_a_switched_off_macro_is_neither_previewed_nor_applied(agent_client, agent, method, suffix):
    ticket = _ticket(assignee=agent, status=TicketStatus.OPEN)
    macro = Macro.objects.create(name="Old answer", body="Hello", is_active=False)
    before = (_state(ticket), Macro.objects.get(pk=macro.pk).usage_count)

    response = getattr(agent_client, method)(f"{API}/tickets/{ticket.pk}/macros/{macro.pk}/{suffix}", format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no such macro, or it is someone else's personal macro."}
    assert (_state(ticket), Macro.objects.get(pk=macro.pk).usage_count) == before


# --- Contact reasons --------------------------------------------------------------------------------


def test_everyone_on_staff_lists_contact_reasons(agent_client):
    TagFactory(name="shipping")
    TagFactory(name="billing")

    response = agent_client.get(f"{API}/tags/")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()] == ["billing", "shipping"]


@pytest.mark.parametrize(("role", "status"), [(Role.AGENT, 403), (Role.SUPERVISOR, 403), (Role.ADMIN, 201)])
def test_only_admins_add_contact_reasons(token_client_for, staff_by_role, role, status):
    response = token_client_for(staff_by_role[role]).post(
        f"{API}/tags/", {"name": "chargeback", "is_complaint": True}, format="json"
    )

    assert response.status_code == status
    assert Tag.objects.filter(name="chargeback", is_complaint=True).exists() is (status == 201)


def test_a_contact_reason_that_exists_is_a_409(admin_client):
    TagFactory(name="shipping")

    response = admin_client.post(f"{API}/tags/", {"name": "shipping"}, format="json")

    assert response.status_code == 409
    assert Tag.objects.count() == 1


# --- The schema -------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_ticket_endpoint(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/tickets/": ["get", "post"],
        "/api/v1/tickets/{ticket_id}/": ["get"],
        "/api/v1/tickets/{ticket_id}/messages/": ["get"],
        "/api/v1/tickets/{ticket_id}/reply/": ["post"],
        "/api/v1/tickets/{ticket_id}/notes/": ["post"],
        "/api/v1/tickets/{ticket_id}/status/": ["post"],
        "/api/v1/tickets/{ticket_id}/priority/": ["post"],
        "/api/v1/tickets/{ticket_id}/tags/": ["post"],
        "/api/v1/tickets/{ticket_id}/assignment/": ["post"],
        "/api/v1/tickets/{ticket_id}/escalate/": ["post"],
        "/api/v1/tickets/{ticket_id}/merge/": ["post"],
        "/api/v1/tickets/{ticket_id}/macros/{macro_id}/preview/": ["get"],
        "/api/v1/tickets/{ticket_id}/macros/{macro_id}/apply/": ["post"],
        "/api/v1/macros/": ["get", "post"],
        "/api/v1/macros/{macro_id}/": ["patch"],
        "/api/v1/tags/": ["get", "post"],
    }
    assert {path: sorted(paths[path]) for path in expected if path in paths} == expected
    for path, methods in expected.items():
        for method in methods:
            operation = paths[path][method]
            assert "401" in operation["responses"], (path, method)
            success = next(code for code in ("200", "201") if code in operation["responses"])
            assert "application/json" in operation["responses"][success]["content"], (path, method)
            if method in {"post", "patch"}:
                assert "application/json" in operation["requestBody"]["content"], (path, method)
    reply = paths["/api/v1/tickets/{ticket_id}/reply/"]["post"]
    assert sorted(reply["responses"]) == ["201", "400", "401", "403", "404", "409"]
    listing = paths["/api/v1/tickets/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "status",
        "priority",
        "channel",
        "assignee",
        "team",
        "tag",
        "q",
    }
