"""The ticket page at scale: a conversation of 100 messages with its customer and orders, p95 under 50 ms.

The whole page (URL ``tickets:ticket``) is timed through the test client as the bench agent, then
the access check and selector alone (SQL + ORM, no middleware or template), to show where time goes.
The 100-message ticket is created once (subject below) on a customer with orders and reused.

Usage: python bench/ticket_page.py [--iterations 200] [--warmup 20]
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from _harness import (
    BENCH_TEAM_NAME,
    DEFAULT_ITERATIONS,
    DEFAULT_WARMUP,
    agent_client,
    bench_agent,
    count_queries,
    emit,
    emit_load,
    emit_timing,
    get_ok,
    log,
    measure,
    setup_django,
    ticket_count,
)

BENCH = "ticket_page"
TARGET_MS = 50.0
MESSAGES = 100
SUBJECT = "[bench] Replacement for a damaged order, 100 messages"


def conversation_ticket(agent: Any) -> Any:
    """The bench's 100-message ticket, made on first use: email, with tags, attachments and an order."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Team
    from orders.models import Order
    from tickets.choices import Channel, MessageDirection, Priority, TicketStatus
    from tickets.models import Attachment, Message, Tag, Ticket

    existing = Ticket.objects.filter(subject=SUBJECT).order_by("id").first()
    if existing is not None:
        return existing
    order = Order.objects.filter(items__isnull=False).order_by("-placed_at").first()
    if order is None:
        raise RuntimeError("ticket_page needs at least one order with items: run bench/seed_scale.py first")
    customer = order.customer
    email = customer.primary_email or "customer@example.com"
    now = timezone.now()
    opened = now - timedelta(days=12)
    with transaction.atomic():
        ticket = Ticket.objects.create(
            subject=SUBJECT,
            customer=customer,
            order=order,
            channel=Channel.EMAIL,
            status=TicketStatus.OPEN,
            priority=Priority.HIGH,
            assignee=agent,
            team=Team.objects.filter(name=BENCH_TEAM_NAME).first(),
            last_message_at=now - timedelta(hours=2),
        )
        ticket.tags.set(Tag.objects.order_by("name")[:2])
        step = (now - timedelta(hours=2) - opened) / (MESSAGES - 1)
        messages = []
        for index in range(MESSAGES):
            if index % 10 == 9:
                direction = MessageDirection.NOTE
            else:
                direction = MessageDirection.INBOUND if index % 2 == 0 else MessageDirection.OUTBOUND
            inbound = direction == MessageDirection.INBOUND
            body = (
                f"Message {index + 1} about order {order.number}: the replacement still has not arrived, "
                "and the tracking link shows no movement since Tuesday. Could you check with the carrier?"
                if inbound
                else f"Hi {customer.first_name or 'there'}, thanks for your patience. I have checked with the carrier "
                f"about order {order.number} and will update you as soon as I hear back. (reply {index + 1})"
            )
            messages.append(
                Message(
                    ticket=ticket,
                    channel=Channel.EMAIL,
                    direction=direction,
                    author=None if inbound else agent,
                    body_text=body,
                    body_html="" if direction == MessageDirection.NOTE else f"<p>{body}</p>",
                    external_message_id=None
                    if direction == MessageDirection.NOTE
                    else f"<bench-{ticket.pk}-{index}@{'mail.example.com' if inbound else 'helpdesk.localhost'}>",
                    sender_address=email if inbound else "",
                )
            )
        Message.objects.bulk_create(messages)
        for index, message in enumerate(messages):  # auto_now_add stamped them all "now"
            message.created_at = message.updated_at = opened + step * index
        Message.objects.bulk_update(messages, ["created_at", "updated_at"])
        Attachment.objects.bulk_create(
            Attachment(
                message=message,
                file=f"attachments/bench/photo-{index}.jpg",
                filename=f"photo-{index}.jpg",
                content_type="image/jpeg",
                size=350_000 + index,
            )
            for index, message in enumerate(messages[::10])
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
    log(f"ticket_page: created ticket #{ticket.number} with {MESSAGES} messages")
    return ticket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    args = parser.parse_args()
    setup_django()
    from django.urls import reverse

    from tickets.access import access_ticket
    from tickets.selectors import ticket_detail_for_agent

    scale = ticket_count()
    emit_load(BENCH, "start")
    agent = bench_agent()
    ticket = conversation_ticket(agent)
    extra: dict[str, Any] = {"scale": scale, "messages": ticket.messages.count(), "ticket": ticket.number}
    path = reverse("tickets:ticket", kwargs={"number": ticket.number})
    client = agent_client(agent)

    def page(_index: int) -> object:
        return get_ok(client, path)

    extra.update(path=path, bytes=len(page(0).content))
    timing = measure(page, iterations=args.iterations, warmup=args.warmup)
    queries = count_queries(lambda: page(0))
    emit_timing(BENCH, "ticket_100_messages", timing, queries=queries, target_ms=TARGET_MS, **extra)

    def selector(_index: int) -> object:
        return ticket_detail_for_agent(ticket=access_ticket(agent, ticket.pk), user=agent)

    timing = measure(selector, iterations=args.iterations, warmup=args.warmup)
    emit(BENCH, "ticket_100_messages_selector_p50", timing.p50, "ms", scale=scale, iterations=len(timing.samples_ms))
    emit(BENCH, "ticket_100_messages_selector_p95", timing.p95, "ms", scale=scale, iterations=len(timing.samples_ms))
    emit_load(BENCH, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
