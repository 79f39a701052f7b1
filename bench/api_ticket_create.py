"""Tickets created through the REST API, one after another: tickets/second, latency and queries per request.

Each request goes through the whole stack in-process (rest_framework.test.APIClient with a staff
token: middleware, token authentication, the staff permission, the serializer, ingest with its
intake rules, the listeners, and the after-commit side effects: the acknowledgement task is
enqueued on the configured Redis, the inbox event is published). Every request is a new
customer (a new email address), so every one opens a new ticket.

Database: by default a fresh one on the configured server, made by Django's test-database
machinery (``<NAME>_api_bench``, migrated, dropped at the end unless --keep-database), so a seeded
dataset is never touched and every run starts equal. --in-place uses the configured database
itself (migrated first; the created tickets stay). Redis: the configured REDIS_URL; the Celery
queue is purged before and after, since nothing consumes it here.

Prints JSON lines on stdout: {"bench": "api_ticket_create", "metric": ..., "value": ..., "unit": ...}.

Usage: python bench/api_ticket_create.py [--tickets 2000] [--warmup 50] [--in-place] [--keep-database]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from _harness import purge_tasks, settle_database

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = "api_ticket_create"
TARGET_PER_SECOND = 300.0
BENCH_USER_EMAIL = "bench.api@bench.helpdesk.test"
BODY = (
    "Hello, I ordered a linen shirt last week and the tracking page has not changed for four days. "
    "Could you tell me where the parcel is and when it will arrive? I need it before the weekend. Thanks!"
)


def emit(metric: str, value: Any, unit: str, **extra: Any) -> None:
    print(json.dumps({"bench": BENCH, "metric": metric, "value": value, "unit": unit, **extra}), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def setup_django() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    os.environ.setdefault("DEBUG", "0")  # no query log kept in memory, as in production
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # ingest logs one INFO line per message
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()


def bench_token() -> str:
    """A staff user (agent role) and their API token, created once."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.choices import Role
    from accounts.models import User

    user, created = User.objects.get_or_create(
        email=BENCH_USER_EMAIL,
        defaults={"first_name": "Bench", "last_name": "Integration", "is_staff": True, "role": Role.AGENT},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=Role.AGENT.label))
    token, _created = Token.objects.get_or_create(user=user)
    return token.key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--in-place", action="store_true", help="use the configured database, not a fresh one")
    parser.add_argument("--keep-database", action="store_true", help="keep the fresh database afterwards")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from helpdesk.celery import app
    from tickets.models import Ticket

    original_name = connection.settings_dict["NAME"]
    fresh = not args.in_place
    if fresh:
        connection.settings_dict["TEST"]["NAME"] = f"{original_name}_api_bench"
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        call_command("migrate", verbosity=0, interactive=False)
        name = original_name
    log(f"{BENCH}: database {name!r}, {args.tickets} tickets after {args.warmup} warm-up requests")
    emit("load_average_1m_start", round(os.getloadavg()[0], 2), "load", cpus=os.cpu_count())
    try:
        purge_tasks(app)
        client = APIClient(HTTP_HOST="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Token {bench_token()}")
        run = f"{int(time.time())}-{os.getpid()}"
        queries = 0

        def count_queries(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        def create(index: int) -> None:
            response = client.post(
                "/api/v1/tickets/",
                {
                    "customer_email": f"customer-{run}-{index}@shop.bench.test",
                    "customer_name": f"Customer {index}",
                    "subject": f"Where is my parcel? ({index})",
                    "body": BODY,
                },
                format="json",
            )
            if response.status_code != 201:
                raise RuntimeError(f"POST /api/v1/tickets/ answered {response.status_code}: {response.content[:500]!r}")

        for index in range(args.warmup):
            create(-1 - index)
        before = Ticket.objects.count()
        settle_database(connection)
        gc.collect()
        samples: list[float] = []
        per_request_queries: list[int] = []
        with connection.execute_wrapper(count_queries):
            started = time.perf_counter()
            for index in range(args.tickets):
                queries_before = queries
                request_started = time.perf_counter()
                create(index)
                samples.append((time.perf_counter() - request_started) * 1000)
                per_request_queries.append(queries - queries_before)
            elapsed = time.perf_counter() - started
        created = Ticket.objects.count() - before
        if created != args.tickets:
            raise RuntimeError(f"{args.tickets} requests opened {created} tickets")

        per_second = round(args.tickets / elapsed, 1)
        extra = {"tickets": args.tickets, "database": name, "fresh_database": fresh}
        emit("per_second", per_second, "tickets/s", target=TARGET_PER_SECOND, meets_target=per_second >= 300, **extra)
        emit("latency_p50", round(percentile(samples, 0.50), 2), "ms", **extra)
        emit("latency_p95", round(percentile(samples, 0.95), 2), "ms", **extra)
        emit("latency_p99", round(percentile(samples, 0.99), 2), "ms", **extra)
        emit("latency_max", round(max(samples), 2), "ms", **extra)
        emit("queries_per_request", round(statistics.fmean(per_request_queries), 2), "queries", **extra)
        emit("queries_per_request_max", max(per_request_queries), "queries", **extra)
        emit("seconds", round(elapsed, 2), "s", **extra)
    finally:
        purge_tasks(app)
        if fresh and not args.keep_database:
            connection.close()
            connection.settings_dict["NAME"] = original_name
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    emit("load_average_1m_end", round(os.getloadavg()[0], 2), "load", cpus=os.cpu_count())
    return 0


if __name__ == "__main__":
    sys.exit(main())
