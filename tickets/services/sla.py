"""SLA clocks: which policy and calendar apply to a ticket, its targets, and their warnings and breaches.

A target is running (met_at empty, due_at set), paused (met_at and due_at empty, the business
seconds left kept in remaining_business_seconds) or met (met_at set). A target met or paused
after its due time keeps breached_at = due_at, so the row alone says whether it was met in time.
Every writer here holds the ticket's row lock before touching its targets (the callers of the
hooks already do), so the periodic jobs lock tickets first too and never deadlock with them.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from tickets.business_hours import ALWAYS_OPEN, Schedule, add_business_time, business_seconds_between
from tickets.business_hours import schedule_from_calendar as _schedule_from_calendar
from tickets.choices import MessageDirection, Priority, TicketStatus
from tickets.events import after_ticket_change, notify_staff
from tickets.models import (
    BusinessCalendar,
    CalendarAssignment,
    Message,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketActivity,
)
from tickets.rule_cache import cached_rules
from tickets.status_machine import PAUSED_STATUSES, UNRESOLVED_STATUSES

logger = logging.getLogger(__name__)

Kind = SlaTarget.Kind
RESPONSE_KINDS = frozenset({Kind.FIRST_RESPONSE, Kind.NEXT_RESPONSE})
# Solved and closed tickets owe the customer nothing: resolution is met, any response clock stops.
STOPPED_STATUSES = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
# Only these are watched by the periodic jobs, whatever a target says: a ticket moved to another
# status without the status hook (a merge closes its source directly) is never warned or breached.
WATCHED_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)
RAISED_PRIORITY = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH, Priority.HIGH: Priority.URGENT}
DEFAULT_WARNING_MINUTES = 30  # the field default, for a target whose policy was deleted
BATCH_SIZE = 100
MAX_TICKETS_PER_RUN = 5000
_TARGET_FIELDS = (
    "policy",
    "started_at",
    "due_at",
    "paused_at",
    "remaining_business_seconds",
    "met_at",
    "breached_at",
    "breach_escalated_at",
    "assignee_warned_at",
    "lead_warned_at",
    "updated_at",
)
_RUNNING = Q(met_at__isnull=True, due_at__isnull=False)


# --- Which policy and which calendar ------------------------------------------------------------


def sla_policy_for(*, ticket: Ticket) -> SlaPolicy | None:
    """The first active policy, by position, whose conditions the ticket meets (an empty list matches any)."""
    policies = cached_rules("sla", lambda: list(SlaPolicy.objects.filter(is_active=True).order_by("position", "id")))
    is_vip = ticket.customer.is_vip
    for policy in policies:
        if (
            (not policy.priorities or ticket.priority in policy.priorities)
            and (not policy.channels or ticket.channel in policy.channels)
            and (is_vip or not policy.is_vip_only)
        ):
            return copy.copy(policy)  # the cached policy is shared by every thread of the process
    return None


@dataclass(frozen=True)
class CalendarChoice:
    """What decides a ticket's calendar: the policy's own, else the team's, else the channel's, else the default."""

    policy_calendar_id: int | None
    team_id: int | None
    channel: str

    @classmethod
    def of(cls, *, ticket: Ticket, policy: SlaPolicy | None) -> CalendarChoice:
        return cls(
            policy_calendar_id=policy.calendar_id if policy is not None else None,
            team_id=ticket.team_id,
            channel=ticket.channel,
        )


def sla_calendar_for(*, choice: CalendarChoice) -> BusinessCalendar | None:
    """The calendar (intervals and holidays prefetched) a ticket works by; None means around the clock."""
    return _calendars_for(choice).prefetch_related("intervals", "holidays").first()


def sla_time_zone_for(*, ticket: Ticket, policy: SlaPolicy | None = None) -> ZoneInfo | None:
    """The time zone of the business calendar that counts the ticket's SLA (by ``policy``, else the policy
    of its targets or the one that applies now); None when it works around the clock or the zone is invalid."""
    if policy is None:
        policy = _policy_of(SlaTarget.objects.filter(ticket=ticket, policy__isnull=False).select_related("policy")[:1])
        policy = policy or sla_policy_for(ticket=ticket)
    name = _calendars_for(CalendarChoice.of(ticket=ticket, policy=policy)).values_list("timezone", flat=True).first()
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _calendars_for(choice: CalendarChoice) -> QuerySet[BusinessCalendar]:
    """The calendar a ticket works by, as a query for at most one row."""
    calendars = BusinessCalendar.objects.all()
    calendar_id = choice.policy_calendar_id
    if calendar_id is None:
        by_team_or_channel = Q(channel=choice.channel)
        if choice.team_id is not None:
            by_team_or_channel |= Q(team_id=choice.team_id)
        assignments = list(CalendarAssignment.objects.filter(by_team_or_channel).values_list("team_id", "calendar_id"))
        # A team's calendar wins over its channel's.
        ranked = sorted(assignments, key=lambda row: row[0] is None)
        calendar_id = ranked[0][1] if ranked else None
    if calendar_id is None:
        return calendars.filter(is_default=True)
    return calendars.filter(pk=calendar_id)


def sla_schedule_for(*, choice: CalendarChoice) -> Schedule:
    calendar = sla_calendar_for(choice=choice)
    if calendar is None:
        return ALWAYS_OPEN
    try:
        schedule = _schedule_from_calendar(calendar)
    except (ZoneInfoNotFoundError, ValueError):
        # A broken calendar must not stop a customer's message from being recorded; count real time instead.
        logger.warning("business calendar %s is invalid; SLA clocks run around the clock", calendar.pk)
        return ALWAYS_OPEN
    if not schedule.is_ever_open:
        logger.warning("business calendar %s has no opening hours; SLA clocks run around the clock", calendar.pk)
        return ALWAYS_OPEN
    return schedule


class _Schedules:
    """Each distinct calendar choice looked up once per service call."""

    def __init__(self) -> None:
        self._schedules: dict[CalendarChoice, Schedule] = {}

    def get(self, choice: CalendarChoice) -> Schedule:
        if choice not in self._schedules:
            self._schedules[choice] = sla_schedule_for(choice=choice)
        return self._schedules[choice]


# --- One target's clock --------------------------------------------------------------------------


def _is_running(target: SlaTarget) -> bool:
    return target.met_at is None and target.due_at is not None


def _is_paused(target: SlaTarget) -> bool:
    return target.met_at is None and target.due_at is None


def _pause(target: SlaTarget, *, at: datetime, schedule: Schedule) -> None:
    assert target.due_at is not None  # noqa: S101 - only running targets pause
    if target.due_at < at and target.breached_at is None:
        target.breached_at = target.due_at
    target.remaining_business_seconds = business_seconds_between(schedule, at, target.due_at)
    target.paused_at = at
    target.due_at = None


def _resume(target: SlaTarget, *, at: datetime, schedule: Schedule) -> None:
    target.due_at = add_business_time(schedule, at, target.remaining_business_seconds or 0)
    target.paused_at = None
    target.remaining_business_seconds = None


def _meet(target: SlaTarget, *, at: datetime) -> None:
    # A paused target keeps its remaining seconds, so a reopened resolution clock continues from them.
    target.met_at = at
    if target.due_at is not None and at > target.due_at and target.breached_at is None:
        target.breached_at = target.due_at


def _reopen(target: SlaTarget, *, at: datetime, schedule: Schedule) -> None:
    """A met target runs again with the business time it had left when it was met."""
    assert target.met_at is not None  # noqa: S101 - only met targets reopen
    if target.due_at is not None:
        remaining = business_seconds_between(schedule, target.met_at, target.due_at)
    else:
        remaining = target.remaining_business_seconds or 0
    target.met_at = None
    target.due_at = add_business_time(schedule, at, remaining)
    target.paused_at = None
    target.remaining_business_seconds = None
    # The clock runs to a new due time: whoever holds the ticket hears again as it nears.
    target.assignee_warned_at = target.lead_warned_at = None


_ALLOWANCE_FIELDS: dict[str, str] = {
    Kind.FIRST_RESPONSE: "first_response_minutes",
    Kind.NEXT_RESPONSE: "next_response_minutes",
    Kind.RESOLUTION: "resolution_minutes",
}


def _allowance(policy: SlaPolicy | None, kind: str) -> int | None:
    """The business seconds a policy gives a target of this kind; None when it sets no such target."""
    minutes = getattr(policy, _ALLOWANCE_FIELDS[kind]) if policy is not None else None
    return minutes * 60 if minutes is not None else None


def _start_owed_targets(
    *, ticket: Ticket, policy: SlaPolicy, targets: dict[str, SlaTarget], schedule: Callable[[], Schedule]
) -> list[SlaTarget]:
    """The first-response and resolution targets ``policy`` sets that the ticket lacks and still owes,
    counted from its creation; added to ``targets``, unsaved."""
    owed = {Kind.FIRST_RESPONSE: ticket.first_agent_reply_at is None, Kind.RESOLUTION: True}
    started: list[SlaTarget] = []
    for kind, is_owed in owed.items():
        seconds = _allowance(policy, kind)
        if seconds is None or kind in targets or not is_owed:
            continue
        target = targets[kind] = SlaTarget(
            ticket=ticket,
            policy=policy,
            kind=kind,
            started_at=ticket.created_at,
            due_at=add_business_time(schedule(), ticket.created_at, seconds),
        )
        started.append(target)
    return started


def _is_settled(target: SlaTarget, *, at: datetime) -> bool:
    """Met, or breached (recorded, or past due and not yet seen by the breach job): its times are history."""
    return (
        target.met_at is not None
        or target.breached_at is not None
        or (target.due_at is not None and target.due_at <= at)
    )


def _refit(
    target: SlaTarget,
    *,
    old_seconds: int | None,
    new_seconds: int,
    at: datetime,
    old_schedule: Schedule,
    new_schedule: Schedule,
) -> None:
    """Give an unmet target a new allowance counted from its start: the business time it has used stays
    used, and the time it stood paused (pending, on hold) still does not count."""
    as_of = at if _is_running(target) else (target.paused_at or at)
    since_start = business_seconds_between(old_schedule, target.started_at, as_of)
    if old_seconds is None:  # its policy was deleted: all the business time since its start counts
        used = since_start
    elif _is_running(target):
        assert target.due_at is not None  # noqa: S101 - running
        used = old_seconds - business_seconds_between(old_schedule, at, target.due_at)
    else:
        used = old_seconds - (target.remaining_business_seconds or 0)
    used = max(used, 0)
    left = new_seconds - used
    paused = max(since_start - used, 0)
    if left > 0 and not _is_running(target):
        target.remaining_business_seconds = left
    elif left > 0 and new_schedule != old_schedule:
        # Another calendar: what is left of the allowance counts by the new one from now.
        target.due_at = add_business_time(new_schedule, at, left)
    else:
        # Counted from the start, the due time is exact to the second; past ``as_of`` when the new
        # allowance ran out before then.
        due_at = add_business_time(old_schedule, target.started_at, new_seconds + paused)
        if _is_running(target):
            target.due_at = min(due_at, as_of) if left <= 0 else due_at  # an overdue one is the breach job's
        else:
            target.remaining_business_seconds = 0
            target.breached_at = min(due_at, as_of)
    # A new due time has its own warning window.
    target.assignee_warned_at = target.lead_warned_at = None


def _restart(target: SlaTarget, *, policy: SlaPolicy, at: datetime, seconds: int, schedule: Schedule) -> None:
    """A fresh cycle of the same kind: nothing of the last one (met, breached, warned) carries over."""
    target.policy = policy
    target.started_at = at
    target.due_at = add_business_time(schedule, at, seconds)
    target.met_at = target.breached_at = target.breach_escalated_at = target.paused_at = None
    target.remaining_business_seconds = None
    target.assignee_warned_at = target.lead_warned_at = None


def _follow_status(
    *, ticket: Ticket, targets: Iterable[SlaTarget], at: datetime, schedule: Callable[[], Schedule]
) -> list[SlaTarget]:
    """Bring each target in line with the ticket's status; returns the targets that changed."""
    changed: list[SlaTarget] = []
    for target in targets:
        if ticket.status in PAUSED_STATUSES:
            if _is_running(target):
                _pause(target, at=at, schedule=schedule())
                changed.append(target)
        elif ticket.status in STOPPED_STATUSES:
            if target.kind == Kind.RESOLUTION and target.met_at is None:
                _meet(target, at=at)
                changed.append(target)
            elif _is_running(target):
                _pause(target, at=at, schedule=schedule())
                changed.append(target)
        elif _is_paused(target):
            _resume(target, at=at, schedule=schedule())
            changed.append(target)
        elif target.kind == Kind.RESOLUTION and target.met_at is not None:
            _reopen(target, at=at, schedule=schedule())
            changed.append(target)
    return changed


