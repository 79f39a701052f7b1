"""The one door in: every channel hands its normalised inbound message to ``ingest``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from customers.identities import customer_find_or_create_by_identity
from customers.models import Customer
from helpdesk.core.chained_insert import ChildRow, insert_with_children
from orders.models import Order
from tickets.access import tickets_visible_to
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.events import after_ticket_change
from tickets.html import sanitise_html
from tickets.models import Attachment, Message, Ticket
from tickets.services.acknowledgement import acknowledgement_request_for
from tickets.services.intake import ticket_on_created
from tickets.services.lifecycle import ticket_apply_status, ticket_lock_surviving

logger = logging.getLogger(__name__)

SUBJECT_TOKEN = re.compile(r"\[#(\d{1,12})\]")
ORDER_MENTION = re.compile(
    r"(?<![\w#])#\s?(\d{3,20})\b"
    r"|\b(?:order|orders|pedido|commande|bestellung|заказ|ordine|encomenda|sipariş|pesanan|bestelling)\b"
    r"[^\d\n]{0,16}?(\d{3,20})\b"
    r"|(?:注文|订单|訂單|주문)[^\d\n]{0,8}?(\d{3,20})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    is_inline: bool = False
    refusal_reason: str = ""


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    sender_kind: str
    sender_address: str
    body_text: str
    sender_name: str = ""
    subject: str = ""
    body_html: str = ""
    quoted_text: str = ""
    external_message_id: str | None = None
    references: tuple[str, ...] = ()
    ticket_number_hint: int | None = None
    is_automated: bool = False
    received_at: datetime | None = None
    language: str | None = None
    attachments: tuple[InboundAttachment, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    message: Message
    is_new_ticket: bool
    is_duplicate: bool


def _existing_message(inbound: InboundMessage) -> Message | None:
    if not inbound.external_message_id:
        return None
    # Asked for the id alone first: nearly every message is new, and the ORM builds a bare id lookup
    # much faster than one joining the ticket.
    found = list(
        Message.objects.filter(channel=inbound.channel, external_message_id=inbound.external_message_id).values_list(
            "pk", flat=True
        )[:1]
    )
    if not found:
        return None
    return Message.objects.select_related("ticket").get(pk=found[0])


def _mentioned_order(inbound: InboundMessage, customer: Customer) -> Order | None:
    """The first of this customer's orders the message names ("#10234", "order 10234"), if any."""
    text = SUBJECT_TOKEN.sub(" ", f"{inbound.subject}\n{inbound.body_text}")
    numbers = [number for match in ORDER_MENTION.finditer(text) for number in match.groups() if number]
    if not numbers:
        return None
    candidates = {variant for number in numbers for variant in (number, f"#{number}")}
    orders = {
        order.number.lstrip("#"): order for order in Order.objects.filter(customer=customer, number__in=candidates)
    }
    return next((orders[number] for number in numbers if number in orders), None)


def _thread_target(inbound: InboundMessage, customer: Customer, order: Order | None = None) -> Ticket | None:
    """The conversation this message continues, if any.

    Message-IDs first (inbound and outbound ones: they are unguessable, so a colleague the
    customer forwarded our reply to joins the same ticket); then the ticket number from the
    reply-to address or the subject token, which are guessable and so count only for the
    ticket's own customer; then an unresolved ticket of this customer about an order the
    message names.
    """
    if inbound.references:
        referenced = (
            # By channel too, so the unique (channel, Message-ID) index answers at any size.
            Message.objects.filter(channel=inbound.channel, external_message_id__in=list(inbound.references))
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        if referenced is not None:
            return referenced.ticket
    numbers = [inbound.ticket_number_hint] if inbound.ticket_number_hint is not None else []
    numbers += [int(found) for found in SUBJECT_TOKEN.findall(inbound.subject or "")]
    if numbers:
        by_number = {t.number: t for t in Ticket.objects.filter(number__in=numbers, customer=customer)}
        ticket = next((by_number[number] for number in numbers if number in by_number), None)
        if ticket is not None:
            return ticket
    if order is not None:
        about_order = (
            Ticket.objects.filter(customer=customer, order=order, merged_into__isnull=True)
            .exclude(status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED])
            .order_by("-last_message_at")
            .first()
        )
        if about_order is not None:
            return about_order
    if inbound.channel != Channel.EMAIL:
        # Conversational channels: the customer's latest unresolved ticket on that channel.
        return (
            Ticket.objects.filter(customer=customer, channel=inbound.channel)
            .exclude(status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED])
            .order_by("-last_message_at")
            .first()
        )
    return None


