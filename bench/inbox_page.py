"""Inbox timings at scale: page 1 (50 rows) and page 2,000, the full response an agent's browser waits for.

Each request goes through the whole stack in-process (Django's test client, logged in as the
bench agent: middleware, session, permissions, selector, template). The keyset cursors are
walked once through the selector to reach page 2,000; that page is then fetched repeatedly,
as a full page (a link opened directly) and as the htmx fragment "Older tickets" loads.
SQL query counts come from a separate, captured request, so capturing does not slow the timed ones.

Usage: python bench/inbox_page.py [--iterations 200] [--warmup 20] [--page 2000]
"""

from __future__ import annotations

import argparse
import re
import sys
import time

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
    log,
    measure,
    setup_django,
    ticket_count,
)

BENCH = "inbox_page"
TARGET_MS = 30.0
ROW = re.compile(rb'data-ticket="')


def selector_only(agent: object, cursor: str | None, name: str, args: argparse.Namespace, scale: int) -> None:
    """The same page through the selector alone (SQL + ORM, no middleware or template), to show where time goes."""
    from tickets.selectors import ticket_list_for_inbox

    def call(_index: int) -> object:
        return ticket_list_for_inbox(user=agent, cursor=cursor)

    timing = measure(call, iterations=args.iterations, warmup=args.warmup)
    emit(BENCH, f"{name}_selector_p50", timing.p50, "ms", scale=scale, iterations=len(timing.samples_ms))
    emit(BENCH, f"{name}_selector_p95", timing.p95, "ms", scale=scale, iterations=len(timing.samples_ms))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    parser.add_argument("--page", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    from django.urls import reverse

    from tickets.selectors import ticket_list_for_inbox

    scale = ticket_count()
    emit_load(BENCH, "start")
    agent = bench_agent()
    client = agent_client(agent)
    inbox = reverse("tickets:inbox")

    def first_page(_index: int) -> object:
        return get_ok(client, inbox)

    rows = len(ROW.findall(first_page(0).content))
    timing = measure(first_page, iterations=args.iterations, warmup=args.warmup)
    queries = count_queries(lambda: first_page(0))
    emit_timing(BENCH, "first_page", timing, queries=queries, target_ms=TARGET_MS, scale=scale, path=inbox, rows=rows)
    selector_only(agent, None, "first_page", args, scale)

    started = time.monotonic()
    cursor: str | None = None
    page = 1
    while page < args.page:
        result = ticket_list_for_inbox(user=agent, cursor=cursor)
        if result.next_cursor is None:
            break
        cursor = result.next_cursor
        page += 1
    walk_seconds = time.monotonic() - started
    emit(BENCH, "cursor_walk_seconds", round(walk_seconds, 2), "s", scale=scale, pages=page - 1)
    emit(BENCH, "deep_page_reached", page, "page", scale=scale, wanted=args.page)
    if page < args.page:
        log(f"inbox_page: only {page} pages of 50 exist at this scale; timing page {page}")
    deep = f"{inbox}?after={cursor}" if cursor else inbox

    def deep_page(_index: int) -> object:
        return get_ok(client, deep)

    def deep_fragment(_index: int) -> object:
        return get_ok(client, deep, HTTP_HX_REQUEST="true")

    name = f"page_{page}"
    rows = len(ROW.findall(deep_page(0).content))
    timing = measure(deep_page, iterations=args.iterations, warmup=args.warmup)
    queries = count_queries(lambda: deep_page(0))
    emit_timing(BENCH, name, timing, queries=queries, target_ms=TARGET_MS, scale=scale, path=deep, rows=rows)
    timing = measure(deep_fragment, iterations=args.iterations, warmup=args.warmup)
    queries = count_queries(lambda: deep_fragment(0))
    emit_timing(BENCH, f"{name}_htmx", timing, queries=queries, target_ms=TARGET_MS, scale=scale, path=deep, rows=rows)
    selector_only(agent, cursor, name, args, scale)
    emit_load(BENCH, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
