"""Priority rules: raise a new ticket's priority when an admin's conditions match it, and their upkeep.

A rule matches when every condition it fills in holds:

- keywords: any one of them appears in the subject or the first message as a whole word or phrase,
  case-insensitively ("charged twice" matches "I was CHARGED  twice!", "refund" does not match
  "refunded"); both are compared in NFKC and case-folded, so full-width and half-width forms,
  "STRASSE" for "straße" and "İADE" for "iade" match. Quoted history is not searched:
  ``Message.body_text`` has it stripped already. Scripts written without spaces (Chinese, Japanese,
  Korean, Thai) match as substrings there, and a word next to one of their letters is a whole word.
- is_vip_only: the customer is a VIP.
- min_order_total: the ticket's linked order totals at least this much; a ticket with no linked
  order (the usual case at intake) uses the customer's largest order that was not cancelled. Totals
  are compared as numbers: the store sells in one currency.
- channels: the ticket came in on one of them.

The highest priority among the matching rules wins, and a rule only ever raises a ticket's priority.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.exceptions import ApplicationError
from orders.choices import OrderStatus
from orders.models import Order
from tickets.choices import Channel, Priority
from tickets.models import Message, PriorityRule, Ticket, TicketActivity
from tickets.rule_cache import cached_rules
from tickets.services.lifecycle import ticket_touch

logger = logging.getLogger(__name__)

PRIORITY_RANK: dict[str, int] = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}

# Letters of scripts written without spaces between words: a keyword edge in one of them gets no
# word boundary, or "退款" would never match inside "我想退款"; and a Latin keyword next to one of
# them is at a word's edge, so "iphone" matches in "我的iPhone坏了".
_UNSPACED_RANGES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNSPACED_SCRIPT = re.compile(f"[{_UNSPACED_RANGES}]")
# A letter, digit or underscore of a spaced script: what continues a word.
_SPACED_WORD_CHAR = f"[^\\W{_UNSPACED_RANGES}]"
# Invisible characters: a zero-width space separates words, the others (soft hyphen, joiners) join them.
_INVISIBLE = {0x200B: " ", 0x00AD: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None}


def keyword_text_normalise(text: str) -> str:
    """Text as keywords compare it: compatibility forms folded (full-width letters, half-width katakana),
    any case (STRASSE, İADE), composed accents (an e with a separate accent is é, not e and a mark)."""
    folded = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).casefold()
    # The Turkish capital İ folds to i and a combining dot above; the dot is not part of the word.
    return unicodedata.normalize("NFC", folded.replace("i\u0307", "i"))


@lru_cache(maxsize=1024)
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """What a keyword or phrase matches in normalised text: whole words, any spacing."""
    words = keyword_text_normalise(keyword).split()
    body = r"\s+".join(re.escape(word) for word in words)
    start = "" if _UNSPACED_SCRIPT.match(words[0][0]) else f"(?<!{_SPACED_WORD_CHAR})"
    end = "" if _UNSPACED_SCRIPT.match(words[-1][-1]) else f"(?!{_SPACED_WORD_CHAR})"
    return re.compile(start + body + end)


def keyword_found(*, keyword: str, text: str) -> bool:
    """Whether a keyword appears in raw text (normalised here; rules normalise a ticket's text once)."""
    return _keyword_in(keyword=keyword, normalised_text=keyword_text_normalise(text))


def _keyword_in(*, keyword: str, normalised_text: str) -> bool:
    return bool(keyword.strip()) and keyword_pattern(keyword.strip()).search(normalised_text) is not None


@dataclass(frozen=True)
class TicketFacts:
    """What priority rules look at, gathered once per ticket."""

    text: str  # normalised for keywords
    channel: str
    is_vip: bool
    order_total: Decimal | None


def priority_rule_matches(*, rule: PriorityRule, facts: TicketFacts) -> bool:
    if rule.keywords and not any(_keyword_in(keyword=keyword, normalised_text=facts.text) for keyword in rule.keywords):
        return False
    if rule.is_vip_only and not facts.is_vip:
        return False
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.min_order_total is None:
        return True
    return facts.order_total is not None and facts.order_total >= rule.min_order_total


def ticket_order_total(*, ticket: Ticket) -> Decimal | None:
    """The linked order's total, or else the customer's largest order that was not cancelled."""
    if ticket.order_id is not None:
        return Order.objects.filter(pk=ticket.order_id).values_list("total", flat=True).first()
    largest = (
        Order.objects.filter(customer_id=ticket.customer_id)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(largest=Max("total"))["largest"]
    )
    return largest


def _facts(*, ticket: Ticket, first_message: Message, rules: list[PriorityRule]) -> TicketFacts:
    body = first_message.body_text or strip_tags(first_message.body_html)
    needs_order = any(rule.min_order_total is not None for rule in rules)
    return TicketFacts(
        text=keyword_text_normalise(f"{ticket.subject}\n{body}"),
        channel=ticket.channel,
        is_vip=ticket.customer.is_vip,
        order_total=ticket_order_total(ticket=ticket) if needs_order else None,
    )


# Runs inside the caller's transaction when there is one; a savepoint would only cost round trips.
@transaction.atomic(savepoint=False)
def priority_rules_apply(*, ticket: Ticket, first_message: Message) -> PriorityRule | None:
    """Raise a new ticket's priority to the highest that its matching rules give; returns the rule that won.

    Runs at intake, on a ticket created in this transaction; ``ticket`` is updated in place so the
    steps after it (routing, the SLA clock) see the new priority.
    """
    rules = cached_rules("priority", lambda: list(PriorityRule.objects.filter(is_active=True)))
    if not rules:
        return None
    facts = _facts(ticket=ticket, first_message=first_message, rules=rules)
    winner: PriorityRule | None = None
    for rule in rules:  # by name, so among equal priorities the first by name is the one recorded
        if priority_rule_matches(rule=rule, facts=facts) and (
            winner is None or PRIORITY_RANK[rule.priority] > PRIORITY_RANK[winner.priority]
        ):
            winner = rule
    if winner is None or PRIORITY_RANK[winner.priority] <= PRIORITY_RANK[ticket.priority]:
        return None
    previous, ticket.priority = ticket.priority, winner.priority
    ticket_touch(ticket=ticket, fields=["priority"], is_conversation_change=False)
    TicketActivity.objects.create(
        ticket=ticket,
        actor=None,
        kind=TicketActivity.Kind.PRIORITY,
        details={"before": previous, "after": winner.priority, "rule": winner.name, "rule_id": winner.pk},
    )
    return winner


# --- Upkeep from the settings pages ---------------------------------------------------------------


def priority_rule_list() -> QuerySet[PriorityRule]:
    return PriorityRule.objects.order_by("-is_active", "name")


def _clean_keywords(keywords: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for keyword in keywords:
        phrase = " ".join(keyword.split())
        if phrase and phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            cleaned.append(phrase[:100])
    return cleaned


def _clean_rule(
    *,
    name: str,
    priority: str,
    keywords: Iterable[str],
    is_vip_only: bool,
    min_order_total: Decimal | None,
    channels: Iterable[str],
) -> dict[str, object]:
    name = name.strip()
    if not name:
        raise ApplicationError(_("Give the rule a name."))
    if priority not in Priority.values:
        raise ApplicationError(_("Unknown priority: %(priority)s") % {"priority": priority})
    channel_list = list(dict.fromkeys(channels))
    unknown = [channel for channel in channel_list if channel not in Channel.values]
    if unknown:
        raise ApplicationError(_("Unknown channels: %(channels)s") % {"channels": ", ".join(unknown)})
    if min_order_total is not None and min_order_total < 0:
        raise ApplicationError(_("The minimum order total cannot be negative."))
    keyword_list = _clean_keywords(keywords)
    if not (keyword_list or is_vip_only or min_order_total is not None or channel_list):
        # A rule without conditions would raise every ticket; that is a default, not a rule.
        raise ApplicationError(_("Give the rule at least one condition."))
    return {
        "name": name,
        "priority": priority,
        "keywords": keyword_list,
        "is_vip_only": is_vip_only,
        "min_order_total": min_order_total,
        "channels": channel_list,
    }


def _name_taken() -> ApplicationError:
    return ApplicationError(_("A priority rule with this name already exists."))


@transaction.atomic
def priority_rule_create(
    *,
    actor: User,
    name: str,
    priority: str,
    keywords: Iterable[str] = (),
    is_vip_only: bool = False,
    min_order_total: Decimal | None = None,
    channels: Iterable[str] = (),
    is_active: bool = True,
) -> PriorityRule:
    fields = _clean_rule(
        name=name,
        priority=priority,
        keywords=keywords,
        is_vip_only=is_vip_only,
        min_order_total=min_order_total,
        channels=channels,
    )
    if PriorityRule.objects.filter(name__iexact=fields["name"]).exists():
        raise _name_taken()
    try:
        with transaction.atomic():
            rule = PriorityRule.objects.create(is_active=is_active, **fields)
    except IntegrityError:
        raise _name_taken() from None
    logger.info("priority rule %s created by %s", rule.pk, actor.pk)
    return rule


@transaction.atomic
def priority_rule_update(
    *,
    actor: User,
    rule_id: int,
    name: str,
    priority: str,
    keywords: Iterable[str],
    is_vip_only: bool,
    min_order_total: Decimal | None,
    channels: Iterable[str],
    is_active: bool,
) -> PriorityRule:
    rule = PriorityRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise ApplicationError(_("That priority rule does not exist."))
    fields = _clean_rule(
        name=name,
        priority=priority,
        keywords=keywords,
        is_vip_only=is_vip_only,
        min_order_total=min_order_total,
        channels=channels,
    )
    if PriorityRule.objects.filter(name__iexact=fields["name"]).exclude(pk=rule.pk).exists():
        raise _name_taken()
    for attribute, value in {**fields, "is_active": is_active}.items():
        setattr(rule, attribute, value)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise _name_taken() from None
    logger.info("priority rule %s updated by %s", rule.pk, actor.pk)
    return rule


@transaction.atomic
def priority_rule_delete(*, actor: User, rule_id: int) -> None:
    deleted, _detail = PriorityRule.objects.filter(pk=rule_id).delete()
    if not deleted:
        raise ApplicationError(_("That priority rule does not exist."))
    logger.info("priority rule %s deleted by %s", rule_id, actor.pk)
