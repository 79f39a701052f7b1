"""Routing: which team a new ticket belongs to, which available agent in it takes the ticket, and the queue.

- Team. The first active routing rule by position whose filled-in conditions all hold (channel, any
  of its tags, the customer's language, priority; an empty condition matches anything) names the
  team, unless the ticket already has one. No matching rule: the ticket stays in the general queue.
  A new ticket has no contact reasons yet, so a ticket without a team is routed again after
  contact reasons are added to it.
- Agent. If the team's auto-assignment switch is on, an agent who is a member of the team, is
  AVAILABLE and has spare capacity takes the ticket, unless older tickets wait in the team's queue:
  then the free slots go to the oldest first, as when capacity frees up. Among agents, speakers of
  the customer's language first when the team's rule is about languages, then the least loaded,
  then whoever was assigned least recently (never assigned first). Nobody free: the ticket waits
  unassigned in the team's queue.
- Load. An agent's load is the number of tickets assigned to them that are new, open or on hold.
  Pending tickets do not count: they wait on the customer, and capacity is for work the agent can
  do now. A customer's reply reopens a pending ticket and it counts again, so an agent can
  briefly sit above capacity; capacity only decides who gets the next ticket.
- Concurrency. Whoever assigns locks the candidate agents' AgentProfile rows (by primary key, so
  two assigners never deadlock) and only then counts their load, in a new statement: under READ
  COMMITTED that count sees every assignment committed by whoever held the locks before, so two
  tickets arriving at once never both take an agent's last free slot.
- Queue. When capacity frees up (an agent becomes available, a ticket of theirs stops counting,
  a team's switch is turned on), ``assign_waiting_tickets_task`` runs after commit and
  ``team_assign_waiting`` hands the team's oldest waiting tickets to its free agents until they
  are full.

Manual assignment (``lifecycle.ticket_assign``) is a person's decision and ignores capacity.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Availability
from accounts.models import AgentProfile, Team, User
from helpdesk.core.exceptions import ApplicationError
from helpdesk.core.languages import supported_languages
from tickets.choices import Channel, Priority, TicketStatus
from tickets.events import after_ticket_change
from tickets.models import RoutingRule, Tag, Ticket, TicketActivity
from tickets.rule_cache import cached_rules
from tickets.services.lifecycle import ticket_open_on_assignment, ticket_touch

logger = logging.getLogger(__name__)

COUNTED_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD})
# A waiting ticket needs an agent's time now, exactly the tickets that count once assigned.
WAITING_STATUSES = COUNTED_STATUSES
WAITING_BATCH_SIZE = 100
_NEVER = datetime.min.replace(tzinfo=UTC)


def language_matches(*, language: str, codes: Iterable[str]) -> bool:
    """Whether a customer's language is among ``codes``: "pt-br" is covered by "pt-br" and by "pt"."""
    language = language.lower()
    wanted = {code.lower() for code in codes}
    return language in wanted or language.split("-")[0] in wanted


# --- Which team -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveRoutingRule:
    """An active rule with its team and the ids of the tags it asks for, as the rule cache keeps it."""

    rule: RoutingRule
    tag_ids: frozenset[int]


def routing_rule_matches(*, rule: ActiveRoutingRule, ticket: Ticket, ticket_tag_ids: frozenset[int]) -> bool:
    """Every condition the rule sets holds for the ticket; a list left empty asks nothing."""
    conditions = rule.rule
    if conditions.channels and ticket.channel not in conditions.channels:
        return False
    if rule.tag_ids and not rule.tag_ids & ticket_tag_ids:
        return False
    if conditions.languages and not language_matches(language=ticket.customer.language, codes=conditions.languages):
        return False
    return not (conditions.priorities and ticket.priority not in conditions.priorities)


