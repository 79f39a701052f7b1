"""The agents' live inbox socket: who may connect, numbered events, and catching up after a reconnect."""

from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from websockets.sync.client import ClientConnection, connect

from channels_app import realtime
from helpdesk.asgi import application
from tests.accounts.factories import UserFactory
from tickets.models import Ticket
from tickets.services.ingest import InboundMessage, ingest

# Consumers read the session and user through database_sync_to_async, which closes the
# connection a plain `db` test keeps its rolled-back transaction on; so these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

INBOX_PATH = "/ws/inbox/"
ORIGIN = "http://127.0.0.1"
GROUP = realtime.AGENT_INBOX_GROUP


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def inbox_communicator(*, cookie: str | None = None, origin: str = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, INBOX_PATH, headers=headers)


def publish(number: int) -> int:
    payload = {"ticket_id": number, "number": number}
    sequence = realtime.publish_now(group=GROUP, event_type="ticket.created", payload=payload)
    # Broadcasting happens in the background; wait for it, so "published before the socket connected" holds.
    assert realtime.flush_broadcasts()
    return sequence


def test_staff_socket_says_hello_with_the_latest_sequence_then_relays_the_next_event(agent):
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        published = await sync_to_async(publish)(1001)
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return hello, published, event

    hello, published, event = async_to_sync(scenario)()

    assert hello["type"] == "hello"
    assert published == hello["seq"] + 1
    assert event == {"type": "ticket.created", "seq": hello["seq"] + 1, "payload": {"ticket_id": 1001, "number": 1001}}


@pytest.mark.parametrize("who", ["anonymous", "customer-side user", "inactive staff"])
def test_a_socket_without_an_active_staff_session_is_closed_with_4401(who):
    if who == "anonymous":
        cookie = None
    elif who == "customer-side user":
        cookie = session_cookie_for(UserFactory(is_staff=False, role=""))
    else:
        # Deactivating a staff member ends what their open session can do.
        staff = UserFactory()
        cookie = session_cookie_for(staff)
        staff.is_active = False
        staff.save(update_fields=["is_active"])

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        result = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return result

    assert async_to_sync(scenario)() == (False, 4401)


def test_staff_who_may_not_read_tickets_hear_nothing_of_them():
    from django.contrib.auth.models import Permission

    staff = UserFactory()
    staff.groups.clear()
    staff.user_permissions.add(*Permission.objects.filter(codename="view_customer"))
    cookie = session_cookie_for(staff)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        result = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return result

    assert async_to_sync(scenario)() == (False, 4403)


def test_a_socket_from_a_foreign_origin_is_refused(agent):
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie, origin="https://evil.example")
        connected, _code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_catch_up_replays_exactly_the_events_after_since(agent):
    cookie = session_cookie_for(agent)
    first, second, third = publish(1), publish(2), publish(3)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"action": "catch_up", "since": first})
        replayed = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return hello, replayed

    hello, replayed = async_to_sync(scenario)()

    assert hello["seq"] == third
    assert replayed == [
        {"type": "ticket.created", "seq": second, "payload": {"ticket_id": 2, "number": 2}},
        {"type": "ticket.created", "seq": third, "payload": {"ticket_id": 3, "number": 3}},
    ]


def test_catch_up_from_ahead_of_a_counter_that_started_again_tells_the_page_to_read_its_rows_again(agent):
    cookie = session_cookie_for(agent)
    seen_before_the_restart = publish(1) + 500
    realtime.redis_client().delete(realtime._sequence_key(GROUP))  # as after a Redis restart
    latest = publish(2)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        assert (await communicator.connect(timeout=5))[0]
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"action": "catch_up", "since": seen_before_the_restart})
        answer = await communicator.receive_json_from(timeout=5)
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return hello, answer

    hello, answer = async_to_sync(scenario)()

    assert latest == 1
    assert hello == {"type": "hello", "seq": 1}
    assert answer == {"type": "reset", "seq": 1}


