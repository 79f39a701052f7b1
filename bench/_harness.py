"""What every bench script shares: Django set-up, JSON figure lines, timing, query counts and the bench agent.

A bench script prints one JSON object per line on stdout:
``{"bench": ..., "metric": ..., "value": ..., "unit": ..., "scale": <tickets in the database>}``
and anything meant for a person on stderr. ``run_all.py`` passes the stdout lines through.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
BENCH_AGENT_EMAIL = "bench.agent@bench.helpdesk.test"
BENCH_TEAM_NAME = "Bench: Tier 1"
DEFAULT_ITERATIONS = 200
DEFAULT_WARMUP = 20


def configure_environment() -> None:
    """Settings that honour DATABASE_URL / REDIS_URL, and production-like request handling.

    DEBUG is off (cached template loaders, no query log kept in memory), and INFO logs
    (one per ingested email) would drown the figures.
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # One database session for the whole run (as a busy web process keeps), so its CPU can be read.
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    # WhiteNoise warns once per process that collectstatic has not run; the benches serve no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)


def setup_django() -> None:
    """The application loaded as a web process loads it (helpdesk/asgi.py), start-up objects frozen."""
    configure_environment()
    import django

    django.setup()
    from django.urls import get_resolver

    from helpdesk.core.startup import freeze_loaded_objects

    get_resolver().url_patterns  # noqa: B018 - the URLconf, imported as the first request would
    freeze_loaded_objects()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(bench: str, metric: str, value: Any, unit: str, **extra: Any) -> None:
    """One figure, one line; extra keys (scale, note, path) ride along."""
    line = {"bench": bench, "metric": metric, "value": value, "unit": unit, **extra}
    print(json.dumps(line, default=str), flush=True)


def emit_load(bench: str, when: str) -> None:
    """The machine's 1-minute load average (2 cores here): figures taken on a busy machine read high."""
    emit(bench, f"load_average_1m_{when}", round(os.getloadavg()[0], 2), "load", cpus=os.cpu_count())