def _active_rules() -> list[ActiveRoutingRule]:
    rules = list(RoutingRule.objects.filter(is_active=True).select_related("team").order_by("position", "id"))
    tag_ids: dict[int, set[int]] = {}
    for rule_id, tag_id in RoutingRule.tags.through.objects.filter(routingrule__in=rules).values_list(
        "routingrule_id", "tag_id"
    ):
        tag_ids.setdefault(rule_id, set()).add(tag_id)
    return [ActiveRoutingRule(rule=rule, tag_ids=frozenset(tag_ids.get(rule.pk, ()))) for rule in rules]


def routing_rule_for(*, ticket: Ticket) -> RoutingRule | None:
    """The first active rule by position that the ticket satisfies."""
    rules = cached_rules("routing", _active_rules)
    if not rules:
        return None
    ticket_tag_ids: frozenset[int] = frozenset()
    if any(rule.tag_ids for rule in rules):
        ticket_tag_ids = frozenset(
            Ticket.tags.through.objects.filter(ticket_id=ticket.pk).values_list("tag_id", flat=True)
        )
    matching = (rule for rule in rules if routing_rule_matches(rule=rule, ticket=ticket, ticket_tag_ids=ticket_tag_ids))
    found = next(matching, None)
    # The cached rule is shared by every thread of the process: the caller gets its own copy.
    return copy.copy(found.rule) if found is not None else None


# --- Which agent ----------------------------------------------------------------------------------


@dataclass
class AgentSlot:
    profile: AgentProfile
    load: int

    @property
    def has_room(self) -> bool:
        return self.load < self.profile.ticket_capacity


class AgentPool:
    """A team's available agents with their loads; their profile rows stay locked until commit."""

    def __init__(self, slots: list[AgentSlot]) -> None:
        self.slots = slots

    @classmethod
    def lock(cls, *, team: Team) -> AgentPool:
        profiles = list(
            AgentProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(
                user__teams=team,
                user__is_active=True,
                user__is_staff=True,
                availability=Availability.AVAILABLE,
            )
            .order_by("pk")
        )
        if not profiles:
            return cls([])
        # A separate statement, after the locks are held: it sees what the previous holder committed.
        loads = dict(
            Ticket.objects.filter(
                assignee_id__in=[profile.user_id for profile in profiles], status__in=COUNTED_STATUSES
            )
            .order_by()
            .values_list("assignee_id")
            .annotate(count=Count("id"))
        )
        return cls([AgentSlot(profile=profile, load=loads.get(profile.user_id, 0)) for profile in profiles])

    def free_slots(self) -> int:
        return sum(max(slot.profile.ticket_capacity - slot.load, 0) for slot in self.slots)

    def pick(self, *, language: str | None) -> AgentSlot | None:
        def order(slot: AgentSlot) -> tuple[bool, int, bool, datetime, int]:
            speaks = language is not None and language_matches(language=language, codes=slot.profile.languages)
            last = slot.profile.last_assigned_at
            return (not speaks, slot.load, last is not None, last or _NEVER, slot.profile.pk)

        open_slots = [slot for slot in self.slots if slot.has_room]
        return min(open_slots, key=order) if open_slots else None

    def take(self, slot: AgentSlot) -> None:
        now = timezone.now()
        slot.load += 1
        slot.profile.last_assigned_at = now
        AgentProfile.objects.filter(pk=slot.profile.pk).update(last_assigned_at=now, updated_at=now)


def _preferred_language(*, ticket: Ticket, team: Team, rule: RoutingRule | None) -> str | None:
    """The customer's language when the team's rule routes by language; else no preference."""
    language = ticket.customer.language
    if rule is not None:
        return language if rule.languages else None
    team_codes = RoutingRule.objects.filter(team=team, is_active=True).values_list("languages", flat=True)
    return (
        language
        if language_matches(language=language, codes=[code for codes in team_codes for code in codes])
        else None
    )


