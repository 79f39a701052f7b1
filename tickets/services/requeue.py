"""Queueing again what a lost task left waiting: the one shape every beat sweep of an outbox shares."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db.models import QuerySet

logger = logging.getLogger(__name__)


def requeue_untouched(
    rows: QuerySet, *, key: str, now: datetime, batch: int, queue: Callable[[list[int]], None], what: str
) -> int:
    """Queue again the ``batch`` least recently touched of ``rows`` (by ``key``); returns how many.

    They are touched first, so the next sweep leaves them to the tasks queued now. The tasks lock and
    check their row, so queueing one that is merely slow does nothing twice.
    """
    stale = list(rows.order_by("updated_at").values_list(key, flat=True)[:batch])
    if not stale:
        return 0
    rows.filter(**{f"{key}__in": stale}).update(updated_at=now)
    queue(stale)
    logger.warning("queued %s %s again", len(stale), what)
    return len(stale)
