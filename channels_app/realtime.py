"""The one way services publish live events: numbered, kept briefly for catch-up, sent after commit.

Each event gets a sequence number from one Redis counter and is stored in a capped
sorted set, so a browser that reconnects with the last number it saw receives
exactly what it missed. Agents' payloads and customers' payloads are built by the
callers separately; this module never mixes audiences.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from tickets.events import TicketChange

AGENT_INBOX_GROUP = "agents.inbox"
BACKLOG_SIZE = 1000
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


def publish_now(*, group: str, event_type: str, payload: dict[str, Any]) -> int:
    """Number, store and broadcast one event; returns its sequence number."""
    client = redis_client()
    sequence = int(client.incr(_sequence_key(group)))
    event = {"type": event_type, "seq": sequence, "payload": payload}
    pipeline = client.pipeline()
    pipeline.zadd(_backlog_key(group), {json.dumps(event): sequence})
    pipeline.zremrangebyrank(_backlog_key(group), 0, -BACKLOG_SIZE - 1)
    pipeline.execute()
    channel_layer = get_channel_layer()
    if channel_layer is not None:
        async_to_sync(channel_layer.group_send)(group, {"type": "realtime.event", "event": event})
    return sequence


def publish_after_commit(*, group: str, event_type: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish_now(group=group, event_type=event_type, payload=payload))


def events_since(*, group: str, sequence: int) -> list[dict[str, Any]]:
    raw = redis_client().zrangebyscore(_backlog_key(group), f"({sequence}", "+inf")
    return [json.loads(item) for item in raw]


def latest_sequence(*, group: str) -> int:
    value = redis_client().get(_sequence_key(group))
    return int(value) if value else 0


def publish_ticket_change(change: TicketChange) -> None:
    """Tell every open agent inbox that a ticket appeared or changed (registered with tickets.events)."""
    payload = {"ticket_id": change.ticket_id, "number": change.number}
    publish_after_commit(group=AGENT_INBOX_GROUP, event_type=f"ticket.{change.change}", payload=payload)
    publish_after_commit(group=ticket_group(change.ticket_id), event_type=f"ticket.{change.change}", payload=payload)


def staff_group(user_id: int) -> str:
    return f"agents.user.{user_id}"


def publish_staff_notification(user_id: int, kind: str, payload: dict[str, Any]) -> None:
    """A notification for one colleague (registered with tickets.events)."""
    publish_after_commit(group=staff_group(user_id), event_type=f"notification.{kind}", payload=payload)
