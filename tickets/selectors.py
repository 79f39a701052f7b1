"""Reads of tickets for the agent workspace; each query's joins live here."""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Team, User, staff_display_name
from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from helpdesk.core.exceptions import ApplicationError
from orders.models import Order
from orders.selectors import orders_with_items_and_shipments
from tickets.access import macros_visible_to, tickets_visible_to
from tickets.choices import MessageDirection, Priority, TicketStatus
from tickets.customer_history import PastRating, past_ratings
from tickets.models import Macro, Message, Tag, Ticket
from tickets.rule_cache import cached_rules
from tickets.status_machine import UNRESOLVED_STATUSES

INBOX_PAGE_SIZE = 50
BREACHING_SOON_WINDOW = timedelta(hours=2)
MESSAGE_SEARCH_VECTOR = SearchVector("body_text", config="simple")
SEARCH_SOURCE_LIMIT = 500

INBOX_VIEWS = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "my_teams": "My teams",
    "urgent": "Urgent",
    "breaching": "Breaching SLA soon",
    "waiting": "Waiting on customer",
    "all": "All",
}


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    priority: str = ""
    channel: str = ""
    tag: str = ""
    team: int | None = None
    assignee: int | None = None
    query: str = ""


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One inbox line: only what the row shows, read as plain values (no model instances per row)."""

    pk: int
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    last_message_at: datetime
    sla_next_due_at: datetime | None
    customer_name: str
    assignee_name: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class InboxRowPage:
    tickets: list[InboxRow]
    next_cursor: str | None


def _encode_cursor(stamp: datetime, pk: int) -> str:
    raw = f"{stamp.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _sep, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ApplicationError("That page link is not valid; start again from the first page.") from error


# Row comparisons that walk the (timestamp, id) indexes straight to a page.
_TICKETS_OLDER_THAN = "(tickets_ticket.last_message_at, tickets_ticket.id) < (%s, %s)"
_MESSAGES_NEWER_THAN = "(tickets_message.created_at, tickets_message.id) > (%s, %s)"


def _keyset_after(queryset: QuerySet, cursor: str | None, *, where: str) -> QuerySet:
    """Rows past the cursor, by one of the row comparisons above."""
    if not cursor:
        return queryset
    stamp, pk = _decode_cursor(cursor)
    return queryset.extra(where=[where], params=[stamp, pk])  # noqa: S610 - a fixed clause, values as params


def _apply_view(queryset: QuerySet[Ticket], *, view: str, user: User) -> QuerySet[Ticket]:
    unresolved = list(UNRESOLVED_STATUSES)
    if view == "mine":
        return queryset.filter(assignee=user, status__in=unresolved)
    if view == "unassigned":
        return queryset.filter(assignee__isnull=True, status__in=unresolved)
    if view == "my_teams":
        return queryset.filter(team__in=user.teams.values("pk"), status__in=unresolved)
    if view == "urgent":
        return queryset.filter(priority=Priority.URGENT, status__in=unresolved)
    if view == "breaching":
        return queryset.filter(sla_next_due_at__lte=timezone.now() + BREACHING_SOON_WINDOW, status__in=unresolved)
    if view == "waiting":
        return queryset.filter(status=TicketStatus.PENDING)
    if view == "all":
        return queryset
    raise ApplicationError(f"Unknown inbox view: {view}")


def ticket_ids_matching_search(query: str) -> Q:
    """What a search box finds: a ticket or order number, a customer email or name, or words in messages."""
    query = query.strip()
    if not query:
        return Q()
    digits = query.lstrip("#")
    if digits.isdigit():
        # Ids, not a subquery: an OR with a subquery cannot use the indexes and walks every ticket.
        order_ids = list(Order.objects.filter(number__in=[digits, f"#{digits}"]).values_list("pk", flat=True))
        return Q(number=int(digits)) | Q(order__in=order_ids)
    if "@" in query and " " not in query:
        owners = CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL, value=query.lower()).values("customer")
        return Q(customer__in=owners)
    # Each source answers from its own index (order number, the customer-name trigram index, the
    # message full-text index); the ticket query then ORs short id lists instead of walking every ticket.
    # No ordering on these: a default ORDER BY with the LIMIT would walk a sort index instead.
    order_ids = list(Order.objects.filter(number=query).order_by().values_list("pk", flat=True)[:SEARCH_SOURCE_LIMIT])
    customer_ids = list(
        Customer.objects.filter(name__icontains=query).order_by().values_list("pk", flat=True)[:SEARCH_SOURCE_LIMIT]
    )
    ticket_ids = list(
        Message.objects.annotate(search=MESSAGE_SEARCH_VECTOR)
        .filter(search=SearchQuery(query, config="simple", search_type="plain"))
        .order_by()
        .values_list("ticket_id", flat=True)[:SEARCH_SOURCE_LIMIT]
    )
    return Q(order__in=order_ids) | Q(customer__in=customer_ids) | Q(pk__in=ticket_ids)


def _apply_filters(queryset: QuerySet[Ticket], filters: InboxFilters) -> QuerySet[Ticket]:
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.priority:
        queryset = queryset.filter(priority=filters.priority)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.team:
        queryset = queryset.filter(team_id=filters.team)
    if filters.assignee:
        queryset = queryset.filter(assignee_id=filters.assignee)
    if filters.query:
        queryset = queryset.filter(ticket_ids_matching_search(filters.query))
    return queryset


INBOX_ROW_FIELDS = (
    "pk",
    "number",
    "subject",
    "status",
    "priority",
    "channel",
    "last_message_at",
    "sla_next_due_at",
    "customer_id",
    "customer__name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__email",
)


def ticket_list_for_inbox(
    *,
    user: User,
    cursor: str | None = None,
    limit: int = INBOX_PAGE_SIZE,
    view: str = "all",
    filters: InboxFilters | None = None,
) -> InboxRowPage:
    """One page of an inbox view, newest activity first, paged by keyset so page 2,000 costs what page 1 does.

    Two queries whatever the page size (three when a listed customer has no name and is shown by email).
    """
    # Only what the user may open: the same rule as tickets.access, so every listed row opens.
    queryset = Ticket.objects.filter(tickets_visible_to(user), merged_into__isnull=True)
    queryset = _apply_view(queryset, view=view, user=user)
    if filters is not None:
        queryset = _apply_filters(queryset, filters)
    queryset = _keyset_after(queryset, cursor, where=_TICKETS_OLDER_THAN)
    values = list(queryset.order_by("-last_message_at", "-id").values_list(*INBOX_ROW_FIELDS)[: limit + 1])
    rows = _inbox_rows(values[:limit])
    next_cursor = _encode_cursor(rows[-1].last_message_at, rows[-1].pk) if len(values) > limit else None
    return InboxRowPage(tickets=rows, next_cursor=next_cursor)


def _inbox_rows(values: list[tuple]) -> list[InboxRow]:
    ticket_ids = [row[0] for row in values]
    tags: dict[int, list[str]] = {}
    for ticket_id, name in (
        Ticket.tags.through.objects.filter(ticket_id__in=ticket_ids)
        .order_by("tag__name")
        .values_list("ticket_id", "tag__name")
    ):
        tags.setdefault(ticket_id, []).append(name)
    unnamed = {row[8] for row in values if not row[9]}
    emails = _customer_emails(unnamed) if unnamed else {}
    return [
        InboxRow(
            pk=pk,
            number=number,
            subject=subject,
            status=status,
            priority=priority,
            channel=channel,
            last_message_at=last_message_at,
            sla_next_due_at=sla_next_due_at,
            customer_name=customer_name or emails.get(customer_id) or f"Customer #{customer_id}",
            assignee_name=(
                staff_display_name(first_name=first_name, last_name=last_name, email=email) if email else ""
            ),
            tags=tuple(tags.get(pk, ())),
        )
        for (
            pk,
            number,
            subject,
            status,
            priority,
            channel,
            last_message_at,
            sla_next_due_at,
            customer_id,
            customer_name,
            first_name,
            last_name,
            email,
        ) in values
    ]


def _customer_emails(customer_ids: set[int]) -> dict[int, str]:
    """Each customer's email address, the primary one first, for customers listed without a name."""
    emails: dict[int, str] = {}
    for customer_id, value in (
        CustomerIdentity.objects.filter(customer_id__in=customer_ids, kind=IdentityKind.EMAIL)
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "value")
    ):
        emails.setdefault(customer_id, value)
    return emails