# --- Writing a ticket's targets ------------------------------------------------------------------


def _targets_of(ticket: Ticket) -> dict[str, SlaTarget]:
    return {target.kind: target for target in SlaTarget.objects.filter(ticket=ticket).select_related("policy")}


def _policy_of(targets: Iterable[SlaTarget]) -> SlaPolicy | None:
    # Every target of a ticket points to the policy the ticket works by now (sla_follow_policy moves them all).
    return next((target.policy for target in targets if target.policy is not None), None)


def _lazy_schedule(*, ticket: Ticket, policy: SlaPolicy | None) -> Callable[[], Schedule]:
    schedules = _Schedules()
    return lambda: schedules.get(CalendarChoice.of(ticket=ticket, policy=policy))


def _save(*, ticket: Ticket, targets: Iterable[SlaTarget], changed: Iterable[SlaTarget]) -> None:
    """Write the changed targets, then the ticket's earliest running due time, with one UPDATE each."""
    now = timezone.now()
    unique = list({id(target): target for target in changed}.values())  # unsaved models cannot be hashed
    new = [target for target in unique if target.pk is None]
    existing = [target for target in unique if target.pk is not None]
    for target in existing:
        target.updated_at = now
    if new:
        SlaTarget.objects.bulk_create(new)
    if existing:
        SlaTarget.objects.bulk_update(existing, fields=_TARGET_FIELDS)
    next_due = min((target.due_at for target in targets if _is_running(target) and target.due_at), default=None)
    if next_due != ticket.sla_next_due_at:
        Ticket.objects.filter(pk=ticket.pk).update(sla_next_due_at=next_due)
        ticket.sla_next_due_at = next_due


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_start(*, ticket: Ticket) -> list[SlaTarget]:
    """Start a new ticket's first-response and resolution clocks from its creation; once per ticket."""
    policy = sla_policy_for(ticket=ticket)
    if policy is None:
        return []
    targets = _targets_of(ticket)
    schedule = _lazy_schedule(ticket=ticket, policy=policy)
    new = _start_owed_targets(ticket=ticket, policy=policy, targets=targets, schedule=schedule)
    _follow_status(ticket=ticket, targets=new, at=ticket.created_at, schedule=schedule)
    _save(ticket=ticket, targets=targets.values(), changed=new)
    return new


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_follow_status(*, ticket: Ticket, at: datetime) -> None:
    """Pending and on hold pause every running clock, open resumes them, solved meets resolution,
    reopening a solved ticket restarts resolution with the time it had left. The ticket is locked."""
    targets = _targets_of(ticket)
    if not targets:
        return
    schedule = _lazy_schedule(ticket=ticket, policy=_policy_of(targets.values()))
    changed = _follow_status(ticket=ticket, targets=targets.values(), at=at, schedule=schedule)
    _save(ticket=ticket, targets=targets.values(), changed=changed)


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_record_agent_reply(*, ticket: Ticket, replied_at: datetime) -> None:
    """An agent's reply meets the first-response and next-response targets. The ticket is locked."""
    targets = _targets_of(ticket)
    changed = []
    for target in targets.values():
        if target.kind in RESPONSE_KINDS and target.met_at is None:
            _meet(target, at=replied_at)
            changed.append(target)
    _save(ticket=ticket, targets=targets.values(), changed=changed)


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_record_customer_message(*, ticket: Ticket, received_at: datetime) -> None:
    """A customer's message on an existing ticket starts the next-response clock once the first response
    was met (an unanswered earlier message keeps its clock); ingest may also have reopened the ticket."""
    targets = _targets_of(ticket)
    policy = _policy_of(targets.values()) if targets else sla_policy_for(ticket=ticket)
    if policy is None:
        return
    schedule = _lazy_schedule(ticket=ticket, policy=policy)
    changed = _follow_status(ticket=ticket, targets=targets.values(), at=received_at, schedule=schedule)
    first_response = targets.get(Kind.FIRST_RESPONSE)
    is_first_response_met = (
        first_response.met_at is not None if first_response is not None else ticket.first_agent_reply_at is not None
    )
    next_response = targets.get(Kind.NEXT_RESPONSE)
    if (
        policy.next_response_minutes is not None
        and is_first_response_met
        and (next_response is None or next_response.met_at is not None)
    ):
        if next_response is None:
            next_response = targets[Kind.NEXT_RESPONSE] = SlaTarget(ticket=ticket, kind=Kind.NEXT_RESPONSE)
        _restart(
            next_response,
            policy=policy,
            at=received_at,
            seconds=policy.next_response_minutes * 60,
            schedule=schedule(),
        )
        changed.append(next_response)
        changed += _follow_status(ticket=ticket, targets=[next_response], at=received_at, schedule=schedule)
    _save(ticket=ticket, targets=targets.values(), changed=changed)


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_follow_policy(*, ticket: Ticket, at: datetime) -> None:
    """The ticket's priority changed: pick its policy again and, when another applies, refit each target
    still running or paused to the new policy's allowance from the target's start (met and breached
    targets keep their times). A target the new policy does not set stops; one it sets that the ticket
    never had starts from the ticket's creation, if still owed. The ticket is locked."""
    targets = _targets_of(ticket)
    old_policy = _policy_of(targets.values())
    new_policy = sla_policy_for(ticket=ticket)
    if (old_policy.pk if old_policy else None) == (new_policy.pk if new_policy else None):
        return
    old_schedule = _lazy_schedule(ticket=ticket, policy=old_policy)
    new_schedule = _lazy_schedule(ticket=ticket, policy=new_policy)
    changed: list[SlaTarget] = []
    stopped: list[SlaTarget] = []
    for target in targets.values():
        new_seconds = _allowance(new_policy, target.kind)
        if not _is_settled(target, at=at):
            if new_seconds is None:
                stopped.append(target)
                continue
            _refit(
                target,
                old_seconds=_allowance(old_policy, target.kind),
                new_seconds=new_seconds,
                at=at,
                old_schedule=old_schedule(),
                new_schedule=new_schedule(),
            )
        target.policy = new_policy
        changed.append(target)
    if stopped:
        SlaTarget.objects.filter(pk__in=[target.pk for target in stopped]).delete()
        for target in stopped:
            del targets[target.kind]
    if new_policy is not None and ticket.status not in STOPPED_STATUSES:  # a solved ticket owes nothing new
        started = _start_owed_targets(ticket=ticket, policy=new_policy, targets=targets, schedule=new_schedule)
        changed += started
        changed += _follow_status(ticket=ticket, targets=started, at=at, schedule=new_schedule)
    _save(ticket=ticket, targets=targets.values(), changed=changed)


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def sla_follow_moved_messages(*, ticket: Ticket) -> None:
    """Messages moved off the ticket (a split): when no customer message is left waiting for an agent's
    reply, its unmet next-response target has nothing to time and goes. The moved message is timed by
    its new ticket's first response, from the same instant. The ticket is locked."""
    targets = _targets_of(ticket)
    next_response = targets.get(Kind.NEXT_RESPONSE)
    if next_response is None or next_response.met_at is not None:
        return
    if sla_unanswered_since(ticket=ticket) is not None:
        return
    next_response.delete()
    del targets[Kind.NEXT_RESPONSE]
    _save(ticket=ticket, targets=targets.values(), changed=[])