def _assign(*, ticket: Ticket, assignee: User, is_announced: bool) -> None:
    before = {"assignee": ticket.assignee_id, "team": ticket.team_id}
    ticket.assignee = assignee
    opened = ticket_open_on_assignment(ticket=ticket, actor=None)  # as lifecycle.ticket_assign
    ticket_touch(ticket=ticket, fields=["assignee", "status", "status_changed_at"])
    assignment = TicketActivity(
        ticket=ticket,
        actor=None,
        kind=TicketActivity.Kind.ASSIGNMENT,
        details={
            "before": before,
            "after": {"assignee": assignee.pk, "team": ticket.team_id},
            "auto_assignment": True,
        },
    )
    TicketActivity.objects.bulk_create([assignment, *opened])
    if is_announced:
        after_ticket_change(ticket=ticket, change="updated")


@dataclass(frozen=True)
class RoutingOutcome:
    team: Team | None
    rule: RoutingRule | None
    assignee: User | None


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def ticket_route(*, ticket: Ticket) -> RoutingOutcome:
    """Put a new ticket in its team (unless it has one) and, if the team auto-assigns, with an agent.

    Runs at intake after the priority rules, on the ticket created in this transaction; ``ticket``
    is updated in place so the SLA clock that starts next sees its team.
    """
    rule: RoutingRule | None = None
    team = ticket.team
    if team is None:
        rule = routing_rule_for(ticket=ticket)
        if rule is None:
            return RoutingOutcome(team=None, rule=None, assignee=None)
        team = rule.team
        before = {"assignee": ticket.assignee_id, "team": None}
        ticket.team = copy.copy(rule.team)
        ticket_touch(ticket=ticket, fields=["team"], is_conversation_change=False)
        TicketActivity.objects.create(
            ticket=ticket,
            actor=None,
            kind=TicketActivity.Kind.ASSIGNMENT,
            details={
                "before": before,
                "after": {"assignee": ticket.assignee_id, "team": rule.team_id},
                "routing_rule": rule.pk,
            },
        )
    if ticket.assignee_id is not None or not team.is_auto_assignment_enabled:
        return RoutingOutcome(team=team, rule=rule, assignee=ticket.assignee)
    assignee = _assign_behind_the_queue(ticket=ticket, team=team, rule=rule)
    return RoutingOutcome(team=team, rule=rule, assignee=assignee)


def _assign_behind_the_queue(*, ticket: Ticket, team: Team, rule: RoutingRule | None) -> User | None:
    """A new ticket takes a free slot only when nobody in the team's queue has waited longer.

    The locks are the queue's: the agents' rows first, then the waiting tickets oldest first (skipping
    any someone is changing). With others waiting, the free slots go to the oldest; the new ticket,
    the newest of all, gets one only if some are left.
    """
    pool = AgentPool.lock(team=team)
    room = min(pool.free_slots(), WAITING_BATCH_SIZE)
    if not room:
        return None
    waiting = _waiting_tickets(team=team, limit=room)
    if all(waiting_ticket.pk == ticket.pk for waiting_ticket in waiting):
        slot = pool.pick(language=_preferred_language(ticket=ticket, team=team, rule=rule))
        if slot is None:
            return None
        pool.take(slot)
        _assign(ticket=ticket, assignee=slot.profile.user, is_announced=False)
        return slot.profile.user
    # The caller holds the new ticket and announces it itself; the others are announced as assigned.
    _hand_out(pool=pool, team=team, waiting=[ticket if row.pk == ticket.pk else row for row in waiting], new=ticket)
    return ticket.assignee


@transaction.atomic
def ticket_route_after_tagging(*, ticket_id: int) -> RoutingOutcome | None:
    """Route a ticket that was given contact reasons while it had no team; None when it is not routed.

    Idempotent: a ticket that has a team by now (routed already, or put in one by hand), was merged
    or is finished is left as it is; one that still matches no rule stays in the general queue.
    """
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=ticket_id).first()
    if (
        ticket is None
        or ticket.team_id is not None
        or ticket.merged_into_id is not None
        or ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
    ):
        return None
    outcome = ticket_route(ticket=ticket)
    if outcome.team is None:
        return None
    after_ticket_change(ticket=ticket, change="updated")
    return outcome


# --- The waiting queue ----------------------------------------------------------------------------


