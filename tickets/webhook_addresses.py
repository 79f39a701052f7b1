"""Where outbound webhooks may go: public http(s) addresses only, so an endpoint cannot be pointed at
the helpdesk's own network (its database, Redis, a cloud metadata service).

The URL is checked when it is saved and before each delivery; the connection itself is checked too,
against the address it actually reached, before any byte is sent (``webhook_session``), so a host
whose DNS answer changes between the check and the connection (DNS rebinding) is refused as well.

Development and test settings allow private addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES) because the
receivers there run on this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class PrivateAddressRefused(requests.ConnectionError):
    """The connection reached a private or local address; nothing was sent."""


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def _refusal(host: str, address: str) -> str:
    return f"{host} is {address}, a private or local address; webhooks go only to public addresses."


def _resolve(host: str, port: int) -> set[str]:
    return {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}


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
        addresses = _resolve(host, port)
    except (socket.gaierror, UnicodeError, ValueError):
        return ""
    for address in sorted(addresses):
        if not _is_public(address):
            return _refusal(host, address)
    return ""


def validate_webhook_url(url: str) -> None:
    """Model field validator (admin forms): the same rule delivery applies."""
    refusal = webhook_url_refusal(url)
    if refusal:
        raise ValidationError(refusal, code="webhook_address")


class _PublicPeerOnly:
    """A urllib3 connection that closes its socket unless the address it reached is public."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
            return sock
        address = sock.getpeername()[0]
        if not _is_public(address):
            sock.close()
            raise PrivateAddressRefused(_refusal(self.host, address))
        return sock


class _PublicHTTPConnection(_PublicPeerOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, HTTPSConnection):
    pass


class _PublicHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicAddressAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPConnectionPool,
            "https": _PublicHTTPSConnectionPool,
        }


@cache
def webhook_session() -> requests.Session:
    """The HTTP session webhooks are posted with: connections to private addresses are refused."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the address checked is the one reached
    adapter = _PublicAddressAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