@dataclass(frozen=True)
class CustomerSidebar:
    customer: Customer
    identities: list
    orders: list[Order]
    has_more_orders: bool
    earlier_tickets: list[Ticket]
    ratings: list[PastRating]


@dataclass(frozen=True, slots=True)
class TimelineAttachment:
    filename: str
    size: int
    url: str  # empty when the file was refused
    refusal_reason: str


@dataclass(frozen=True, slots=True)
class TimelineMessage:
    """One message of a ticket's timeline as the page shows it, read as plain values."""

    pk: int
    direction: str
    channel: str
    is_automatic: bool
    created_at: datetime
    body_text: str
    body_html: str
    quoted_text: str
    author_id: int | None
    author_name: str
    attachments: tuple[TimelineAttachment, ...]


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    messages: list[TimelineMessage]
    activities: list
    sla_targets: list
    sidebar: CustomerSidebar
    last_message_id: int | None  # the highest id the page shows: what a reply from it was written against
    has_older_messages: bool  # a long conversation shows only its newest TIMELINE_LIMIT messages


SIDEBAR_ORDER_LIMIT = 20
SIDEBAR_TICKET_LIMIT = 10
SIDEBAR_RATING_LIMIT = 10
TIMELINE_LIMIT = 500


def customer_sidebar(*, customer: Customer, user: User, exclude_ticket_id: int | None = None) -> CustomerSidebar:
    """Contact details, identities, orders with items and shipments, earlier tickets and past ratings.

    Earlier tickets and ratings about a ticket are only those ``user`` may see (tickets.access), each
    filtered inside its one query.
    """
    customer_id = customer.pk
    visible_tickets = Ticket.objects.filter(tickets_visible_to(user))
    identities = list(CustomerIdentity.objects.filter(customer_id=customer_id))
    orders = list(
        orders_with_items_and_shipments()
        .filter(customer_id=customer_id)
        .order_by("-placed_at")[: SIDEBAR_ORDER_LIMIT + 1]
    )
    has_more_orders = len(orders) > SIDEBAR_ORDER_LIMIT
    earlier = visible_tickets.filter(customer_id=customer_id, merged_into__isnull=True)
    if exclude_ticket_id is not None:
        earlier = earlier.exclude(pk=exclude_ticket_id)
    earlier_tickets = list(earlier.order_by("-created_at")[:SIDEBAR_TICKET_LIMIT])
    return CustomerSidebar(
        customer=customer,
        identities=identities,
        orders=orders[:SIDEBAR_ORDER_LIMIT],
        has_more_orders=has_more_orders,
        earlier_tickets=earlier_tickets,
        ratings=past_ratings(customer_id=customer_id, limit=SIDEBAR_RATING_LIMIT, visible_tickets=visible_tickets),
    )