@transaction.atomic
def _assign_waiting_batch(*, team_id: int) -> int:
    team = Team.objects.filter(pk=team_id).first()  # fresh: the switch may have been turned off since
    if team is None or not team.is_auto_assignment_enabled:
        return 0
    pool = AgentPool.lock(team=team)
    room = min(pool.free_slots(), WAITING_BATCH_SIZE)
    if not room:
        return 0
    waiting = _waiting_tickets(team=team, limit=room)
    if not waiting:
        return 0
    return _hand_out(pool=pool, team=team, waiting=waiting)


def _waiting_tickets(*, team: Team, limit: int) -> list[Ticket]:
    """The team's unassigned tickets, oldest first, locked; one someone is changing is skipped, not waited for."""
    return list(
        Ticket.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("customer", "team")
        .filter(team=team, assignee__isnull=True, status__in=WAITING_STATUSES, merged_into__isnull=True)
        .order_by("created_at", "id")[:limit]
    )


def _hand_out(*, pool: AgentPool, team: Team, waiting: list[Ticket], new: Ticket | None = None) -> int:
    """Give ``waiting`` (oldest first) to the pool's free agents until they are full; returns how many."""
    team_codes = [
        code
        for codes in RoutingRule.objects.filter(team=team, is_active=True).values_list("languages", flat=True)
        for code in codes
    ]
    assigned = 0
    for ticket in waiting:
        language = ticket.customer.language
        slot = pool.pick(language=language if language_matches(language=language, codes=team_codes) else None)
        if slot is None:
            break
        pool.take(slot)
        _assign(ticket=ticket, assignee=slot.profile.user, is_announced=ticket is not new)
        assigned += 1
    return assigned


def team_assign_waiting(*, team: Team) -> int:
    """Hand the team's oldest waiting tickets to its free agents until they are full; returns how many.

    Idempotent: run twice, the second run finds no waiting ticket or no free agent. Works in batches,
    each its own transaction, so the agents' rows are never locked for long.
    """
    assigned = 0
    while True:
        batch = _assign_waiting_batch(team_id=team.pk)
        assigned += batch
        if batch < WAITING_BATCH_SIZE:
            return assigned


def _enqueue_assign_waiting(team_ids: Iterable[int]) -> None:
    from tickets.tasks import assign_waiting_tickets_task

    for team_id in sorted(set(team_ids)):
        transaction.on_commit(partial(assign_waiting_tickets_task.delay, team_id), robust=True)  # beat also assigns


def _auto_assigning_team_ids(*, user_id: int) -> list[int]:
    return list(Team.objects.filter(members=user_id, is_auto_assignment_enabled=True).values_list("pk", flat=True))


def routing_after_availability_change(profile: AgentProfile, previous: str) -> None:
    """Registered with accounts.services: an agent who becomes available takes their teams' waiting tickets."""
    if profile.availability == Availability.AVAILABLE and previous != Availability.AVAILABLE:
        _enqueue_assign_waiting(_auto_assigning_team_ids(user_id=profile.user_id))


def routing_after_status_change(*, ticket: Ticket, previous: str) -> None:
    """Called from status_effects: a ticket that stops counting (solved, closed, pending) frees its agent."""
    if ticket.assignee_id is not None and previous in COUNTED_STATUSES and ticket.status not in COUNTED_STATUSES:
        _enqueue_assign_waiting(_auto_assigning_team_ids(user_id=ticket.assignee_id))


def teams_assign_waiting_everywhere() -> int:
    """The periodic safety net: capacity also frees up by ways no hook sees (reassignment, merges)."""
    return sum(team_assign_waiting(team=team) for team in Team.objects.filter(is_auto_assignment_enabled=True))


# --- Upkeep from the settings pages ---------------------------------------------------------------


def routing_rule_list() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.select_related("team").prefetch_related("tags").order_by("position", "id")