def test_a_counter_that_starts_again_drops_the_events_kept_from_before_it():
    publish(1), publish(2)
    realtime.redis_client().delete(realtime._sequence_key(GROUP))  # the counter lost, its backlog kept

    restarted = publish(3)

    assert restarted == 1
    assert realtime.events_since(group=GROUP, sequence=0) == [
        {"seq": 1, "type": "ticket.created", "payload": {"ticket_id": 3, "number": 3}}
    ]


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        ({"action": "catch_up", "since": "yesterday"}, "'since' must be a sequence number."),
        ({"action": "catch_up", "since": None}, "'since' must be a sequence number."),
        ({"action": "catch_up", "since": [1]}, "'since' must be a sequence number."),
        ({"action": "replay_everything"}, "Unknown action."),
        (["catch_up", 0], "Unknown action."),
    ],
)
def test_a_bad_catch_up_request_gets_an_error_frame_and_the_socket_stays_open(agent, frame, detail):
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        await communicator.connect(timeout=5)
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to(frame)
        error = await communicator.receive_json_from(timeout=5)
        published = await sync_to_async(publish)(7)
        still_live = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return hello, error, published, still_live

    hello, error, published, still_live = async_to_sync(scenario)()

    assert error == {"type": "error", "detail": detail}
    assert still_live["seq"] == published == hello["seq"] + 1


@pytest.mark.parametrize(
    "frame", [{"text_data": "catch_up please"}, {"text_data": '{"action": '}, {"bytes_data": b"\x00\x01"}], ids=str
)
def test_a_frame_that_is_not_json_text_gets_an_error_frame_and_the_socket_stays_open(agent, frame):
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        await communicator.connect(timeout=5)
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.send_to(**frame)
        error = await communicator.receive_json_from(timeout=5)
        published = await sync_to_async(publish)(8)
        still_live = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return hello, error, published, still_live

    hello, error, published, still_live = async_to_sync(scenario)()

    assert error == {"type": "error", "detail": "Unknown action."}
    assert still_live["seq"] == published == hello["seq"] + 1


# --- Through a real daphne process, with a real websocket client ---------------------------------


def open_inbox_socket(server, cookie: str) -> ClientConnection:
    return connect(
        f"{server.ws_url}{INBOX_PATH}",
        origin=server.origin,
        additional_headers={"Cookie": cookie},
        proxy=None,
        open_timeout=10,
    )


def receive_json(socket: ClientConnection) -> dict:
    return json.loads(socket.recv(timeout=10))


def new_email_ticket(subject: str) -> Ticket:
    result = ingest(
        inbound=InboundMessage(
            channel="email",
            sender_kind="email",
            sender_address=f"{uuid.uuid4().hex[:10]}@customers.test",
            body_text="Hello, my parcel has not arrived.",
            subject=subject,
            external_message_id=f"<{uuid.uuid4().hex}@customers.test>",
        )
    )
    assert result.is_new_ticket
    return result.ticket


def test_a_new_ticket_reaches_a_connected_agent_through_the_live_server(asgi_live_server, agent):
    cookie = session_cookie_for(agent)

    with open_inbox_socket(asgi_live_server, cookie) as socket:
        hello = receive_json(socket)
        ticket = new_email_ticket("Parcel never arrived")
        event = receive_json(socket)

    assert hello["type"] == "hello"
    # Which ticket it was is not said: every inbox hears it, whatever its agent may see.
    assert event == {"type": "ticket.created", "seq": hello["seq"] + 1, "payload": {}}
    assert str(ticket.number) not in json.dumps(event)


def test_an_agent_who_reconnects_catches_up_on_the_ticket_they_missed(asgi_live_server, agent):
    cookie = session_cookie_for(agent)
    with open_inbox_socket(asgi_live_server, cookie) as socket:
        receive_json(socket)
        seen = new_email_ticket("Wrong size delivered")
        last_seen_seq = receive_json(socket)["seq"]

    missed = new_email_ticket("Refund not received")
    with open_inbox_socket(asgi_live_server, cookie) as socket:
        hello = receive_json(socket)
        socket.send(json.dumps({"action": "catch_up", "since": last_seen_seq}))
        replayed = receive_json(socket)

    assert seen.number != missed.number
    assert hello == {"type": "hello", "seq": last_seen_seq + 1}
    assert replayed == {"type": "ticket.created", "seq": last_seen_seq + 1, "payload": {}}


