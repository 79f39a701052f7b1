"""Reads of tickets for the agent workspace; each query's joins live here."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from customers.choices import IdentityKind
from customers.models import CustomerIdentity
from helpdesk.core.exceptions import ApplicationError
from tickets.models import Ticket

INBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxPage:
    tickets: list[Ticket]
    next_cursor: str | None


def _encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.last_message_at.isoformat()}|{ticket.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _sep, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ApplicationError("That page link is not valid; start again from the first page.") from error


def _inbox_queryset() -> QuerySet[Ticket]:
    emails = CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL)
    return Ticket.objects.select_related("customer", "assignee", "team").prefetch_related(
        "tags", Prefetch("customer__identities", queryset=emails)
    )


def ticket_list_for_inbox(*, user: User, cursor: str | None = None, limit: int = INBOX_PAGE_SIZE) -> InboxPage:
    """One page of the inbox, newest activity first, paged by keyset so every page costs the same."""
    queryset = _inbox_queryset().filter(merged_into__isnull=True)
    if not user.has_perm("tickets.view_all_tickets") and not user.has_perm("tickets.view_ticket"):
        queryset = queryset.none()
    if cursor:
        stamp, pk = _decode_cursor(cursor)
        queryset = queryset.extra(where=["(last_message_at, tickets_ticket.id) < (%s, %s)"], params=[stamp, pk])
    rows = list(queryset.order_by("-last_message_at", "-id")[: limit + 1])
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return InboxPage(tickets=rows[:limit], next_cursor=next_cursor)