def _lock_open_conversation(target: Ticket) -> Ticket | None:
    """The ticket the message continues, locked: the survivor if it was merged; None if it is closed.

    Checked again under the lock: the copy threading found was read unlocked, and the ticket may have
    been closed (auto-close, an agent) or merged since. A closed conversation stays closed; the
    customer gets a follow-up ticket.
    """
    ticket = ticket_lock_surviving(ticket_id=target.pk)
    return None if ticket is None or ticket.status == TicketStatus.CLOSED else ticket


def _store_attachments(message: Message, attachments: tuple[InboundAttachment, ...]) -> None:
    from django.core.files.base import ContentFile

    for item in attachments:
        attachment = Attachment(
            message=message,
            filename=item.filename[:255],
            content_type=item.content_type[:255],
            size=len(item.content),
            content_id=item.content_id[:255],
            is_inline=item.is_inline,
            refusal_reason=item.refusal_reason,
        )
        if not item.refusal_reason:
            attachment.file.save(item.filename[:100] or "attachment", ContentFile(item.content), save=False)
        attachment.save()


def _message_from(inbound: InboundMessage) -> Message:
    return Message(
        channel=inbound.channel,
        direction=MessageDirection.INBOUND,
        body_text=inbound.body_text,
        body_html=sanitise_html(inbound.body_html) if inbound.body_html else "",
        quoted_text=inbound.quoted_text,
        external_message_id=inbound.external_message_id,
        references=list(inbound.references),
        sender_address=inbound.sender_address,
    )


def _message_dates(inbound: InboundMessage) -> dict[str, datetime]:
    """The message is dated when the customer wrote it (a mailbox polled late), not when it was stored."""
    return {"created_at": inbound.received_at} if inbound.received_at else {}


def _opening(
    inbound: InboundMessage, *, customer: Customer | None, order: Order | None, received_at: datetime
) -> tuple[Ticket, Message, list[ChildRow]]:
    """A new ticket for the message, and the rows written with it: its first message and, unless the
    message is automated, the acknowledgement it is owed."""
    ticket = Ticket(
        subject=(inbound.subject or inbound.body_text[:80] or "(no subject)")[:255],
        customer=customer,
        channel=inbound.channel,
        status=TicketStatus.NEW,
        last_message_at=received_at,
        order=order,
    )
    message = _message_from(inbound)
    message.ticket = ticket
    owed = [ChildRow(acknowledgement_request_for(ticket), "ticket")] if not inbound.is_automated else []
    return ticket, message, [ChildRow(message, "ticket", overrides=_message_dates(inbound)), *owed]


def _sender(inbound: InboundMessage, received_at: datetime) -> tuple[Customer, bool, tuple[Ticket, Message] | None]:
    """The customer behind the sender, whether they are new, and the ticket opened with them, if any.

    A message that answers none of ours (no Message-IDs) from an address nobody owns can only open a
    ticket: then the customer, their identity, the ticket, its first message and the acknowledgement
    it is owed are written in one statement.
    """
    opening: tuple[Ticket, Message] | None = None
    with_a_new_customer: list[ChildRow] = []
    if not inbound.references:
        ticket, message, rows = _opening(inbound, customer=None, order=None, received_at=received_at)
        opening = (ticket, message)
        with_a_new_customer.append(ChildRow(ticket, "customer", children=rows))
    customer, is_new = customer_find_or_create_by_identity(
        kind=inbound.sender_kind,
        value=inbound.sender_address,
        name=inbound.sender_name,
        language=inbound.language,
        with_a_new_customer=with_a_new_customer,
    )
    opened = bool(with_a_new_customer) and with_a_new_customer[0].inserted
    return customer, is_new, opening if opened else None