TIMELINE_FIELDS = (
    "pk",
    "direction",
    "channel",
    "is_automatic",
    "created_at",
    "body_text",
    "body_html",
    "quoted_text",
    "author_id",
    "author__first_name",
    "author__last_name",
    "author__email",
)


_CID_SOURCE = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)


def _inline_images_linked(body_html: str, urls: dict[str, str] | None) -> str:
    """Images the message embeds (``src="cid:..."``) shown from its attachments, through the checked download."""
    if not urls or "cid:" not in body_html.lower():
        return body_html

    def linked(match: re.Match[str]) -> str:
        url = urls.get(unquote(html.unescape(match.group(1))))
        return f'src="{url}"' if url else match.group(0)

    return _CID_SOURCE.sub(linked, body_html)


def _timeline_messages(ticket_id: int, ticket_number: int) -> tuple[list[TimelineMessage], bool]:
    """The newest TIMELINE_LIMIT messages oldest first, and whether older ones were left out.

    Two queries (messages, attachments) and no model instances.
    """
    from tickets.models import Attachment

    newest_first = list(
        Message.objects.filter(ticket_id=ticket_id)
        .order_by("-created_at", "-id")
        .values_list(*TIMELINE_FIELDS)[: TIMELINE_LIMIT + 1]
    )
    has_older = len(newest_first) > TIMELINE_LIMIT
    values = newest_first[:TIMELINE_LIMIT][::-1]
    # Files are served only through tickets:attachment, which checks the ticket; its URL is the
    # ticket's plus the file's id, built once here rather than reversed for every file.
    attachment_url = reverse("tickets:ticket", args=[ticket_number]) + "attachments/{}/"
    attachments: dict[int, list[TimelineAttachment]] = {}
    inline: dict[int, dict[str, str]] = {}  # message id -> Content-ID -> the file's URL
    for attachment_id, message_id, filename, size, name, refusal_reason, content_id in (
        Attachment.objects.filter(message_id__in=[row[0] for row in values])
        .order_by("id")
        .values_list("id", "message_id", "filename", "size", "file", "refusal_reason", "content_id")
    ):
        url = attachment_url.format(attachment_id) if name and not refusal_reason else ""
        attachments.setdefault(message_id, []).append(
            TimelineAttachment(filename=filename, size=size, url=url, refusal_reason=refusal_reason)
        )
        if url and content_id:
            inline.setdefault(message_id, {})[content_id] = url
    messages = [
        TimelineMessage(
            pk=pk,
            direction=direction,
            channel=channel,
            is_automatic=is_automatic,
            created_at=created_at,
            body_text=body_text,
            body_html=_inline_images_linked(body_html, inline.get(pk)) if body_html else body_html,
            quoted_text=quoted_text,
            author_id=author_id,
            author_name=staff_display_name(first_name=first, last_name=last, email=email) if author_id else "",
            attachments=tuple(attachments.get(pk, ())),
        )
        for (
            pk,
            direction,
            channel,
            is_automatic,
            created_at,
            body_text,
            body_html,
            quoted_text,
            author_id,
            first,
            last,
            email,
        ) in values
    ]
    return messages, has_older


