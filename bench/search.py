"""Inbox search at scale: by order number and by customer email, p95 under 30 ms each.

Each search goes through the inbox view with ``?q=`` (the whole stack in-process, as the bench agent).
Each iteration searches for the next of 25 sampled orders / emails of tickets the agent may open.
Free text (a customer's name) is measured too, fewer times, for information: it has no target.

Usage: python bench/search.py [--iterations 200] [--warmup 20]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from _harness import (
    DEFAULT_ITERATIONS,
    DEFAULT_WARMUP,
    agent_client,
    bench_agent,
    count_queries,
    emit,
    emit_load,
    emit_timing,
    get_ok,
    measure,
    setup_django,
    ticket_count,
)

BENCH = "search"
TARGET_MS = 30.0
SAMPLES = 25
ROW = re.compile(rb'data-ticket="')


def samples(agent: Any) -> tuple[list[str], list[str], list[str]]:
    """Order numbers, customer emails and names of tickets the agent may open, picked by random ids."""

    from customers.choices import IdentityKind
    from customers.models import CustomerIdentity
    from tickets.access import tickets_visible_to
    from tickets.models import Ticket

    visible = tickets_visible_to(agent)
    bounds = Ticket.objects.order_by("id").values_list("id", flat=True)
    low, high = bounds.first(), bounds.last()
    if low is None:
        raise RuntimeError("search needs tickets: run bench/seed_scale.py first")
    chooser = random.Random(2024)  # the same searches every run
    orders: list[str] = []
    emails: list[str] = []
    names: list[str] = []
    for _attempt in range(SAMPLES * 20):
        if len(orders) >= SAMPLES and len(emails) >= SAMPLES:
            break
        start = chooser.randint(low, high)
        ticket = (
            Ticket.objects.filter(visible, pk__gte=start).select_related("order", "customer").order_by("pk").first()
        )
        if ticket is None:
            continue
        if ticket.order is not None and len(orders) < SAMPLES:
            orders.append(ticket.order.number)
        identity = CustomerIdentity.objects.filter(customer_id=ticket.customer_id, kind=IdentityKind.EMAIL).first()
        if identity is not None and len(emails) < SAMPLES:
            emails.append(identity.value)
        if ticket.customer.name and len(names) < SAMPLES:
            names.append(ticket.customer.name)
    return orders, emails, names


def inbox_search(agent: Any) -> Callable[[str], int]:
    """One search through the inbox view (``?q=``) as the agent; returns how many tickets it listed."""
    from django.urls import reverse

    client = agent_client(agent)
    inbox = reverse("tickets:inbox")

    def search(query: str) -> int:
        return len(ROW.findall(get_ok(client, f"{inbox}?{urlencode({'q': query})}").content))

    return search


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    args = parser.parse_args()
    setup_django()

    scale = ticket_count()
    emit_load(BENCH, "start")
    agent = bench_agent()
    search = inbox_search(agent)
    orders, emails, names = samples(agent)
    extra: dict[str, Any] = {"scale": scale}
    # Free text (a customer's name) is not one of the targets; it is measured, fewer times, to show its cost.
    kinds = (
        ("order_number", orders, args.iterations, args.warmup),
        ("customer_email", emails, args.iterations, args.warmup),
        ("free_text_customer_name", names, max(args.iterations // 10, 5), min(args.warmup, 3)),
    )
    for name, values, iterations, warmup in kinds:
        found = [search(value) for value in values]
        timing = measure(lambda index, v=values: search(v[index % len(v)]), iterations=iterations, warmup=warmup)
        queries = count_queries(lambda v=values: search(v[0]))
        emit_timing(BENCH, name, timing, queries=queries, target_ms=TARGET_MS, samples=len(values), **extra)
        emit(BENCH, f"{name}_tickets_found_min", min(found), "tickets", **extra)
    emit_load(BENCH, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