def _record(inbound: InboundMessage, staff_caller: User | None = None) -> IngestResult:
    received_at = inbound.received_at or timezone.now()
    customer, is_new_customer, opened = _sender(inbound, received_at)
    if opened is not None:
        ticket, message = opened
        is_new_ticket = True
    else:
        ticket, message, is_new_ticket = _thread_or_open(inbound, customer, is_new_customer, received_at, staff_caller)
    _store_attachments(message, inbound.attachments)
    if is_new_ticket:
        ticket_on_created(ticket=ticket, first_message=message)
    elif not inbound.is_automated:
        from tickets.sla_hooks import sla_after_customer_message

        sla_after_customer_message(ticket=ticket, received_at=received_at)
    return IngestResult(ticket=ticket, message=message, is_new_ticket=is_new_ticket, is_duplicate=False)


def _thread_or_open(
    inbound: InboundMessage,
    customer: Customer,
    is_new_customer: bool,
    received_at: datetime,
    staff_caller: User | None,
) -> tuple[Ticket, Message, bool]:
    """The message on the conversation it continues, or on a new ticket: (ticket, message, is it new)."""
    # A customer created just now has no orders and no tickets: only a Message-ID can thread their message.
    order = None if is_new_customer else _mentioned_order(inbound, customer)
    target = _thread_target(inbound, customer, order) if inbound.references or not is_new_customer else None
    conversation = _lock_open_conversation(target) if target is not None else None
    if (
        conversation is not None
        and staff_caller is not None
        and not Ticket.objects.filter(tickets_visible_to(staff_caller), pk=conversation.pk).exists()
    ):
        conversation = None  # the caller may not see that conversation: the message opens a ticket of its own
    if conversation is None:
        ticket, message, rows = _opening(inbound, customer=customer, order=order, received_at=received_at)
        # The ticket, its first message and the acknowledgement it is owed: one statement.
        insert_with_children(ticket, rows)
        return ticket, message, True
    ticket = conversation
    Ticket.objects.filter(pk=ticket.pk).update(last_message_at=received_at, version=F("version") + 1)
    ticket.refresh_from_db(fields=["last_message_at", "version"])
    # The customer's answer reopens a solved or pending ticket, through the status table like any
    # other change (SLA clocks resume, the change is recorded); an auto-reply (out of office) to our
    # "solved" mail does not.
    if ticket.status in {TicketStatus.SOLVED, TicketStatus.PENDING} and not inbound.is_automated:
        ticket_apply_status(ticket=ticket, status=TicketStatus.OPEN, actor=None)
    message = _message_from(inbound)
    message.ticket = ticket
    insert_with_children(message, overrides=_message_dates(inbound))
    return ticket, message, False


def ingest(*, inbound: InboundMessage, staff_caller: User | None = None) -> IngestResult:
    """Record one inbound message on the right ticket; a repeated delivery is recognised, not doubled.

    ``staff_caller``: the colleague who hands the message in (the API); it joins only conversations
    they may see. Channels that customers write through pass nothing.
    """
    existing = _existing_message(inbound)
    if existing is not None:
        return IngestResult(ticket=existing.ticket, message=existing, is_new_ticket=False, is_duplicate=True)
    try:
        with transaction.atomic():
            result = _record(inbound, staff_caller)
            after_ticket_change(
                ticket=result.ticket,
                change="created" if result.is_new_ticket else "updated",
                acknowledge=result.is_new_ticket and not inbound.is_automated,
            )
    except IntegrityError:
        # A concurrent delivery of the same message won the unique (channel, external id) race.
        existing = _existing_message(inbound)
        if existing is None:
            raise
        return IngestResult(ticket=existing.ticket, message=existing, is_new_ticket=False, is_duplicate=True)
    logger.info("ingested message %s onto ticket #%s", result.message.pk, result.ticket.number)
    return result
