"""Websocket consumers: transport only; they authenticate, join groups and relay events."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app import realtime
from tickets.access import VIEW_TICKET


class AgentInboxConsumer(realtime.RelaysRealtimeEvents, AsyncJsonWebsocketConsumer):
    """Live inbox updates for signed-in staff; ``{"action": "catch_up", "since": N}`` replays missed events.

    A ``since`` ahead of the inbox's latest number (its counter started again) is answered with
    ``{"type": "reset", "seq": latest}``: the page reads its rows again and counts from there.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(user.has_perm)(VIEW_TICKET):
            await self.close(code=4403)  # staff who may not read tickets hear nothing of them
            return
        self.personal_group = realtime.staff_group(user.pk)
        await self.channel_layer.group_add(realtime.AGENT_INBOX_GROUP, self.channel_name)
        await self.channel_layer.group_add(self.personal_group, self.channel_name)
        await self.accept()
        sequence = await database_sync_to_async(realtime.latest_sequence)(group=realtime.AGENT_INBOX_GROUP)
        await self.send_json({"type": "hello", "seq": sequence})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(realtime.AGENT_INBOX_GROUP, self.channel_name)
        if hasattr(self, "personal_group"):
            await self.channel_layer.group_discard(self.personal_group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # A frame that is not JSON text gets an error frame like any unknown request; the base
        # class would raise and drop the socket.
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("action") != "catch_up":
            await self.send_json({"type": "error", "detail": "Unknown action."})
            return
        await self.send_missed_events(group=realtime.AGENT_INBOX_GROUP, since=content.get("since", 0))
