"""The one way services publish live events: numbered, kept briefly for catch-up, sent after commit.

Each event gets a sequence number from one Redis counter and is stored in a capped
sorted set, so a browser that reconnects with the last number it saw receives
exactly what it missed. Agents' payloads and customers' payloads are built by the
callers separately; this module never mixes audiences.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from tickets.events import TicketChange

logger = logging.getLogger(__name__)
AGENT_INBOX_GROUP = "agents.inbox"
BACKLOG_SIZE = 1000
# A group's counter and backlog live this long after its latest event. A page that reconnects after
# longer than that finds the counter started again and reads what it shows afresh (the "reset" answer);
# without it every ticket that ever changed would keep two keys in Redis for good.
BACKLOG_SECONDS = 2 * 24 * 3600
_KEY_PREFIX = "helpdesk:realtime"


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def ticket_group(ticket_id: int) -> str:
    """Staff looking at one ticket: presence and changes to that ticket."""
    return f"agents.ticket.{ticket_id}"


def _sequence_key(group: str) -> str:
    return f"{_KEY_PREFIX}:{group}:seq"


def _backlog_key(group: str) -> str:
    return f"{_KEY_PREFIX}:{group}:backlog"


# Number each event, keep it in its group's capped backlog and return them, in one round trip; with
# each, how many members the group has in the channel layer (-1: not asked), so events for groups
# nobody has open (the page of a ticket created just now) are never handed to the broadcaster.
# KEYS: per event, its group's sequence and backlog key, and the layer's group key when asked;
# ARGV: the backlog size, the number of keys per event (2 or 3), how long the keys live, then each event body.
_NUMBER_AND_STORE = """
local stored = {}
local per_event = tonumber(ARGV[2])
for index = 1, #KEYS / per_event do
    local base = (index - 1) * per_event
    local sequence = redis.call('INCR', KEYS[base + 1])
    if sequence == 1 then
        -- A counter starting (again: Redis lost it) makes any backlog left from before it meaningless.
        redis.call('DEL', KEYS[base + 2])
    end
    local event = '{"seq":' .. sequence .. ',' .. string.sub(ARGV[index + 3], 2)
    redis.call('ZADD', KEYS[base + 2], sequence, event)
    redis.call('ZREMRANGEBYRANK', KEYS[base + 2], 0, -tonumber(ARGV[1]) - 1)
    redis.call('EXPIRE', KEYS[base + 1], ARGV[3])
    redis.call('EXPIRE', KEYS[base + 2], ARGV[3])
    local members = -1
    if per_event == 3 then
        members = redis.call('ZCARD', KEYS[base + 3])
    end
    stored[index] = {event, members}
