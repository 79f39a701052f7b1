"""Collision detection: which colleagues are viewing or typing on a ticket, live.

Presence is kept in a Redis hash per ticket with a short expiry that every
heartbeat renews, so a browser that vanishes without closing its socket drops
out of the list within a minute.
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


def presence_set(*, ticket_id: int, user_id: int, name: str, state: str) -> None:
    client = realtime.redis_client()
    key = _presence_key(ticket_id)
    client.hset(key, str(user_id), json.dumps({"name": name, "state": state, "at": time.time()}))
    client.expire(key, PRESENCE_TTL_SECONDS)


def presence_clear(*, ticket_id: int, user_id: int) -> None:
    realtime.redis_client().hdel(_presence_key(ticket_id), str(user_id))


def presence_list(*, ticket_id: int) -> list[dict[str, Any]]:
    cutoff = time.time() - PRESENCE_TTL_SECONDS
    rows = realtime.redis_client().hgetall(_presence_key(ticket_id))
    people = []
    for user_id, raw in rows.items():
        entry = json.loads(raw)
        if entry["at"] >= cutoff:
            people.append({"user_id": int(user_id), "name": entry["name"], "state": entry["state"]})
    return sorted(people, key=lambda person: person["user_id"])


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
            await database_sync_to_async(presence_clear)(ticket_id=self.ticket_id, user_id=self.user_id)
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
            ticket_id=self.ticket_id, user_id=self.user_id, name=self.user_name, state=state
        )
        await self._broadcast_presence()

    async def _broadcast_presence(self) -> None:
        people = await database_sync_to_async(presence_list)(ticket_id=self.ticket_id)
        await self.channel_layer.group_send(self.group, {"type": "presence.changed", "people": people})

    async def presence_changed(self, message: dict[str, Any]) -> None:
        others = [person for person in message["people"] if person["user_id"] != self.user_id]
        await self.send_json({"type": "presence", "people": others})
