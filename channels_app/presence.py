"""Collision detection: which colleagues are viewing or typing on a ticket, live.

Presence is kept in a Redis hash per ticket, one entry per open page (socket),
with a short expiry that every heartbeat renews, so a browser that vanishes
without closing its socket drops out of the list within a minute. A colleague
with two tabs on the ticket is listed once and stays listed until both close.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app import realtime

PRESENCE_TTL_SECONDS = 60
# How long a page's access to its ticket is trusted before presence is relayed to it again unchecked.
ACCESS_RECHECK_SECONDS = 5.0
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
    """``{"action": "viewing"|"typing"}`` frames in; presence lists, ticket changes and the agent's own
    notifications out.

    Like the inbox's, the socket says ``{"type": "hello", "seq": N}`` with the number of the ticket's
    latest change, and ``{"action": "catch_up", "since": N}`` replays the changes after N (or answers
    ``{"type": "reset", "seq": latest}`` when N is ahead of it), so a page whose socket was down
    still hears of a colleague's reply or a merge it missed.

    Access is checked again before anything is relayed, not only on connect: an agent whose ticket
    went to another team (or up an escalation) stops hearing of it and is closed with 4403. A change
    to the ticket is always checked afresh, since it may be the change that took the ticket away;
    presence trusts a check for a few seconds.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(_access_ticket)(user, self.ticket_id):
            await self.close(code=4403)
            return
        self.access_checked_at = time.monotonic()
        self.user_id = user.pk
        self.user_name = user.display_name
        self.group = realtime.ticket_group(self.ticket_id)
        # The agent's own notifications (mentions, SLA warnings) reach them on a ticket page too.
        self.personal_group = realtime.staff_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.personal_group, self.channel_name)
        await self.accept()
        sequence = await database_sync_to_async(realtime.latest_ticket_sequence)(self.ticket_id)
        await self.send_json({"type": "hello", "seq": sequence})
        await self._announce("viewing")

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        if not hasattr(self, "group"):
            return
        group = self.group
        del self.group
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.channel_layer.group_discard(self.personal_group, self.channel_name)
        await database_sync_to_async(presence_clear)(ticket_id=self.ticket_id, connection=self.channel_name)
        people = await database_sync_to_async(presence_list)(ticket_id=self.ticket_id)
        await self.channel_layer.group_send(group, {"type": "presence.changed", "people": people})

    async def _still_allowed(self, *, fresh: bool) -> bool:
        """Whether the agent may still see the ticket; if not, the page leaves and is closed with 4403."""
        if not hasattr(self, "group"):
            return False
        if not fresh and time.monotonic() - self.access_checked_at < ACCESS_RECHECK_SECONDS:
            return True
        if await database_sync_to_async(_access_ticket)(self.scope["user"], self.ticket_id):
            self.access_checked_at = time.monotonic()
            return True
        await self._leave()
        await self.close(code=4403)
        return False

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        state = content.get("action") if isinstance(content, dict) else None
        if state == "catch_up":
            # Missed changes are news of the ticket: checked afresh, as a live change is.
            if await self._still_allowed(fresh=True):
                await self.send_missed_events(group=self.group, since=content.get("since", 0))
            return
        if state not in STATES:
            await self.send_json({"type": "error", "detail": "Send {'action': 'viewing'} or {'action': 'typing'}."})
            return
        if await self._still_allowed(fresh=False):
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
        if not await self._still_allowed(fresh=False):
            return
        others = [person for person in message["people"] if person["user_id"] != self.user_id]
        await self.send_json({"type": "presence", "people": others})

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self._relay_if_allowed(super().realtime_event, message)

    async def realtime_events(self, message: dict[str, Any]) -> None:
        await self._relay_if_allowed(super().realtime_events, message)

    async def _relay_if_allowed(
        self, relay: Callable[[dict[str, Any]], Awaitable[None]], message: dict[str, Any]
    ) -> None:
        events = message["events"] if "events" in message else [message["event"]]
        is_personal = all(str(event.get("type", "")).startswith("notification.") for event in events)
        # A notification is the agent's own (their personal group); only news of the ticket needs its access.
        if (is_personal and hasattr(self, "group")) or await self._still_allowed(fresh=True):
            await relay(message)