def sla_unanswered_since(*, ticket: Ticket) -> datetime | None:
    """When the customer's message still waiting for an agent's reply was written: the ticket's newest
    message to or from the customer is theirs. None when an agent answered last (an automatic message,
    such as the acknowledgement, answers nothing; notes are not to the customer)."""
    newest = (
        Message.objects.filter(ticket=ticket)
        .exclude(direction=MessageDirection.NOTE)
        .exclude(direction=MessageDirection.OUTBOUND, is_automatic=True)
        .order_by("-created_at", "-id")
        .values_list("direction", "created_at")
        .first()
    )
    return newest[1] if newest is not None and newest[0] == MessageDirection.INBOUND else None


def sla_forget_warnings(*, ticket: Ticket, assignee: bool, lead: bool) -> None:
    """The assignee's (and/or the team lead's) warnings of the ticket's unmet, unbreached targets are due again,
    to whoever holds the ticket now: one UPDATE. The ticket is locked."""
    cleared: dict[str, None] = {}
    if assignee:
        cleared["assignee_warned_at"] = None
    if lead:
        cleared["lead_warned_at"] = None
    if cleared:
        SlaTarget.objects.filter(ticket=ticket, met_at__isnull=True, breached_at__isnull=True).update(
            updated_at=timezone.now(), **cleared
        )


