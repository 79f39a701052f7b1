"""A real daphne process serving helpdesk.asgi on a free loopback port, for websocket and browser tests."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from tests.support.processes import ManagedProcess, child_environment, free_port

STARTUP_TIMEOUT = 30
ASGI_APPLICATION = "helpdesk.asgi:application"


class LiveAsgiServer:
    """HTTP and websockets from one daphne process, reading the test database and the test Redis."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """The Origin header a browser on this server would send (AllowedHostsOriginValidator wants one)."""
        return self.url

    def start(self) -> None:
        # A port found free can be taken before daphne binds it; a second port settles that race.
        for attempt in range(3):
            self.port = free_port()
            self.process = ManagedProcess(
                name=f"daphne-{self.port}",
                command=[sys.executable, "-m", "daphne", "-b", self.host, "-p", str(self.port), ASGI_APPLICATION],
                environment=child_environment(),
            )
            self.process.start()
            try:
                self.process.wait_until(self._is_healthy, timeout=STARTUP_TIMEOUT, what="answer /healthz")
                return
            except RuntimeError:
                address_taken = "Address already in use" in self.process.log_text()
                self.process.close()
                if not address_taken or attempt == 2:
                    raise

    def _is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None
