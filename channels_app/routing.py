"""Websocket URL routes."""

from django.urls import path

from channels_app.consumers import AgentInboxConsumer

websocket_urlpatterns = [
    path("ws/inbox/", AgentInboxConsumer.as_asgi()),
]
