"""Channel adapters register how a message goes out on their channel; tickets only asks them."""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.core.exceptions import ApplicationError
from tickets.models import Message

ChannelSender = Callable[[Message], None]
_senders: dict[str, ChannelSender] = {}


class NoDeliveryForChannelError(ApplicationError):
    pass


def register_channel_sender(channel: str, sender: ChannelSender) -> None:
    _senders[channel] = sender


def sender_for(channel: str) -> ChannelSender:
    try:
        return _senders[channel]
    except KeyError:
        raise NoDeliveryForChannelError(f"No delivery is configured for the {channel} channel.") from None
