"""Where outbound webhooks may go: public http(s) addresses only, so an endpoint cannot be pointed at
the helpdesk's own network (its database, Redis, a cloud metadata service).

Development and test settings allow private addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES) because the
receivers there run on this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def webhook_url_refusal(url: str) -> str:
    """Why the helpdesk will not post to ``url``, or "" when it may.

    A host that does not resolve now is not refused here: delivery retries it like any other
    network error.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return "A webhook URL must start with http:// or https://."
    host = parts.hostname
    if not host:
        return "The webhook URL has no host."
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError, ValueError):
        return ""
    for address in sorted(addresses):
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            return f"{host} is {address}, a private or local address; webhooks go only to public addresses."
    return ""


def validate_webhook_url(url: str) -> None:
    """Model field validator (admin forms): the same rule delivery applies."""
    refusal = webhook_url_refusal(url)
    if refusal:
        raise ValidationError(refusal, code="webhook_address")