def ticket_id_by_number(*, number: int) -> int | None:
    """Which ticket a number names, whoever may see it: only to key what is read before its access check."""
    return Ticket.objects.filter(number=number).values_list("pk", flat=True).first()


def ticket_detail_for_agent(*, ticket: Ticket, user: User) -> TicketDetail:
    """Everything the ticket page shows ``user``, in a fixed number of queries whatever the timeline's length.

    ``ticket`` is the one tickets.access handed out to ``user``, its customer, assignee, team and order
    joined; the sidebar's other tickets and ratings are only those ``user`` may see too.
    """
    from tickets.models import SlaTarget, TicketActivity

    ticket_id = ticket.pk
    messages, has_older_messages = _timeline_messages(ticket_id, ticket.number)
    activities = list(
        TicketActivity.objects.filter(ticket_id=ticket_id).select_related("actor").order_by("created_at")[:200]
    )
    sla_targets = list(SlaTarget.objects.filter(ticket_id=ticket_id).order_by("kind"))
    sidebar = customer_sidebar(customer=ticket.customer, user=user, exclude_ticket_id=ticket.pk)
    return TicketDetail(
        ticket=ticket,
        messages=messages,
        activities=activities,
        sla_targets=sla_targets,
        sidebar=sidebar,
        last_message_id=max((message.pk for message in messages), default=None),
        has_older_messages=has_older_messages,
    )


@dataclass(frozen=True)
class _PickerLists:
    macros: list[tuple[int, str, int | None]]  # (id, name, owner id: None when shared)
    staff: list[tuple[int, str, str]]  # (id, name, role)
    teams: list[tuple[int, str]]
    tags: list[str]


def _picker_lists() -> _PickerLists:
    return _PickerLists(
        macros=list(Macro.objects.filter(is_active=True).order_by("name").values_list("pk", "name", "owner_id")),
        staff=[
            (pk, staff_display_name(first_name=first, last_name=last, email=email), role)
            for pk, first, last, email, role in User.objects.filter(is_staff=True, is_active=True)
            .order_by("first_name", "email")
            .values_list("pk", "first_name", "last_name", "email", "role")
        ],
        teams=list(Team.objects.order_by("name").values_list("pk", "name")),
        tags=list(Tag.objects.order_by("name").values_list("name", flat=True)),
    )


