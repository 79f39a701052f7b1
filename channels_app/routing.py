"""Websocket URL routes."""

from django.urls import path

from channels_app.consumers import AgentInboxConsumer
from channels_app.presence import TicketPresenceConsumer

websocket_urlpatterns = [
    path("ws/inbox/", AgentInboxConsumer.as_asgi()),
    path("ws/tickets/<int:ticket_id>/", TicketPresenceConsumer.as_asgi()),
]
