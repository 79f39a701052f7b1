"""Which status a ticket may move to from which: the one table every change is checked against."""

from django.utils.translation import gettext as _

from helpdesk.core.exceptions import ApplicationError
from tickets.choices import TicketStatus

S = TicketStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# Pending and on hold stop the SLA clock: the ticket waits on someone other than the agent.
PAUSED_STATUSES = frozenset({S.PENDING, S.ON_HOLD})
UNRESOLVED_STATUSES = frozenset({S.NEW, S.OPEN, S.PENDING, S.ON_HOLD})


class InvalidTransitionError(ApplicationError):
    status_code = 409


def check_transition(*, current: str, target: str) -> None:
    if current == target:
        return
    if target in ALLOWED_TRANSITIONS[current]:
        return
    if current == S.CLOSED:
        raise InvalidTransitionError(_("A closed ticket cannot change; the customer's next message opens a follow-up."))
    if target == S.CLOSED:
        raise InvalidTransitionError(
            _("Only a solved ticket can close: solve it first, then it closes when the customer confirms.")
        )
    if target == S.NEW:
        raise InvalidTransitionError(_("A ticket cannot go back to new."))
    raise InvalidTransitionError(
        _("A %(current)s ticket cannot become %(target)s.") % {"current": S(current).label, "target": S(target).label}
    )
