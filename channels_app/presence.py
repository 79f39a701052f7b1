"""Collision detection: which colleagues are viewing or typing on a ticket, live.

Presence is kept in a Redis hash per ticket, one entry per open page (socket),
with a short expiry that every heartbeat renews, so a browser that vanishes
without closing its socket drops out of the list within a minute. A colleague
with two tabs on the ticket is listed once and stays listed until both close.
"""

from __future__ import annotations

import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app import realtime

PRESENCE_TTL_SECONDS = 60
STATES = frozenset({"viewing", "typing"})


def _presence_key(ticket_id: int) -> str:
    return f"helpdesk:presence:ticket:{ticket_id}"


def presence_set(*, ticket_id: int, connection: str, user_id: int, name: str, state: str) -> None:
    """Record one open page (``connection``, its socket's channel name) of a colleague on the ticket."""
    client = realtime.redis_client()
    key = _presence_key(ticket_id)
    entry = {"user_id": user_id, "name": name, "state": state, "at": time.time()}
    client.hset(key, connection, json.dumps(entry))
    client.expire(key, PRESENCE_TTL_SECONDS)


def presence_clear(*, ticket_id: int, connection: str) -> None:
    """One page closed; the colleague stays present while another of their pages is open."""
    realtime.redis_client().hdel(_presence_key(ticket_id), connection)


def presence_list(*, ticket_id: int) -> list[dict[str, Any]]:
    """Each colleague once, typing if they are typing on any of their pages."""
    cutoff = time.time() - PRESENCE_TTL_SECONDS
    client = realtime.redis_client()
    key = _presence_key(ticket_id)
    by_user: dict[int, dict[str, Any]] = {}
    expired = []
    for connection, raw in client.hgetall(key).items():
        entry = json.loads(raw)
        if entry["at"] < cutoff:
            expired.append(connection)
            continue
        person = by_user.setdefault(
            entry["user_id"], {"user_id": entry["user_id"], "name": entry["name"], "state": entry["state"]}
        )
        if entry["state"] == "typing":
            person["state"] = "typing"
    if expired:
        client.hdel(key, *expired)  # pages that vanished without closing their socket
    return sorted(by_user.values(), key=lambda person: person["user_id"])


def _access_ticket(user: Any, ticket_id: int) -> bool:
    from helpdesk.core.exceptions import ApplicationError
    from tickets.access import access_ticket

    try:
        access_ticket(user, ticket_id)
    except ApplicationError:
        return False
    return True


class TicketPresenceConsumer(realtime.RelaysRealtimeEvents, AsyncJsonWebsocketConsumer):
    """``{"action": "viewing"|"typing"}`` frames in; presence lists and ticket changes out."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(_access_ticket)(user, self.ticket_id):
            await self.close(code=4403)
            return
        self.user_id = user.pk
        self.user_name = user.display_name
        self.group = realtime.ticket_group(self.ticket_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._announce("viewing")

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await database_sync_to_async(presence_clear)(ticket_id=self.ticket_id, connection=self.channel_name)
            await self._broadcast_presence()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        state = content.get("action") if isinstance(content, dict) else None
        if state not in STATES:
            await self.send_json({"type": "error", "detail": "Send {'action': 'viewing'} or {'action': 'typing'}."})
            return
        await self._announce(state)

    async def _announce(self, state: str) -> None:
        await database_sync_to_async(presence_set)(
            ticket_id=self.ticket_id,
            connection=self.channel_name,
            user_id=self.user_id,
            name=self.user_name,
            state=state,
        )
        await self._broadcast_presence()

    async def _broadcast_presence(self) -> None:
        people = await database_sync_to_async(presence_list)(ticket_id=self.ticket_id)
        await self.channel_layer.group_send(self.group, {"type": "presence.changed", "people": people})

    async def presence_changed(self, message: dict[str, Any]) -> None:
        others = [person for person in message["people"] if person["user_id"] != self.user_id]
        await self.send_json({"type": "presence", "people": others})
