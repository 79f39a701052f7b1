"""Pacing inbound mail to what the workers can answer.

Every new ticket owes its customer an acknowledgement, sent by a worker. When mail arrives faster
than the workers answer it (a reply storm after a newsletter, a backlog released by a sending
server), the acknowledgements owed pile up and every later customer waits longer for theirs. While
more than SMTP_INBOUND_BACKLOG_LIMIT are owed, the listener waits before taking the next message, as
Postfix's ``in_flow_delay`` does: the sending server holds the mail a little longer, and the
machine's cores go to the workers. Nothing is refused and nothing is lost: the message is not yet
accepted while the listener waits, and after SMTP_INBOUND_MAX_DELAY_SECONDS it is taken anyway
(senders wait minutes for the answer to DATA, RFC 5321 section 4.5.3.2.6).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError

logger = logging.getLogger(__name__)

# How often the listener looks at the backlog while it waits, and how long one reading stands for
# every message arriving meanwhile.
POLL_SECONDS = 0.05
READING_SECONDS = 0.1
FAILURE_PAUSE_SECONDS = 5.0


class OwedAcknowledgements:
    """How many new tickets wait for their acknowledgement, read at most every ``reading_seconds``.

    Readings run in a thread of their own, with a database connection of their own, so a slow
    database never holds up the event loop. A database that cannot be read counts as no backlog for
    FAILURE_PAUSE_SECONDS: pacing is a courtesy to the workers and must never stop mail.
    """

    def __init__(self, *, reading_seconds: float = READING_SECONDS, counted_up_to: int = 100_000) -> None:
        self.reading_seconds = reading_seconds
        self.counted_up_to = counted_up_to
        self.readings = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-backlog")
        self._size = 0
        self._next_reading_at = float("-inf")

    def _read(self) -> int:
        from django.db import connection

        from tickets.services.acknowledgement import acknowledgements_owed

        if time.monotonic() < self._next_reading_at:
            return self._size
        try:
            self._size = acknowledgements_owed(at_most=self.counted_up_to)
            self._next_reading_at = time.monotonic() + self.reading_seconds
        except DatabaseError as error:  # whatever the database answers, mail keeps flowing
            logger.warning("could not count the acknowledgements owed (%r); not pacing for now", error)
            connection.close()
            self._size = 0
            self._next_reading_at = time.monotonic() + FAILURE_PAUSE_SECONDS
        self.readings += 1
        return self._size

    async def size(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read)

    def close(self) -> None:
        self._executor.submit(_close_this_threads_connection).result()
        self._executor.shutdown(wait=True)


def _close_this_threads_connection() -> None:
    from django.db import connection

    connection.close()  # Django's connections are per thread: this closes the reading thread's own


class InboundPacing:
    """Waits while the backlog is over ``limit``, at most ``max_delay`` seconds; a limit of 0 never waits."""

    def __init__(
        self, *, backlog: OwedAcknowledgements | None, limit: int, max_delay: float, poll_seconds: float = POLL_SECONDS
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
                    "taking a message after waiting %.1f s: %s acknowledgements still owed (limit %s)",
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
        backlog=OwedAcknowledgements() if limit > 0 else None,
        limit=limit,
        max_delay=settings.SMTP_INBOUND_MAX_DELAY_SECONDS,
    )