def ticket_count() -> int:
    from tickets.models import Ticket

    return Ticket.objects.count()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU a local process has used, from /proc (None if it is not readable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its direct children (a Celery prefork worker and its pool)."""
    total = process_cpu_seconds(pid) or 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                total += process_cpu_seconds(int(entry.name)) or 0.0
    return total


def database_is_local() -> bool:
    from django.db import connection

    host = connection.settings_dict.get("HOST") or ""
    return host in {"", "localhost", "127.0.0.1", "::1"} or host.startswith("/")


def database_backend_pid() -> int | None:
    """The PostgreSQL server process of this thread's connection, when the server runs on this machine."""
    from django.db import connection

    if not database_is_local():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (what numpy calls 'linear')."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class Timing:
    samples_ms: list[float]
    app_cpu_ms: float | None = None  # this process's CPU per call, mean
    db_cpu_ms: float | None = None  # its PostgreSQL backend's CPU per call, mean

    @property
    def p50(self) -> float:
        return round(percentile(self.samples_ms, 0.50), 2)

    @property
    def p95(self) -> float:
        return round(percentile(self.samples_ms, 0.95), 2)

    @property
    def p99(self) -> float:
        return round(percentile(self.samples_ms, 0.99), 2)

    @property
    def mean(self) -> float:
        return round(statistics.fmean(self.samples_ms), 2)

    @property
    def maximum(self) -> float:
        return round(max(self.samples_ms), 2)


def measure(call: Callable[[int], object], *, iterations: int, warmup: int) -> Timing:
    """Time ``call(i)`` ``iterations`` times after ``warmup`` untimed calls; milliseconds.

    A full collection before timing keeps garbage from the set-up out of the samples;
    the collector stays on while timing, as it is in a web process.

    CPU per call is measured too (this process, and its PostgreSQL backend from /proc when the
    server is local): unlike wall time it hardly moves when other work shares the machine.
    """
    for index in range(warmup):
        call(index)
    gc.collect()
    backend = database_backend_pid()
    db_started = process_cpu_seconds(backend) if backend else None
    cpu_started = time.process_time()
    samples = []
    for index in range(iterations):
        started = time.perf_counter()
        call(index)
        samples.append((time.perf_counter() - started) * 1000)
    app_cpu = (time.process_time() - cpu_started) * 1000 / iterations
    db_cpu = None
    if backend and db_started is not None and database_backend_pid() == backend:
        db_ended = process_cpu_seconds(backend)
        db_cpu = (db_ended - db_started) * 1000 / iterations if db_ended is not None else None
    return Timing(
        samples_ms=samples, app_cpu_ms=round(app_cpu, 2), db_cpu_ms=None if db_cpu is None else round(db_cpu, 2)
    )


def count_queries(call: Callable[[], object]) -> int:
    """SQL statements one call issues (timed separately: capturing slows every query a little)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def emit_timing(bench: str, name: str, timing: Timing, *, queries: int | None, target_ms: float, **extra: Any) -> None:
    """p50/p95 (and p99, mean, max) of one measured request, its query count and whether it met its target."""
    common = {"iterations": len(timing.samples_ms), **extra}
    emit(bench, f"{name}_p50", timing.p50, "ms", **common)
    emit(bench, f"{name}_p95", timing.p95, "ms", target_ms=target_ms, meets_target=timing.p95 < target_ms, **common)
    emit(bench, f"{name}_p99", timing.p99, "ms", **common)
    emit(bench, f"{name}_mean", timing.mean, "ms", **common)
    emit(bench, f"{name}_max", timing.maximum, "ms", **common)
    if timing.app_cpu_ms is not None:
        emit(bench, f"{name}_app_cpu_mean", timing.app_cpu_ms, "ms", **common)
    if timing.db_cpu_ms is not None:
        emit(bench, f"{name}_db_cpu_mean", timing.db_cpu_ms, "ms", note="CPU of the PostgreSQL backend", **common)
    if queries is not None:
        emit(bench, f"{name}_queries", queries, "queries", **extra)


def bench_agent() -> Any:
    """The agent the benches log in as: role agent, in one team, created once."""
    from django.contrib.auth.models import Group

    from accounts.choices import Role
    from accounts.models import Team, User

    agent, created = User.objects.get_or_create(
        email=BENCH_AGENT_EMAIL,
        defaults={"first_name": "Bench", "last_name": "Agent", "is_staff": True, "role": Role.AGENT},
    )
    if created:
        agent.set_unusable_password()
        agent.save(update_fields=["password"])
        agent.groups.add(Group.objects.get(name=Role.AGENT.label))
    team, _created = Team.objects.get_or_create(name=BENCH_TEAM_NAME)
    team.members.add(agent)
    return agent


def agent_client(agent: Any) -> Any:
    """A test client logged in as ``agent``, talking to a host the settings allow."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(agent)
    return client


def get_ok(client: Any, path: str, **headers: Any) -> Any:
    """GET a page and insist on 200, so a bench never times an error page or a redirect."""
    response = client.get(path, **headers)
    if response.status_code != 200:
        body = response.content[:500].decode(errors="replace")
        raise RuntimeError(f"GET {path} answered {response.status_code}: {body}")
    return response


def purge_tasks(app: Any) -> None:
    """Drop every queued task, and the mark that says an acknowledgement sender is queued (it was just purged)."""
    from django.core.cache import cache

    from tickets.services.acknowledgement import SENDER_QUEUED_MARK

    app.control.purge()
    cache.delete(SENDER_QUEUED_MARK)


def settle_database(connection: Any) -> None:
    """Write out what earlier work left in PostgreSQL's buffers (CHECKPOINT) before anything is timed.

    After a large load (the seed, a fresh database) the checkpointer otherwise spends the next
    minutes writing it out, and every commit's fsync in a benchmark waits behind those writes.
    Needs a superuser or the pg_checkpoint role; without either the figures are taken as they come.
    """
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as error:
        print(
            f"could not CHECKPOINT before timing ({error}); figures may include the checkpointer's writes",
            file=sys.stderr,
            flush=True,
        )