def team_list_for_routing() -> QuerySet[Team]:
    return Team.objects.annotate(
        member_count=Count("members", distinct=True),
        waiting_count=Count(
            "tickets",
            filter=Q(tickets__assignee__isnull=True, tickets__status__in=WAITING_STATUSES),
            distinct=True,
        ),
    ).order_by("name")


def _clean_codes(*, values: Iterable[str], allowed: Iterable[str], what: str) -> list[str]:
    cleaned = list(dict.fromkeys(values))
    unknown = [value for value in cleaned if value not in set(allowed)]
    if unknown:
        raise ApplicationError(_("Unknown %(what)s: %(values)s") % {"what": what, "values": ", ".join(unknown)})
    return cleaned


def _clean_languages(languages: Iterable[str]) -> list[str]:
    # Stored as customers' languages are, or "pt-BR" would never match a customer stored as "pt".
    return supported_languages(languages)


def _save_rule(
    *,
    rule: RoutingRule,
    team: Team,
    position: int,
    is_active: bool,
    channels: Iterable[str],
    tags: Iterable[Tag],
    languages: Iterable[str],
    priorities: Iterable[str],
) -> RoutingRule:
    if position < 0:
        raise ApplicationError(_("The position cannot be negative."))
    rule.team = team
    rule.position = position
    rule.is_active = is_active
    rule.channels = _clean_codes(values=channels, allowed=Channel.values, what=_("channels"))
    rule.priorities = _clean_codes(values=priorities, allowed=Priority.values, what=_("priorities"))
    rule.languages = _clean_languages(languages)
    rule.save()
    rule.tags.set(list(tags))
    return rule


@transaction.atomic
def routing_rule_create(
    *,
    actor: User,
    team: Team,
    position: int = 0,
    is_active: bool = True,
    channels: Iterable[str] = (),
    tags: Iterable[Tag] = (),
    languages: Iterable[str] = (),
    priorities: Iterable[str] = (),
) -> RoutingRule:
    """A rule with no conditions is allowed: last by position, it is the catch-all route."""
    rule = _save_rule(
        rule=RoutingRule(),
        team=team,
        position=position,
        is_active=is_active,
        channels=channels,
        tags=tags,
        languages=languages,
        priorities=priorities,
    )
    logger.info("routing rule %s created by %s", rule.pk, actor.pk)
    return rule


@transaction.atomic
def routing_rule_update(
    *,
    actor: User,
    rule_id: int,
    team: Team,
    position: int,
    is_active: bool,
    channels: Iterable[str],
    tags: Iterable[Tag],
    languages: Iterable[str],
    priorities: Iterable[str],
) -> RoutingRule:
    rule = RoutingRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise ApplicationError(_("That routing rule does not exist."))
    _save_rule(
        rule=rule,
        team=team,
        position=position,
        is_active=is_active,
        channels=channels,
        tags=tags,
        languages=languages,
        priorities=priorities,
    )
    logger.info("routing rule %s updated by %s", rule.pk, actor.pk)
    return rule


@transaction.atomic
def routing_rule_delete(*, actor: User, rule_id: int) -> None:
    deleted, _detail = RoutingRule.objects.filter(pk=rule_id).delete()
    if not deleted:
        raise ApplicationError(_("That routing rule does not exist."))
    logger.info("routing rule %s deleted by %s", rule_id, actor.pk)


@transaction.atomic
def team_set_auto_assignment(*, actor: User, team_id: int, is_enabled: bool) -> Team:
    """Turn a team's auto-assignment on or off; off, routing only puts tickets in the team's queue."""
    team = Team.objects.select_for_update().filter(pk=team_id).first()
    if team is None:
        raise ApplicationError(_("That team does not exist."))
    if team.is_auto_assignment_enabled != is_enabled:
        team.is_auto_assignment_enabled = is_enabled
        team.save(update_fields=["is_auto_assignment_enabled", "updated_at"])
        logger.info("auto-assignment for team %s turned %s by %s", team.pk, "on" if is_enabled else "off", actor.pk)
        if is_enabled:
            _enqueue_assign_waiting([team.pk])
    return team
