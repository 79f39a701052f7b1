"""A real HTTP server on 127.0.0.1 that receives outbound webhooks for tests.

It records every request (headers and the exact body bytes) and answers with what the test asks:
fail the next N requests with a status, stall to provoke a client timeout, or refuse for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class _Plan:
    failures_left: int = 0
    failure_status: int = 500
    stalls_left: int = 0
    stall_seconds: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._plan = _Plan()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, stall = receiver._next_answer()
                if stall:
                    time.sleep(stall)
                receiver._record(
                    ReceivedRequest(
                        method="POST",
                        path=self.path,
                        headers={key.lower(): value for key, value in self.headers.items()},
                        body=body,
                        answered=status,
                    )
                )
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(f"answered {status}".encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/helpdesk"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- What the test asks for -----------------------------------------------------------------

    def fail_next(self, count: int, *, status: int = 500, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._plan.failures_left, self._plan.failure_status = count, status
            self._plan.headers = headers or {}

    def stall_next(self, count: int, *, seconds: float) -> None:
        with self._lock:
            self._plan.stalls_left, self._plan.stall_seconds = count, seconds

    def always_answer(self, status: int) -> None:
        with self._lock:
            self._plan.status = status

    def _next_answer(self) -> tuple[int, dict[str, str], float]:
        with self._lock:
            stall = 0.0
            if self._plan.stalls_left > 0:
                self._plan.stalls_left -= 1
                stall = self._plan.stall_seconds
            if self._plan.failures_left > 0:
                self._plan.failures_left -= 1
                return self._plan.failure_status, dict(self._plan.headers), stall
            return self._plan.status, {}, stall

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def wait_for(self, count: int, *, timeout: float = 15.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.requests)} requests, expected {count}")


@contextmanager
def running_webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