def test_events_published_together_reach_the_socket_each_once_in_order(agent):
    cookie = session_cookie_for(agent)

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        events = [(GROUP, "ticket.created", {"ticket_id": n, "number": n}) for n in range(2001, 2006)]
        published = await sync_to_async(realtime.publish_many)(events)
        received = [await communicator.receive_json_from(timeout=5) for _ in events]
        nothing_more = await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()
        return hello, published, received, nothing_more

    hello, published, received, nothing_more = async_to_sync(scenario)()

    assert published == [hello["seq"] + offset for offset in range(1, 6)]
    assert [(event["seq"], event["payload"]["number"]) for event in received] == list(
        zip(published, range(2001, 2006), strict=True)
    )
    assert nothing_more


def test_a_broadcast_carrying_several_events_is_relayed_one_frame_each(agent):
    cookie = session_cookie_for(agent)
    batch = [{"type": "ticket.updated", "seq": seq, "payload": {"ticket_id": seq, "number": seq}} for seq in (7, 8, 9)]

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        await communicator.receive_json_from(timeout=5)  # hello
        await get_channel_layer().group_send(GROUP, {"type": "realtime.events", "events": batch})
        received = [await communicator.receive_json_from(timeout=5) for _ in batch]
        await communicator.disconnect()
        return received

    assert async_to_sync(scenario)() == batch


def test_events_for_groups_nobody_listens_in_are_stored_for_catch_up_but_not_broadcast(agent, monkeypatch):
    layer = get_channel_layer()
    broadcast_to: list[str] = []
    real_group_send = layer.group_send

    async def spying_group_send(group, message):
        broadcast_to.append(group)
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", spying_group_send)
    cookie = session_cookie_for(agent)
    unwatched = f"agents.ticket.{uuid.uuid4().int % 10**9}"

    async def scenario():
        communicator = inbox_communicator(cookie=cookie)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        await communicator.receive_json_from(timeout=5)  # hello
        payload = {"ticket_id": 1, "number": 1}
        await sync_to_async(realtime.publish_many)(
            [(GROUP, "ticket.created", payload), (unwatched, "ticket.created", payload)]
        )
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return event

    event = async_to_sync(scenario)()
    assert realtime.flush_broadcasts()

    assert event["type"] == "ticket.created"
    assert broadcast_to == [GROUP]
    assert [item["type"] for item in realtime.events_since(group=unwatched, sequence=0)] == ["ticket.created"]


def test_the_inbox_page_carries_the_live_number_its_rows_were_read_at(agent):
    """So the page's first hello catches up on a change committed while the page was being read."""
    client = Client()
    client.force_login(agent)
    latest = publish(3001)

    body = client.get("/inbox/").content.decode()

    assert f'data-seq="{latest}"' in body


def test_an_event_for_a_group_nobody_is_in_is_kept_for_catch_up_and_not_broadcast(monkeypatch):
    handed_over = []
    monkeypatch.setattr(realtime._broadcaster, "send", lambda group, event, **kwargs: handed_over.append(group))
    nobody = f"agents.ticket.empty-{uuid.uuid4().hex}"
    layer = get_channel_layer()
    listened = f"agents.ticket.listened-{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)(listened, "specific.someone!listening")

    first, second = realtime.publish_many(
        [(nobody, "ticket.updated", {"n": 1}), (listened, "ticket.updated", {"n": 2})]
    )

    assert handed_over == [listened]  # the one group with a member, counted in the same round trip
    assert [event["seq"] for event in realtime.events_since(group=nobody, sequence=0)] == [first]
    assert [event["seq"] for event in realtime.events_since(group=listened, sequence=0)] == [second]
    async_to_sync(layer.group_discard)(listened, "specific.someone!listening")


def test_a_groups_counter_and_backlog_expire_after_its_last_event():
    group = f"agents.ticket.expiring-{uuid.uuid4().hex}"
    client = realtime.redis_client()

    realtime.publish_now(group=group, event_type="ticket.updated", payload={})

    sequence_key, backlog_key = realtime._sequence_key(group), realtime._backlog_key(group)
    for key in (sequence_key, backlog_key):
        assert 0 < client.ttl(key) <= realtime.BACKLOG_SECONDS  # no ticket keeps its keys for good
    client.expire(sequence_key, 5)
    realtime.publish_now(group=group, event_type="ticket.updated", payload={})
    assert client.ttl(sequence_key) > 5  # each event renews them