def ticket_page_pickers(*, user: User) -> dict[str, list[tuple[object, str]]]:
    """The (value, label) lists behind the ticket page's pickers: macros, colleagues, teams, tags.

    The lists are the same on every ticket page, so they are kept with the desk's rules
    (tickets.rule_cache: any save or delete of a macro, a staff account, a team or a tag reads them
    again); each agent is offered the shared macros and their own.
    """
    lists = cached_rules("ticket-page-pickers", _picker_lists)
    is_staff = bool(user.is_authenticated and user.is_active and user.is_staff)
    return {
        "macro_choices": [
            (pk, name) for pk, name, owner_id in lists.macros if is_staff and owner_id in (None, user.pk)
        ],
        "staff_choices": [(pk, name) for pk, name, _role in lists.staff],
        "supervisor_choices": [(pk, name) for pk, name, role in lists.staff if role in (Role.SUPERVISOR, Role.ADMIN)],
        "team_choices": list(lists.teams),
        "tag_choices": [(name, "") for name in lists.tags],
    }


# --- Reads for the REST API (tickets/api/) ---------------------------------------------------------
# Lists there apply tickets.access.tickets_visible_to, so an agent's list holds exactly the tickets
# access_ticket lets them open.

API_PAGE_SIZE = 50


@dataclass(frozen=True)
class TicketListFilters:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    assignee_id: int | None = None
    is_unassigned: bool = False
    team_id: int | None = None
    is_without_team: bool = False
    tag: str = ""
    search: str = ""


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_cursor: str | None


def _api_ticket_queryset() -> QuerySet[Ticket]:
    emails = CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL)
    return Ticket.objects.select_related("customer", "assignee", "team", "order", "merged_into").prefetch_related(
        "tags", Prefetch("customer__identities", queryset=emails)
    )


def ticket_list_for_api(
    *, user: User, filters: TicketListFilters, cursor: str | None = None, limit: int = API_PAGE_SIZE
) -> TicketPage:
    """One page of the tickets ``user`` may see, newest activity first, by keyset (every page costs the same)."""
    queryset = _api_ticket_queryset().filter(tickets_visible_to(user), merged_into__isnull=True)
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.priorities:
        queryset = queryset.filter(priority__in=filters.priorities)
    if filters.channels:
        queryset = queryset.filter(channel__in=filters.channels)
    if filters.is_unassigned:
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee_id is not None:
        queryset = queryset.filter(assignee_id=filters.assignee_id)
    if filters.is_without_team:
        queryset = queryset.filter(team__isnull=True)
    elif filters.team_id is not None:
        queryset = queryset.filter(team_id=filters.team_id)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.search:
        queryset = queryset.filter(ticket_ids_matching_search(filters.search))
    queryset = _keyset_after(queryset, cursor, where=_TICKETS_OLDER_THAN)
    rows = list(queryset.order_by("-last_message_at", "-id")[: limit + 1])
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = _encode_cursor(last.last_message_at, last.pk) if last else None
    return TicketPage(tickets=rows[:limit], next_cursor=next_cursor)


def ticket_get_for_api(*, ticket_id: int) -> Ticket:
    """One ticket with everything its API representation shows, in three queries."""
    return _api_ticket_queryset().get(pk=ticket_id)


def message_list_for_ticket(
    *, ticket_id: int, cursor: str | None = None, limit: int = API_PAGE_SIZE, include_notes: bool = True
) -> MessagePage:
    """A ticket's timeline, oldest first, paged by keyset; internal notes only when asked (staff)."""
    queryset = Message.objects.filter(ticket_id=ticket_id).select_related("author").prefetch_related("attachments")
    if not include_notes:
        queryset = queryset.exclude(direction=MessageDirection.NOTE)
    queryset = _keyset_after(queryset, cursor, where=_MESSAGES_NEWER_THAN)
    rows = list(queryset.order_by("created_at", "id")[: limit + 1])
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = _encode_cursor(last.created_at, last.pk) if last else None
    return MessagePage(messages=rows[:limit], next_cursor=next_cursor)


def macro_list_for_user(*, user: User, is_active: bool | None = True) -> list[Macro]:
    """Shared macros and the user's own, with their tags and translations, by name."""
    queryset = Macro.objects.filter(macros_visible_to(user)).prefetch_related("add_tags", "translations")
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return list(queryset.order_by("name", "id"))


def tag_list() -> list[Tag]:
    return list(Tag.objects.order_by("name"))