end
return stored
"""


@cache
def _number_and_store() -> Any:
    return redis_client().register_script(_NUMBER_AND_STORE)


async def _groups_with_members(layer: Any, groups: list[str]) -> list[str]:
    """The groups someone listens in, asked in one round trip per Redis server.

    Most events go to groups nobody has open (the page of a ticket that has just been created), and
    channels_redis spends two round trips on each before finding no one. Layers without its group
    keys are answered with every group.
    """
    key_of = getattr(layer, "_group_key", None)
    connection_for = getattr(layer, "connection", None)
    index_of = getattr(layer, "consistent_hash", None)
    if key_of is None or connection_for is None or index_of is None:
        return groups
    by_server: dict[int, list[str]] = {}
    for group in groups:
        by_server.setdefault(index_of(group), []).append(group)
    listened: set[str] = set()
    for index, server_groups in by_server.items():
        pipeline = connection_for(index).pipeline(transaction=False)
        for group in server_groups:
            pipeline.zcard(key_of(group))
        counts = await pipeline.execute()
        listened.update(group for group, count in zip(server_groups, counts, strict=True) if count)
    return [group for group in groups if group in listened]


class RelaysRealtimeEvents:
    """For websocket consumers in a realtime group: each broadcast event goes to the browser as one frame."""

    send_json: Callable[..., Awaitable[None]]  # the consumer's

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def realtime_events(self, message: dict[str, Any]) -> None:
        for event in message["events"]:
            await self.send_json(event)

    async def send_missed_events(self, *, group: str, since: object) -> None:
        """Answer ``{"action": "catch_up", "since": N}``: the group's events numbered after N, in order.

        A ``since`` ahead of the group's latest number (its counter started again: Redis restarted or
        lost it) is answered with ``{"type": "reset", "seq": latest}``, since what the page missed
        cannot be told; the page reads what it shows again and counts from there.
        """
        try:
            sequence = int(since)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            await self.send_json({"type": "error", "detail": "'since' must be a sequence number."})
            return
        latest = await database_sync_to_async(latest_sequence)(group=group)
        if sequence > latest:
            await self.send_json({"type": "reset", "seq": latest})
            return
        for event in await database_sync_to_async(events_since)(group=group, sequence=sequence):
            await self.send_json(event)


class _Broadcaster:
    """Hands events to the channel layer from one long-lived event loop, in order, without blocking.

    The caller has already stored the numbered event in Redis, so a browser that misses the
    broadcast (or connects later) still gets it through catch-up. An event whose group was already
    found to have members skips that check here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], bool]] | None = None
        self._pending = 0

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return self._loop
            loop = asyncio.new_event_loop()
            queue: asyncio.Queue[tuple[str, dict[str, Any], bool]] = asyncio.Queue()
            self._loop, self._queue, self._pid, self._pending = loop, queue, os.getpid(), 0
            thread = threading.Thread(target=loop.run_forever, name="realtime-broadcast", daemon=True)
            thread.start()
            asyncio.run_coroutine_threadsafe(self._drain(queue), loop)
            return loop

    async def _drain(self, queue: asyncio.Queue[tuple[str, dict[str, Any], bool]]) -> None:
        while True:
            waiting = [await queue.get()]
            while not queue.empty():
                waiting.append(queue.get_nowait())
            # Events that piled up for one group (a burst of new tickets) go to it as one message, in order.
            by_group: dict[str, list[dict[str, Any]]] = {}
            unchecked: set[str] = set()
            for group, event, has_members in waiting:
                by_group.setdefault(group, []).append(event)
                if not has_members:
                    unchecked.add(group)
            layer = get_channel_layer()
            listened = set(by_group) - unchecked
            try:
                if layer is not None and unchecked:
                    listened.update(await _groups_with_members(layer, sorted(unchecked)))
            except Exception:
                logger.exception("could not read who listens to %d realtime group(s)", len(unchecked))
                listened.update(unchecked)
            for group in (group for group in by_group if group in listened and layer is not None):
                events = by_group[group]
                try:
                    if len(events) == 1:
                        await layer.group_send(group, {"type": "realtime.event", "event": events[0]})
                    else:
                        await layer.group_send(group, {"type": "realtime.events", "events": events})
                except Exception:
                    logger.exception("could not broadcast %d realtime event(s) to %s", len(events), group)
            with self._lock:
                self._pending -= len(waiting)

    def send(self, group: str, event: dict[str, Any], *, has_members: bool = False) -> None:
        loop = self._start()
        with self._lock:
            self._pending += 1
        assert self._queue is not None  # noqa: S101 - set by _start
        loop.call_soon_threadsafe(self._queue.put_nowait, (group, event, has_members))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every handed-over event has been sent (tests and process exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._pending <= 0 or self._pid != os.getpid():
                    return True
            time.sleep(0.005)
        return False


_broadcaster = _Broadcaster()
atexit.register(_broadcaster.flush, 2.0)


def _layer_group_key() -> Callable[[str], Any] | None:
    """How the channel layer names a group's members, when they live on the server events are stored on."""
    layer = get_channel_layer()
    key_of = getattr(layer, "_group_key", None)
    hosts = getattr(layer, "hosts", None)
    if key_of is None or not hosts or len(hosts) != 1 or hosts[0].get("address") != settings.REDIS_URL:
        return None
    return key_of


def _store(events: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[dict[str, Any], int]]:
    """Number each (group, event type, payload), keep it in its group's backlog, and count the group's
    members (-1 when the layer's groups live elsewhere), in one round trip."""
    key_of = _layer_group_key()
    keys = []
    for group, _type, _payload in events:
        keys += [_sequence_key(group), _backlog_key(group)]
        if key_of is not None:
            keys.append(key_of(group))
    bodies = [json.dumps({"type": event_type, "payload": payload}) for _group, event_type, payload in events]
    per_event = 3 if key_of is not None else 2
    replies = _number_and_store()(keys=keys, args=[BACKLOG_SIZE, per_event, BACKLOG_SECONDS, *bodies])
    return [(json.loads(raw), int(members)) for raw, members in replies]


def publish_many(events: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """Number, store and broadcast (group, event type, payload) events; returns their sequence numbers.

    An event for a group nobody is in is stored for catch-up and not broadcast.
    """
    stored = _store(events)
    for (group, _type, _payload), (event, members) in zip(events, stored, strict=True):
        if members != 0:
            _broadcaster.send(group, event, has_members=members > 0)
    return [int(event["seq"]) for event, _members in stored]


def publish_now(*, group: str, event_type: str, payload: dict[str, Any]) -> int:
    """Number, store and broadcast one event; returns its sequence number."""
    return publish_many([(group, event_type, payload)])[0]


def flush_broadcasts(timeout: float = 5.0) -> bool:
    return _broadcaster.flush(timeout)


def publish_many_after_commit(events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Publish once the transaction commits; Redis being unreachable then costs the live events, never
    the committed change (a failure is logged, and open pages show the change on their next load)."""
    transaction.on_commit(lambda: publish_many(events), robust=True)


def publish_after_commit(*, group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Publish one event once the transaction commits (``publish_many_after_commit``)."""
    publish_many_after_commit([(group, event_type, payload)])


def events_since(*, group: str, sequence: int) -> list[dict[str, Any]]:
    raw = redis_client().zrangebyscore(_backlog_key(group), f"({sequence}", "+inf")
    return [json.loads(item) for item in raw]


def latest_sequence(*, group: str) -> int:
    value = redis_client().get(_sequence_key(group))
    return int(value) if value else 0


def latest_ticket_sequence(ticket_id: int) -> int:
    """The number of the latest event on one ticket's group (registered with tickets.events)."""
    return latest_sequence(group=ticket_group(ticket_id))


def publish_ticket_change(change: TicketChange) -> None:
    """Tell every open agent inbox that a ticket appeared or changed (registered with tickets.events).

    The inbox hears only that something changed, with no ticket id or number: every agent's inbox
    is in that group, whichever tickets they may see, and the rows it fetches again apply their
    access. The ticket's own group (joined after an access check) hears which ticket it was.
    """
    event_type = f"ticket.{change.change}"
    events = [
        (AGENT_INBOX_GROUP, event_type, {}),
        (ticket_group(change.ticket_id), event_type, {"ticket_id": change.ticket_id, "number": change.number}),
    ]
    publish_many_after_commit(events)


def staff_group(user_id: int) -> str:
    return f"agents.user.{user_id}"


def publish_staff_notification(user_id: int, kind: str, payload: dict[str, Any]) -> None:
    """A notification for one colleague (registered with tickets.events)."""
    publish_after_commit(group=staff_group(user_id), event_type=f"notification.{kind}", payload=payload)
