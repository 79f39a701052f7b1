"""What the harness's child processes share: the test database URL, the test Redis URL, and a managed process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def database_url_for_children() -> str:
    """The URL of the database pytest-django created (call after its set-up: NAME is then ``test_...``)."""
    database = settings.DATABASES["default"]
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    # A unix-socket directory is percent-encoded whole, so its slashes stay out of the URL's path.
    host = quote(str(database.get("HOST") or ""), safe="")
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(database['NAME'], safe='')}"


def child_environment() -> dict[str, str]:
    """The environment for a server or worker that must see what the test process writes."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    # settings.REDIS_URL already carries this xdist worker's database number; without
    # PYTEST_XDIST_WORKER the child's test settings use the URL as given instead of adding it again.
    environment.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.test",
        DATABASE_URL=database_url_for_children(),
        REDIS_URL=settings.REDIS_URL,
        PYTHONUNBUFFERED="1",
    )
    return environment


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ManagedProcess:
    """A child process whose output goes to a log file, stopped (with its process group) on demand."""

    def __init__(self, *, name: str, command: list[str], environment: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.environment = environment
        self.log_path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.command,
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until(self, is_ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running:
                raise RuntimeError(f"{self.name} exited before {what}:\n{self.log_text()}")
            if is_ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not {what} within {timeout:.0f} s:\n{self.log_text()}")

    def stop(self, *, timeout: float = 10) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=timeout)
        self.process = None

    def close(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_text(self, *, since: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def print_log(self, *, since: int = 0) -> None:
        print(f"----- {self.name} log ({self.log_path}) -----\n{self.log_text(since=since)}", file=sys.stdout)
