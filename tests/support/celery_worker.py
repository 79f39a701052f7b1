"""A real Celery worker process (solo pool, the default queue) sharing the test database and Redis."""

from __future__ import annotations

import sys
import uuid

from helpdesk.celery import app
from tests.support.processes import ManagedProcess, child_environment

STARTUP_TIMEOUT = 45


class CeleryWorkerProcess:
    def __init__(self, *, queue: str = "celery", extra_environment: dict[str, str] | None = None) -> None:
        self.queue = queue
        self.hostname = f"tests-{uuid.uuid4().hex[:8]}@localhost"
        self.process = ManagedProcess(
            name=f"celery-{self.hostname.partition('@')[0]}",
            command=[
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                queue,
                "-n",
                self.hostname,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            environment={**child_environment(), **(extra_environment or {})},
        )

    def start(self) -> None:
        # Tasks enqueued by earlier tests that ran without a worker would otherwise run now, late.
        purge_queue(self.queue)
        self.process.start()
        self.process.wait_until(self.answers_ping, timeout=STARTUP_TIMEOUT, what="answer a ping")

    def answers_ping(self) -> bool:
        replies = app.control.ping(destination=[self.hostname], timeout=1.0)
        return any(self.hostname in reply for reply in replies)

    def stop(self) -> None:
        self.process.close()


def purge_queue(queue: str) -> int:
    with app.connection_for_write() as connection:
        return int(connection.default_channel.queue_purge(queue) or 0)
