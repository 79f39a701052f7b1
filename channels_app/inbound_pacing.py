"""Pacing inbound mail to what the workers can answer.

Every new ticket owes its customer an acknowledgement, sent by a worker. When mail arrives faster
than the workers answer it (a reply storm after a newsletter, a backlog released by a sending
server), the task queue grows and every later customer waits longer for theirs. While the queue
is longer than SMTP_INBOUND_BACKLOG_LIMIT, the listener waits before taking the next message, as
Postfix's ``in_flow_delay`` does: the sending server holds the mail a little longer, and the
machine's cores go to the workers. Nothing is refused and nothing is lost: the message is not yet
accepted while the listener waits, and after SMTP_INBOUND_MAX_DELAY_SECONDS it is taken anyway
(senders wait minutes for the answer to DATA, RFC 5321 section 4.5.3.2.6).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import current_app
from kombu import Connection

logger = logging.getLogger(__name__)

# How often the listener looks at the queue while it waits, and how long one reading stands for
# every message arriving meanwhile.
POLL_SECONDS = 0.05
READING_SECONDS = 0.1
FAILURE_PAUSE_SECONDS = 5.0


def acknowledgement_queue_name() -> str:
    from tickets.tasks import send_auto_acknowledgement_task

    return getattr(send_auto_acknowledgement_task, "queue", None) or current_app.conf.task_default_queue


class TaskBacklog:
    """The length of one Celery queue, read through the broker at most every ``reading_seconds``.

    Readings run in a thread of their own, with a broker connection of their own: a kombu channel
    is not shared between threads, and a slow broker never holds up the event loop. A broker that
    cannot be read counts as an empty queue for FAILURE_PAUSE_SECONDS: pacing is a courtesy to the
    workers and must never stop mail.
    """

    def __init__(self, *, queue: str, reading_seconds: float = READING_SECONDS, broker_url: str | None = None) -> None:
        self.queue = queue
        self.reading_seconds = reading_seconds
        self.broker_url = broker_url
        self.readings = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-backlog")
        self._connection: Connection | None = None
        self._channel: Any = None
        self._size = 0
        self._next_reading_at = float("-inf")

    def _read(self) -> int:
        if time.monotonic() < self._next_reading_at:
            return self._size
        connection = self._connection or current_app.connection_for_read(self.broker_url)
        try:
            if self._channel is None:
                connection.connect()
                self._connection, self._channel = connection, connection.channel()
            self._size = self._channel.queue_declare(queue=self.queue).message_count
            self._next_reading_at = time.monotonic() + self.reading_seconds
        except Exception as error:  # whatever the broker answers, mail keeps flowing
            logger.warning("could not read the length of task queue %r (%r); not pacing for now", self.queue, error)
            self._release(connection)
            self._size = 0
            self._next_reading_at = time.monotonic() + FAILURE_PAUSE_SECONDS
        self.readings += 1
        return self._size

    async def size(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read)

    def _release(self, connection: Connection | None = None) -> None:
        connection = connection or self._connection
        self._connection = self._channel = None
        if connection is not None:
            with contextlib.suppress(*connection.connection_errors, *connection.channel_errors):
                connection.release()

    def close(self) -> None:
        self._executor.submit(self._release).result()
        self._executor.shutdown(wait=True)


class InboundPacing:
    """Waits while the backlog is over ``limit``, at most ``max_delay`` seconds; a limit of 0 never waits."""

    def __init__(
        self, *, backlog: TaskBacklog | None, limit: int, max_delay: float, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.backlog = backlog
        self.limit = limit
        self.max_delay = max_delay
        self.poll_seconds = poll_seconds

    @property
    def is_enabled(self) -> bool:
        return self.backlog is not None and self.limit > 0

    async def wait_for_room(self) -> float:
        """Seconds waited before the next message may be taken."""
        backlog = self.backlog
        if backlog is None or self.limit <= 0:
            return 0.0
        started = time.monotonic()
        while (queued := await backlog.size()) > self.limit:
            waited = time.monotonic() - started
            if waited >= self.max_delay:
                logger.warning(
                    "taking a message after waiting %.1f s: %s tasks still queued (limit %s)",
                    waited,
                    queued,
                    self.limit,
                )
                break
            await asyncio.sleep(self.poll_seconds)
        return time.monotonic() - started

    def close(self) -> None:
        if self.backlog is not None:
            self.backlog.close()


def inbound_pacing_from_settings(*, limit: int | None = None) -> InboundPacing:
    """Pacing as configured; ``limit`` overrides SMTP_INBOUND_BACKLOG_LIMIT (0: never wait)."""
    from django.conf import settings

    limit = settings.SMTP_INBOUND_BACKLOG_LIMIT if limit is None else limit
    return InboundPacing(
        backlog=TaskBacklog(queue=acknowledgement_queue_name()) if limit > 0 else None,
        limit=limit,
        max_delay=settings.SMTP_INBOUND_MAX_DELAY_SECONDS,
    )