def sla_first_response_running(*, ticket: Ticket) -> SlaTarget | None:
    """The first-response target (with its policy) when its clock runs: when the customer can expect a reply."""
    return SlaTarget.objects.filter(_RUNNING, ticket=ticket, kind=Kind.FIRST_RESPONSE).select_related("policy").first()


# --- Warnings and breaches (periodic) ------------------------------------------------------------


def _warning_seconds(target: SlaTarget) -> int:
    minutes = target.policy.warning_minutes if target.policy is not None else DEFAULT_WARNING_MINUTES
    return minutes * 60


class _Thresholds:
    """``now`` plus some business seconds, per calendar: a target is within its window when due by then."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._schedules = _Schedules()
        self._instants: dict[tuple[CalendarChoice, int], datetime] = {}

    def schedule_for(self, target: SlaTarget) -> Schedule:
        return self._schedules.get(CalendarChoice.of(ticket=target.ticket, policy=target.policy))

    def within(self, target: SlaTarget, *, seconds: int) -> bool:
        assert target.due_at is not None  # noqa: S101 - only running targets are watched
        key = (CalendarChoice.of(ticket=target.ticket, policy=target.policy), seconds)
        if key not in self._instants:
            self._instants[key] = add_business_time(self.schedule_for(target), self.now, seconds)
        return target.due_at <= self._instants[key]

    def business_minutes_left(self, target: SlaTarget) -> int:
        assert target.due_at is not None  # noqa: S101 - only running targets are watched
        return business_seconds_between(self.schedule_for(target), self.now, target.due_at) // 60


def _warnings_due(target: SlaTarget, thresholds: _Thresholds) -> tuple[bool, bool]:
    """(warn the assignee, warn the team lead) for a running target of an assigned ticket."""
    ticket = target.ticket
    window = _warning_seconds(target)
    lead_id = ticket.team.lead_id if ticket.team is not None else None
    warn_assignee = (
        ticket.assignee_id is not None
        and target.assignee_warned_at is None
        and thresholds.within(target, seconds=window)
    )
    warn_lead = (
        ticket.assignee_id is not None
        and lead_id is not None
        and target.lead_warned_at is None
        and thresholds.within(target, seconds=window // 2)
    )
    return warn_assignee, warn_lead


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _lock_tickets(ticket_ids: list[int]) -> list[Ticket]:
    """Lock what no one else holds; a ticket another beat (or an agent) holds waits for the next run."""
    return list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("team")
        .filter(pk__in=ticket_ids)
        .order_by("pk")
    )


def _payload(target: SlaTarget, **extra: object) -> dict:
    ticket = target.ticket
    return {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "target": target.kind,
        "due_at": target.due_at.isoformat() if target.due_at else None,
        **extra,
    }


def _warnable_targets(now: datetime) -> Q:
    return (
        _RUNNING
        & Q(breached_at__isnull=True, due_at__gt=now, ticket__status__in=WATCHED_STATUSES)
        & Q(ticket__assignee__isnull=False)
        & (Q(assignee_warned_at__isnull=True) | Q(lead_warned_at__isnull=True))
    )


def sla_warning_horizon(*, now: datetime) -> datetime:
    """The latest due time a target can have and be inside its warning window at ``now``: the longest
    window of any policy, in business time, on the calendar that takes longest to count it (a broken or
    never-open calendar counts around the clock, as the targets on it do)."""
    longest = SlaPolicy.objects.aggregate(longest=Max("warning_minutes"))["longest"] or 0
    seconds = max(longest, DEFAULT_WARNING_MINUTES) * 60
    schedules = [ALWAYS_OPEN]
    for calendar in BusinessCalendar.objects.prefetch_related("intervals", "holidays"):
        try:
            schedule = _schedule_from_calendar(calendar)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if schedule.is_ever_open:
            schedules.append(schedule)
    return max(add_business_time(schedule, now, seconds) for schedule in schedules)


def sla_send_warnings(*, now: datetime | None = None) -> int:
    """Warn the assignee when a running target enters its policy's warning window (business time), and the
    team lead when half of it is left; once each. Returns how many notifications were sent."""
    now = now or timezone.now()
    thresholds = _Thresholds(now)
    # A first pass without locks finds the few tickets that need a warning now, among the targets due
    # soon enough to be in some warning window (not every running clock of the desk).
    ticket_ids: list[int] = []
    for target in (
        SlaTarget.objects.filter(_warnable_targets(now), due_at__lte=sla_warning_horizon(now=now))
        .select_related("policy", "ticket__team")
        .order_by("due_at", "pk")
        .iterator(chunk_size=2000)
    ):
        if any(_warnings_due(target, thresholds)) and target.ticket_id not in ticket_ids:
            ticket_ids.append(target.ticket_id)
            if len(ticket_ids) >= MAX_TICKETS_PER_RUN:
                break
    sent = 0
    for batch in _chunks(ticket_ids, BATCH_SIZE):
        with transaction.atomic():
            tickets = {ticket.pk: ticket for ticket in _lock_tickets(batch)}
            if not tickets:
                continue
            warned = []
            for target in SlaTarget.objects.filter(_warnable_targets(now), ticket__in=list(tickets)).select_related(
                "policy"
            ):
                target.ticket = tickets[target.ticket_id]
                warn_assignee, warn_lead = _warnings_due(target, thresholds)
                minutes_left = thresholds.business_minutes_left(target)
                if warn_assignee:
                    assert target.ticket.assignee_id is not None  # noqa: S101 - checked in _warnings_due
                    notify_staff(
                        user_id=target.ticket.assignee_id,
                        kind="sla_warning",
                        payload=_payload(target, recipient="assignee", business_minutes_left=minutes_left),
                    )
                    target.assignee_warned_at = now
                    sent += 1
                if warn_lead:
                    assert target.ticket.team is not None  # noqa: S101 - checked in _warnings_due
                    assert target.ticket.team.lead_id is not None  # noqa: S101
                    notify_staff(
                        user_id=target.ticket.team.lead_id,
                        kind="sla_warning",
                        payload=_payload(target, recipient="team_lead", business_minutes_left=minutes_left),
                    )
                    target.lead_warned_at = now
                    sent += 1
                if warn_assignee or warn_lead:
                    target.updated_at = now
                    warned.append(target)
            SlaTarget.objects.bulk_update(warned, fields=["assignee_warned_at", "lead_warned_at", "updated_at"])
    return sent


def _breachable_targets(now: datetime) -> Q:
    overdue = _RUNNING & Q(breached_at__isnull=True, due_at__lte=now, ticket__status__in=WATCHED_STATUSES)
    # A clock that paused (pending, on hold) after its due time records the breach itself, possibly
    # before this job saw it running: it is escalated all the same, once, while still unmet.
    unescalated = Q(
        met_at__isnull=True,
        breached_at__isnull=False,
        breach_escalated_at__isnull=True,
        ticket__status__in=UNRESOLVED_STATUSES,
    )
    return overdue | unescalated


def _raise_priority(*, ticket: Ticket, target: SlaTarget) -> TicketActivity | None:
    """A breach raises the priority a step but keeps the ticket's policy: picking the stricter policy of
    the new priority would make its other targets overdue at once, and each breach would raise it again.
    Changes ``ticket`` in place and returns the (unsaved) history row; the caller writes both."""
    raised = RAISED_PRIORITY.get(Priority(ticket.priority))
    if raised is None:
        return None
    previous, ticket.priority = ticket.priority, raised
    ticket.updated_at = timezone.now()
    return TicketActivity(
        ticket=ticket,
        actor=None,
        kind=TicketActivity.Kind.PRIORITY,
        details={"before": previous, "after": raised, "reason": "sla_breach", "target": target.kind},
    )


def sla_mark_breaches(*, now: datetime | None = None) -> int:
    """Record each running target past due as breached, once: the ticket's priority goes up a step and the
    team lead hears of it. A target whose clock paused after its due time (it recorded the breach
    itself) is escalated the same way, once. Returns how many targets were escalated."""
    now = now or timezone.now()
    ticket_ids = list(
        SlaTarget.objects.filter(_breachable_targets(now))
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
        .distinct()[:MAX_TICKETS_PER_RUN]
    )
    breached = 0
    for batch in _chunks(ticket_ids, BATCH_SIZE):
        with transaction.atomic():
            tickets = {ticket.pk: ticket for ticket in _lock_tickets(batch)}
            if not tickets:
                continue
            targets = list(
                SlaTarget.objects.filter(_breachable_targets(now), ticket__in=list(tickets)).order_by("due_at", "pk")
            )
            changed_tickets: dict[int, Ticket] = {}
            raised: dict[int, Ticket] = {}
            history: list[TicketActivity] = []
            for target in targets:
                ticket = target.ticket = tickets[target.ticket_id]
                target.breached_at = target.breached_at or target.due_at
                target.breach_escalated_at = now
                target.updated_at = now
                activity = _raise_priority(ticket=ticket, target=target)
                if activity is not None:
                    raised[ticket.pk] = ticket
                    history.append(activity)
                changed_tickets[ticket.pk] = ticket
                lead_id = ticket.team.lead_id if ticket.team is not None else None
                if lead_id is not None:
                    notify_staff(user_id=lead_id, kind="sla_breach", payload=_payload(target, priority=ticket.priority))
                    # For an unassigned ticket this is the lead's only warning.
                    target.lead_warned_at = target.lead_warned_at or now
                breached += 1
            # A batch costs the same few statements however many tickets it escalates.
            Ticket.objects.bulk_update(list(raised.values()), fields=["priority", "updated_at"])
            TicketActivity.objects.bulk_create(history)
            SlaTarget.objects.bulk_update(
                targets, fields=["breached_at", "breach_escalated_at", "lead_warned_at", "updated_at"]
            )
            for ticket in changed_tickets.values():
                after_ticket_change(ticket=ticket, change="updated")
    return breached
