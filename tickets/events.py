"""What happens after a ticket changes: listeners registered by higher apps, and the follow-up tasks.

``tickets`` cannot import ``channels_app``; instead channels_app registers its realtime
publisher here from its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tickets.models import Ticket


@dataclass(frozen=True)
class TicketChange:
    ticket_id: int
    number: int
    change: str  # "created" | "updated"


TicketListener = Callable[[TicketChange], None]
StaffNotifier = Callable[[int, str, dict], None]
_listeners: list[TicketListener] = []
_notifiers: list[StaffNotifier] = []


def register_ticket_listener(listener: TicketListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def register_staff_notifier(notifier: StaffNotifier) -> None:
    if notifier not in _notifiers:
        _notifiers.append(notifier)


_inbox_sequence_readers: list[Callable[[], int]] = []


def register_inbox_sequence_reader(reader: Callable[[], int]) -> None:
    """The number of the inbox's latest live event (channels_app registers it)."""
    _inbox_sequence_readers[:] = [reader]


def inbox_sequence() -> int | None:
    """Read before an inbox page reads its rows: the page's socket catches up on anything after it."""
    return _inbox_sequence_readers[0]() if _inbox_sequence_readers else None


_ticket_sequence_readers: list[Callable[[int], int]] = []


def register_ticket_sequence_reader(reader: Callable[[int], int]) -> None:
    """The number of the latest live event of one ticket's page, by ticket id (channels_app registers it)."""
    _ticket_sequence_readers[:] = [reader]


def ticket_sequence(ticket_id: int) -> int | None:
    """Read before a ticket page reads the ticket: the page's socket catches up on anything after it."""
    return _ticket_sequence_readers[0](ticket_id) if _ticket_sequence_readers else None


def notify_staff(*, user_id: int, kind: str, payload: dict) -> None:
    """Tell one colleague something (a mention, an SLA warning) once the transaction commits."""
    for notifier in _notifiers:
        notifier(user_id, kind, payload)


def after_ticket_change(*, ticket: Ticket, change: str, acknowledge: bool = False) -> None:
    """Call inside the writing transaction; listeners and tasks run only once it commits.

    ``acknowledge``: the ticket was written with its acknowledgement request (ingest); queue it.
    """
    event = TicketChange(ticket_id=ticket.pk, number=ticket.number, change=change)
    for listener in _listeners:
        listener(event)
    if acknowledge:
        from tickets.services.acknowledgement import ticket_request_acknowledgement

        ticket_request_acknowledgement(ticket=ticket)
