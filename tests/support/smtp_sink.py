"""A local SMTP server that keeps every message it receives: the customer's mailbox in journey tests."""

from __future__ import annotations

import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.processes import free_port


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.peers: list[tuple[str, int]] = []  # the client address of each message: one per connection
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append(message)
            self.peers.append(tuple(session.peer))
        return "250 OK"


class SmtpSink:
    def __init__(self) -> None:
        self.keeper = _Keeper()
        self.port = free_port()
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port, decode_data=False)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, predicate, *, timeout: float = 20.0, what: str = "a message") -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.keeper.lock:
                for message in self.keeper.messages:
                    if predicate(message):
                        return message
            time.sleep(0.1)
        with self.keeper.lock:
            seen = [str(m["Subject"]) for m in self.keeper.messages]
        raise AssertionError(f"No {what} arrived within {timeout} s; received: {seen}")
