"""Collision detection on a ticket: colleagues see who else is viewing or typing, live."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.choices import Role
from helpdesk.asgi import application
from tests.accounts.factories import TeamFactory, UserFactory
from tests.realtime.test_inbox_socket import ORIGIN, session_cookie_for
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def ticket_communicator(ticket_id: int, cookie: str) -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1"), (b"origin", ORIGIN.encode()), (b"cookie", cookie.encode())]
    return WebsocketCommunicator(application, f"/ws/tickets/{ticket_id}/", headers=headers)


async def _next_of_type(communicator: WebsocketCommunicator, kind: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame


def test_two_agents_see_each_other_viewing_then_typing():
    alex = UserFactory(role=Role.AGENT, first_name="Alex", last_name="Kim")
    bea = UserFactory(role=Role.AGENT, first_name="Bea", last_name="Roy")
    ticket = TicketFactory()
    alex_cookie, bea_cookie = session_cookie_for(alex), session_cookie_for(bea)

    async def scenario():
        first = ticket_communicator(ticket.pk, alex_cookie)
        assert (await first.connect(timeout=5))[0]
        alone = await _next_of_type(first, "presence")
        second = ticket_communicator(ticket.pk, bea_cookie)
        assert (await second.connect(timeout=5))[0]
        seen_by_alex = await _next_of_type(first, "presence")
        await second.send_json_to({"action": "typing"})
        typing_seen_by_alex = await _next_of_type(first, "presence")
        await second.disconnect()
        after_leaving = await _next_of_type(first, "presence")
        await first.disconnect()
        return alone, seen_by_alex, typing_seen_by_alex, after_leaving

    alone, seen, typing, after = async_to_sync(scenario)()

    assert alone["people"] == []
    assert seen["people"] == [{"user_id": bea.pk, "name": "Bea Roy", "state": "viewing"}]
    assert typing["people"] == [{"user_id": bea.pk, "name": "Bea Roy", "state": "typing"}]
    assert after["people"] == []


def test_an_agent_who_may_not_see_the_ticket_is_refused():
    outsider = UserFactory(role=Role.AGENT)
    ticket = TicketFactory(assignee=UserFactory(role=Role.AGENT), team=TeamFactory())
    cookie = session_cookie_for(outsider)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        connected, code = await communicator.connect(timeout=5)
        return connected, code

    connected, code = async_to_sync(scenario)()

    assert connected is False
    assert code == 4403


def test_a_ticket_change_reaches_the_agents_on_that_ticket():
    from channels_app import realtime
    from tickets.events import TicketChange

    agent = UserFactory(role=Role.AGENT)
    ticket = TicketFactory()
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        await _next_of_type(communicator, "presence")
        from asgiref.sync import sync_to_async

        def change():
            realtime.publish_now(
                group=realtime.ticket_group(ticket.pk),
                event_type="ticket.updated",
                payload={"ticket_id": ticket.pk, "number": ticket.number},
            )

        await sync_to_async(change)()
        event = await _next_of_type(communicator, "ticket.updated")
        await communicator.disconnect()
        return event

    event = async_to_sync(scenario)()

    assert event["payload"] == {"ticket_id": ticket.pk, "number": ticket.number}
    assert TicketChange  # the listener type the publisher is registered with


def test_a_mention_in_a_note_reaches_the_colleagues_open_inbox():
    from asgiref.sync import sync_to_async

    from tests.realtime.test_inbox_socket import inbox_communicator
    from tickets.services.conversation import ticket_add_note

    alex = UserFactory(role=Role.AGENT, email="alex@store.test")
    bea = UserFactory(role=Role.AGENT, email="bea@store.test", first_name="Bea")
    ticket = TicketFactory()
    cookie = session_cookie_for(bea)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        assert (await communicator.connect(timeout=5))[0]
        await _next_of_type(communicator, "hello")
        await sync_to_async(ticket_add_note)(ticket_id=ticket.pk, author=alex, body_text="@bea please check the refund")
        notification = await _next_of_type(communicator, "notification.mention")
        await communicator.disconnect()
        return notification

    notification = async_to_sync(scenario)()

    assert notification["payload"]["number"] == ticket.number
    assert notification["payload"]["excerpt"] == "@bea please check the refund"


def test_an_agent_with_two_pages_open_is_listed_once_and_stays_until_both_close():
    ana = UserFactory(role=Role.AGENT, first_name="Ana", last_name="Lee")
    bea = UserFactory(role=Role.AGENT)
    ticket = TicketFactory()
    ana_cookie, bea_cookie = session_cookie_for(ana), session_cookie_for(bea)

    async def scenario():
        bea_socket = ticket_communicator(ticket.pk, bea_cookie)
        assert (await bea_socket.connect(timeout=5))[0]
        await _next_of_type(bea_socket, "presence")
        first_tab, second_tab = ticket_communicator(ticket.pk, ana_cookie), ticket_communicator(ticket.pk, ana_cookie)
        assert (await first_tab.connect(timeout=5))[0]
        await _next_of_type(bea_socket, "presence")
        assert (await second_tab.connect(timeout=5))[0]
        both_open = await _next_of_type(bea_socket, "presence")
        await second_tab.send_json_to({"action": "typing"})
        typing_in_one = await _next_of_type(bea_socket, "presence")
        await first_tab.disconnect()
        one_closed = await _next_of_type(bea_socket, "presence")
        await second_tab.disconnect()
        both_closed = await _next_of_type(bea_socket, "presence")
        await bea_socket.disconnect()
        return both_open, typing_in_one, one_closed, both_closed

    both_open, typing_in_one, one_closed, both_closed = async_to_sync(scenario)()

    assert both_open["people"] == [{"user_id": ana.pk, "name": "Ana Lee", "state": "viewing"}]
    assert typing_in_one["people"] == [{"user_id": ana.pk, "name": "Ana Lee", "state": "typing"}]
    assert one_closed["people"] == [{"user_id": ana.pk, "name": "Ana Lee", "state": "typing"}]
    assert both_closed["people"] == []


def test_a_page_that_stopped_renewing_its_presence_drops_out_while_the_others_stay(monkeypatch):
    from channels_app import presence

    ticket = TicketFactory()
    started = presence.time.time()
    presence.presence_set(ticket_id=ticket.pk, connection="tab-gone", user_id=7, name="Ana", state="typing")
    monkeypatch.setattr(presence.time, "time", lambda: started + 45)
    presence.presence_set(ticket_id=ticket.pk, connection="tab-open", user_id=7, name="Ana", state="viewing")
    presence.presence_set(ticket_id=ticket.pk, connection="bea-tab", user_id=8, name="Bea", state="viewing")
    monkeypatch.setattr(presence.time, "time", lambda: started + 61)

    people = presence.presence_list(ticket_id=ticket.pk)

    assert people == [
        {"user_id": 7, "name": "Ana", "state": "viewing"},
        {"user_id": 8, "name": "Bea", "state": "viewing"},
    ]
    assert sorted(presence.realtime.redis_client().hkeys(f"helpdesk:presence:ticket:{ticket.pk}")) == [
        b"bea-tab",
        b"tab-open",
    ]


def test_an_agent_whose_ticket_goes_to_another_team_stops_hearing_of_it_and_is_closed():
    from asgiref.sync import sync_to_async

    from channels_app import realtime
    from tickets.services.lifecycle import ticket_assign

    team, billing = TeamFactory(), TeamFactory()
    ana = UserFactory(role=Role.AGENT)
    team.members.add(ana)
    sam = UserFactory(role=Role.SUPERVISOR, first_name="Sam", last_name="Sup")
    ticket = TicketFactory(team=team)
    ana_cookie, sam_cookie = session_cookie_for(ana), session_cookie_for(sam)

    async def scenario():
        ana_socket = ticket_communicator(ticket.pk, ana_cookie)
        assert (await ana_socket.connect(timeout=5))[0]
        await _next_of_type(ana_socket, "presence")
        sam_socket = ticket_communicator(ticket.pk, sam_cookie)
        assert (await sam_socket.connect(timeout=5))[0]
        await _next_of_type(ana_socket, "presence")
        await _next_of_type(sam_socket, "presence")
        await sync_to_async(ticket_assign)(ticket_id=ticket.pk, actor=sam, assignee=None, team=billing)
        await sync_to_async(realtime.flush_broadcasts)()
        closed = await ana_socket.receive_output(timeout=5)
        changed = await _next_of_type(sam_socket, "ticket.updated")
        ana_gone = await _next_of_type(sam_socket, "presence")
        await sam_socket.disconnect()
        return closed, ana_gone, changed, await ana_socket.receive_nothing(timeout=0.3)

    closed, ana_gone, changed, ana_hears_nothing_more = async_to_sync(scenario)()

    assert closed == {"type": "websocket.close", "code": 4403}
    assert ana_gone["people"] == []
    assert changed["payload"]["ticket_id"] == ticket.pk
    assert ana_hears_nothing_more is True


def test_presence_is_not_relayed_to_a_page_whose_agent_lost_the_ticket(monkeypatch):
    from asgiref.sync import sync_to_async

    from channels_app import presence
    from tickets.models import Ticket

    team, billing = TeamFactory(), TeamFactory()
    ana, bea = UserFactory(role=Role.AGENT), UserFactory(role=Role.AGENT, first_name="Bea", last_name="Roy")
    team.members.add(ana)
    billing.members.add(bea)
    ticket = TicketFactory(team=team)
    ana_cookie, bea_cookie = session_cookie_for(ana), session_cookie_for(bea)
    monkeypatch.setattr(presence, "ACCESS_RECHECK_SECONDS", 0.0)

    async def scenario():
        ana_socket = ticket_communicator(ticket.pk, ana_cookie)
        assert (await ana_socket.connect(timeout=5))[0]
        await _next_of_type(ana_socket, "presence")
        # moved without an event reaching the page (as by a change made straight in the database)
        await sync_to_async(Ticket.objects.filter(pk=ticket.pk).update)(team=billing)
        bea_socket = ticket_communicator(ticket.pk, bea_cookie)
        assert (await bea_socket.connect(timeout=5))[0]
        closed = await ana_socket.receive_output(timeout=5)
        await bea_socket.disconnect()
        return closed

    closed = async_to_sync(scenario)()

    assert closed == {"type": "websocket.close", "code": 4403}


def test_a_mention_reaches_the_colleague_on_a_ticket_page():
    from asgiref.sync import sync_to_async

    from tickets.services.conversation import ticket_add_note

    alex = UserFactory(role=Role.AGENT, email="alex@store.test")
    bea = UserFactory(role=Role.AGENT, email="bea@store.test", first_name="Bea")
    open_on_bea_screen, mentioned_on = TicketFactory(), TicketFactory()
    cookie = session_cookie_for(bea)

    async def scenario():
        communicator = ticket_communicator(open_on_bea_screen.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        await _next_of_type(communicator, "presence")
        await sync_to_async(ticket_add_note)(
            ticket_id=mentioned_on.pk, author=alex, body_text="@bea please check the refund"
        )
        notification = await _next_of_type(communicator, "notification.mention")
        await communicator.disconnect()
        return notification

    notification = async_to_sync(scenario)()

    assert notification["payload"]["number"] == mentioned_on.number
    assert notification["payload"]["excerpt"] == "@bea please check the refund"


# --- Catching up on the ticket's changes after a reconnect ---------------------------------------


def publish_ticket_updated(ticket) -> int:
    from channels_app import realtime

    sequence = realtime.publish_now(
        group=realtime.ticket_group(ticket.pk),
        event_type="ticket.updated",
        payload={"ticket_id": ticket.pk, "number": ticket.number},
    )
    # Broadcasting happens in the background; wait for it, so "published before the socket connected" holds.
    assert realtime.flush_broadcasts()
    return sequence


def test_the_ticket_socket_says_hello_with_the_tickets_latest_sequence_before_presence():
    agent = UserFactory(role=Role.AGENT)
    ticket, other_ticket = TicketFactory(), TicketFactory()
    publish_ticket_updated(ticket)
    latest = publish_ticket_updated(ticket)
    publish_ticket_updated(other_ticket)
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        first, second = await communicator.receive_json_from(timeout=5), await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return first, second

    first, second = async_to_sync(scenario)()

    assert first == {"type": "hello", "seq": latest}
    assert second == {"type": "presence", "people": []}


def test_catch_up_on_a_ticket_replays_exactly_its_events_after_since():
    agent = UserFactory(role=Role.AGENT)
    ticket, other_ticket = TicketFactory(), TicketFactory()
    seen = publish_ticket_updated(ticket)
    publish_ticket_updated(other_ticket)
    missed = [publish_ticket_updated(ticket), publish_ticket_updated(ticket)]
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        hello = await _next_of_type(communicator, "hello")
        await _next_of_type(communicator, "presence")
        await communicator.send_json_to({"action": "catch_up", "since": seen})
        replayed = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        nothing_more = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return hello, replayed, nothing_more

    hello, replayed, nothing_more = async_to_sync(scenario)()

    assert hello["seq"] == missed[1]
    payload = {"ticket_id": ticket.pk, "number": ticket.number}
    assert replayed == [
        {"type": "ticket.updated", "seq": missed[0], "payload": payload},
        {"type": "ticket.updated", "seq": missed[1], "payload": payload},
    ]
    assert nothing_more is True


def test_catch_up_from_ahead_of_a_ticket_counter_that_started_again_tells_the_page_to_reset():
    from channels_app import realtime

    agent = UserFactory(role=Role.AGENT)
    ticket = TicketFactory()
    seen_before_the_restart = publish_ticket_updated(ticket) + 500
    realtime.redis_client().delete(realtime._sequence_key(realtime.ticket_group(ticket.pk)))  # a Redis restart
    latest = publish_ticket_updated(ticket)
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        hello = await _next_of_type(communicator, "hello")
        await _next_of_type(communicator, "presence")
        await communicator.send_json_to({"action": "catch_up", "since": seen_before_the_restart})
        answer = await communicator.receive_json_from(timeout=5)
        nothing_more = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return hello, answer, nothing_more

    hello, answer, nothing_more = async_to_sync(scenario)()

    assert latest == 1
    assert hello == {"type": "hello", "seq": 1}
    assert answer == {"type": "reset", "seq": 1}
    assert nothing_more is True


@pytest.mark.parametrize("since", ["yesterday", None, [1], {"seq": 1}])
def test_a_bad_catch_up_on_a_ticket_gets_an_error_frame_and_the_socket_stays_live(since):
    agent = UserFactory(role=Role.AGENT)
    ticket = TicketFactory()
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        hello = await _next_of_type(communicator, "hello")
        await _next_of_type(communicator, "presence")
        await communicator.send_json_to({"action": "catch_up", "since": since})
        error = await communicator.receive_json_from(timeout=5)
        published = await sync_to_async(publish_ticket_updated)(ticket)
        still_live = await _next_of_type(communicator, "ticket.updated")
        await communicator.disconnect()
        return hello, error, published, still_live

    hello, error, published, still_live = async_to_sync(scenario)()

    assert error == {"type": "error", "detail": "'since' must be a sequence number."}
    assert still_live["seq"] == published == hello["seq"] + 1


def test_an_agent_who_lost_the_ticket_gets_no_replay_and_is_closed():
    from tickets.models import Ticket

    team, billing = TeamFactory(), TeamFactory()
    ana = UserFactory(role=Role.AGENT)
    team.members.add(ana)
    ticket = TicketFactory(team=team)
    missed = publish_ticket_updated(ticket)
    cookie = session_cookie_for(ana)

    async def scenario():
        communicator = ticket_communicator(ticket.pk, cookie)
        assert (await communicator.connect(timeout=5))[0]
        await _next_of_type(communicator, "hello")
        await _next_of_type(communicator, "presence")
        # moved without an event reaching the page (as by a change made straight in the database)
        await sync_to_async(Ticket.objects.filter(pk=ticket.pk).update)(team=billing)
        await communicator.send_json_to({"action": "catch_up", "since": missed - 1})
        answer = await communicator.receive_output(timeout=5)
        nothing_more = await communicator.receive_nothing(timeout=0.3)
        return answer, nothing_more

    answer, nothing_more = async_to_sync(scenario)()

    assert answer == {"type": "websocket.close", "code": 4403}
    assert nothing_more is True


def test_the_ticket_page_carries_the_number_of_the_tickets_latest_change_it_was_read_at():
    """So the page's first hello catches up on a change committed while the page was being read."""
    from django.test import Client

    agent = UserFactory(role=Role.AGENT)
    ticket, other_ticket = TicketFactory(), TicketFactory()
    latest = publish_ticket_updated(ticket)
    publish_ticket_updated(other_ticket)
    client = Client()
    client.force_login(agent)

    body = client.get(f"/inbox/tickets/{ticket.number}/").content.decode()

    assert f'data-socket="/ws/tickets/{ticket.pk}/" data-seq="{latest}"' in body
