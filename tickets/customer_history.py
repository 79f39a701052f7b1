"""What the customer sidebar shows from apps above tickets (past satisfaction ratings from surveys).

tickets cannot import those apps; they register a reader here from their AppConfig.ready().
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.db.models import QuerySet

if TYPE_CHECKING:
    from tickets.models import Ticket


@dataclass(frozen=True)
class PastRating:
    kind: str
    label: str
    score: int
    scale_max: int
    comment: str
    ticket_number: int | None
    responded_at: datetime


class RatingsReader(Protocol):
    """The customer's ratings, newest first, at most ``limit``: those about no ticket and those about
    one of ``visible_tickets`` (the reader's user may see them), filtered in the reader's own query."""

    def __call__(self, *, customer_id: int, limit: int, visible_tickets: QuerySet[Ticket]) -> list[PastRating]: ...


_ratings_readers: list[RatingsReader] = []


def register_ratings_reader(reader: RatingsReader) -> None:
    """Registering the same reader twice keeps one."""
    if reader not in _ratings_readers:
        _ratings_readers.append(reader)


def past_ratings(*, customer_id: int, limit: int, visible_tickets: QuerySet[Ticket]) -> list[PastRating]:
    """Every registered reader's ratings for the customer, newest first, at most ``limit``; a rating
    about a ticket outside ``visible_tickets`` (tickets.access) is left out, its number and comment too."""
    ratings = [
        rating
        for reader in _ratings_readers
        for rating in reader(customer_id=customer_id, limit=limit, visible_tickets=visible_tickets)
    ]
    ratings.sort(key=lambda rating: rating.responded_at, reverse=True)
    return ratings[:limit]
