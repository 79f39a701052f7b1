"""Inbound email through the real SMTP listener: messages/second into tickets, and acknowledgement latency.

The listener runs as deployed, ``manage.py smtp_inbound`` in a process of its own on a free port
(--listener in-process runs it in this process instead, beside the bench's clients and sink);
4 smtplib clients send 3,000 messages (one in five a reply threaded by In-Reply-To, one in
twenty with an attachment, half with an HTML part). Throughput counts the inbound Message
rows that exist at the end, over the time from the first MAIL FROM to the last 250 reply.

While more than --backlog-limit acknowledgements are owed, the listener holds each new message
before taking it (channels_app.inbound_pacing), as it does in production.

With --with-worker, a Celery worker (``celery -A helpdesk worker --concurrency 2``, --worker-pool) runs as a
subprocess with the same settings, and its outgoing mail goes to a sink SMTP server in this
process. Acknowledgement latency is measured per new ticket from the 250 reply the client got
to the AutoAcknowledgement row's created_at and to its MessageDelivery's sent_at (one clock:
same machine), and from the client's MAIL FROM (the sender's view, time held included). The
burst sends as fast as the listener answers; *_acknowledged_tickets_per_second is the rate at
which new tickets were opened and acknowledged, first MAIL FROM to last acknowledgement out.
--paced-rate then sends a second batch at the steady rate a desk sees.

CPU per message is read from /proc for the listener and for the PostgreSQL backends (found by
their application_name) while mail comes in, and for the worker until its queue is empty; from
it, *_capacity_estimate says how many messages/s two idle cores could take, whatever else is
running on the machine now.

Database: a fresh one, made by Django's test-database machinery (``<NAME>_smtp_bench``,
migrated, dropped at the end unless --keep-database), so the big seeded dataset is never
touched and every run starts equal. --clone-seeded makes that database a copy of the seeded
one instead (CREATE DATABASE ... TEMPLATE: a few seconds per GB), so threading lookups and
customer matching run against millions of rows. --database-url uses a given database (migrated, kept).
Redis: the configured REDIS_URL; the Celery queue is purged before and after.

Usage: python bench/smtp_inbound.py [--messages 3000] [--clients 4] [--with-worker] [--paced-rate 20]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _harness import (
    REPO_ROOT,
    configure_environment,
    database_is_local,
    emit,
    emit_load,
    log,
    percentile,
    process_cpu_seconds,
    process_tree_cpu_seconds,
    purge_tasks,
)

BENCH = "smtp_inbound"
TARGET_PER_SECOND = 150.0
TARGET_ACK_P95_S = 5.0
SUPPORT_ADDRESS = "support@helpdesk.localhost"
LISTENER_APPLICATION = "bench-smtp-listener"
WORKER_APPLICATION = "bench-smtp-worker"
TICKET_IN_REPLY = re.compile(r"ticket #(\d+)")
SUBJECTS = (
    "Where is my order #{n}?",
    "Order #{n} arrived damaged",
    "Return request for order #{n}",
    "Refund not received for #{n}",
    "Wrong size in order #{n}",
    "Please cancel order #{n}",
)


@dataclass
class Sent:
    index: int
    started: float
    answered: float
    code: int
    reply: str
    ticket_number: int | None
    is_reply: bool
    original_index: int | None = None


@dataclass
class Batch:
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    client_cpu_seconds: float = 0.0  # the SMTP client threads' own CPU, which the listener's process figure includes

    def add(self, item: Sent) -> None:
        with self.lock:
            self.sent.append(item)

    def add_client_cpu(self, seconds: float) -> None:
        with self.lock:
            self.client_cpu_seconds += seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SinkHandler:
    """Outgoing mail from the worker lands here and is counted, never delivered anywhere."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 2.0.0 Accepted by the bench sink"


def message_id_for(run: str, index: int) -> str:
    return f"<{run}.{index}@mail.example.com>"


def compose(*, run: str, index: int, sender: str, original_id: str | None, subject: str) -> tuple[bytes, str]:
    message = EmailMessage()
    message_id = message_id_for(run, index)
    message["From"] = f"Customer {index} <{sender}>"
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = f"Re: {subject}" if original_id else subject
    message["Message-ID"] = message_id
    if original_id:
        message["In-Reply-To"] = original_id
        message["References"] = original_id
    text = (
        f"Hello,\n\nI am writing about my order #{100000 + index}. It was supposed to arrive last week but the "
        "tracking page has not changed for five days. Could you check with the carrier and let me know?\n\n"
        "Thanks,\nCustomer\n"
    )
    if original_id:
        text = "Any news on this? I still have not received anything.\n\n> " + text.replace("\n", "\n> ")
    message.set_content(text)
    if index % 2 == 0:
        html = text.replace("\n", "<br>\n")
        message.add_alternative(f"<html><body><p>{html}</p></body></html>", subtype="html", cte="quoted-printable")
    if index % 20 == 7:
        message.add_attachment(os.urandom(20_000), maintype="image", subtype="jpeg", filename=f"photo-{index}.jpg")
    # SMTP lines end in CRLF; smtplib sends bytes as they are, so the message must already use them.
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n")), message_id


@dataclass(frozen=True)
class Outgoing:
    index: int
    sender: str
    raw: bytes
    is_reply: bool
    original_index: int | None


def compose_batch(*, run: str, count: int, clients: int, reply_every: int, offset: int) -> list[list[Outgoing]]:
    """Every client's messages, composed before sending so the timed part is SMTP and ingest only."""
    plans = []
    for worker in range(clients):
        indexes = list(range(offset + worker, offset + count, clients))
        plan = []
        for position, index in enumerate(indexes):
            is_reply = position % reply_every == reply_every - 1 and position > 0
            original = indexes[position - 1] if is_reply else None
            thread_index = original if original is not None else index
            raw, _message_id = compose(
                run=run,
                index=index,
                sender=f"customer{thread_index}.{run}@example.com",
                original_id=message_id_for(run, original) if original is not None else None,
                subject=SUBJECTS[thread_index % len(SUBJECTS)].format(n=thread_index),
            )
            plan.append(Outgoing(index, f"customer{thread_index}.{run}@example.com", raw, is_reply, original))
        plans.append(plan)
    return plans


def send_batch(*, port: int, plans: list[list[Outgoing]], rate: float | None) -> tuple[Batch, float, float]:
    """Send each plan over its own connection, at once; optionally paced at ``rate`` messages/second overall."""
    batch = Batch()
    interval = len(plans) / rate if rate else 0.0

    def client(worker: int) -> None:
        cpu_started = time.thread_time()
        try:
            send_plan(worker)
        finally:
            batch.add_client_cpu(time.thread_time() - cpu_started)

    def send_plan(worker: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as connection:
            connection.ehlo("client.example.com")
            next_at = time.monotonic()
            for outgoing in plans[worker]:
                if interval:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
                started = time.time()
                connection.mail(outgoing.sender)
                connection.rcpt(SUPPORT_ADDRESS)
                code, reply = connection.data(outgoing.raw)
                answered = time.time()
                text = reply.decode(errors="replace")
                match = TICKET_IN_REPLY.search(text)
                batch.add(
                    Sent(
                        index=outgoing.index,
                        started=started,
                        answered=answered,
                        code=code,
                        reply=text,
                        ticket_number=int(match.group(1)) if match else None,
                        is_reply=outgoing.is_reply,
                        original_index=outgoing.original_index,
                    )
                )

    errors: list[BaseException] = []

    def guarded(worker: int) -> None:
        try:
            client(worker)
        except BaseException as error:
            errors.append(error)
            raise

    threads = [
        threading.Thread(target=guarded, args=(worker,), name=f"smtp-client-{worker}") for worker in range(len(plans))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} SMTP client(s) failed; the first: {errors[0]!r}") from errors[0]
    first = min(item.started for item in batch.sent)
    last = max(item.answered for item in batch.sent)
    return batch, first, last


def database_url(settings_dict: dict[str, Any], name: str) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = settings_dict.get("PORT") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    return f"postgres://{credentials}@{host}{':' + str(port) if port else ''}/{quote(name, safe='')}"


def start_worker(*, env: dict[str, str], log_path: Path, pool: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "--concurrency",
        "2",
        "--pool",
        pool,
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"bench-smtp-{os.getpid()}@%h",
    ]
    with log_path.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_listener_process(*, env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``manage.py smtp_inbound`` as deployed, in a process of its own; returns once it accepts connections."""
    command = [sys.executable, "manage.py", "smtp_inbound", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the SMTP listener exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                probe.noop()
            return process
        except OSError:
            time.sleep(0.2)
    stop_worker(process)
    raise RuntimeError("the SMTP listener did not accept connections in time")


def wait_for_worker(app: Any, name: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {process.returncode}")
        if app.control.ping(destination=[name], timeout=1.0):
            return
    raise RuntimeError("the Celery worker did not answer a ping in time")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only the worker and its children
        process.wait(timeout=10)


def acknowledgement_latencies(batch: Batch, *, timeout: float) -> tuple[dict[str, list[float]], float, float, int]:
    """Seconds to each new ticket's acknowledgement row and to that row's delivery.

    Counted from the 250 reply (when the helpdesk took the message) and, for delivery, also from
    the client's MAIL FROM: the sender's view, which includes any time the listener held the
    message while the workers were behind (channels_app.inbound_pacing).
    """
    from tickets.models import AutoAcknowledgement, MessageDelivery

    sent_by_number = {item.ticket_number: item for item in batch.sent if not item.is_reply and item.ticket_number}
    last_answer = max(item.answered for item in batch.sent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = MessageDelivery.objects.filter(
            status=MessageDelivery.Status.SENT,
            message__ticket__number__in=list(sent_by_number),
            message__is_automatic=True,
        ).count()
        if sent >= len(sent_by_number):
            break
        time.sleep(0.25)
    drained = time.time() - last_answer
    rows = AutoAcknowledgement.objects.filter(ticket__number__in=list(sent_by_number)).values_list(
        "ticket__number", "created_at", "message__delivery__sent_at"
    )
    latencies: dict[str, list[float]] = {"ack_created": [], "ack_sent": [], "ack_sent_since_mail_from": []}
    last_sent = 0.0
    for number, created_at, sent_at in rows:
        item = sent_by_number[number]
        latencies["ack_created"].append(created_at.timestamp() - item.answered)
        if sent_at is not None:
            latencies["ack_sent"].append(sent_at.timestamp() - item.answered)
            latencies["ack_sent_since_mail_from"].append(sent_at.timestamp() - item.started)
            last_sent = max(last_sent, sent_at.timestamp())
    # Whole batch, first MAIL FROM to last acknowledgement out: the rate the desk really kept up with.
    first_started = min(item.started for item in batch.sent)
    acknowledged_per_second = len(latencies["ack_sent"]) / (last_sent - first_started) if last_sent else 0.0
    return latencies, drained, acknowledged_per_second, len(sent_by_number)


def report_batch(label: str, batch: Batch, first: float, last: float, inbound: int, **extra: Any) -> None:
    elapsed = last - first
    failures = sum(1 for item in batch.sent if item.code != 250)
    replies = [item for item in batch.sent if item.is_reply]
    by_index = {item.index: item for item in batch.sent}
    threaded = sum(
        1
        for item in replies
        if item.original_index in by_index and item.ticket_number == by_index[item.original_index].ticket_number
    )
    smtp_ms = [(item.answered - item.started) * 1000 for item in batch.sent]
    rate = inbound / elapsed if elapsed > 0 else 0.0
    target = {"target": TARGET_PER_SECOND, "meets_target": rate >= TARGET_PER_SECOND} if label == "burst" else {}
    emit(BENCH, f"{label}_messages_sent", len(batch.sent), "messages", **extra)
    emit(BENCH, f"{label}_inbound_message_rows", inbound, "rows", **extra)
    failure_replies = sorted({f"{item.code} {item.reply}" for item in batch.sent if item.code != 250})
    emit(BENCH, f"{label}_failures", failures, "messages", replies=failure_replies[:3], **extra)
    emit(BENCH, f"{label}_replies_threaded", threaded, "messages", replies=len(replies), **extra)
    emit(BENCH, f"{label}_seconds", round(elapsed, 2), "s", **extra)
    emit(BENCH, f"{label}_messages_per_second", round(rate, 1), "messages/s", **target, **extra)
    emit(BENCH, f"{label}_smtp_transaction_p50", round(percentile(smtp_ms, 0.5), 1), "ms", **extra)
    emit(BENCH, f"{label}_smtp_transaction_p95", round(percentile(smtp_ms, 0.95), 1), "ms", **extra)


def report_latency(label: str, batch: Batch, *, timeout: float, **extra: Any) -> None:
    latencies, drained, acknowledged_per_second, expected = acknowledgement_latencies(batch, timeout=timeout)
    emit(BENCH, f"{label}_acknowledgements_sent", len(latencies["ack_sent"]), "messages", expected=expected, **extra)
    emit(BENCH, f"{label}_acknowledged_tickets_per_second", round(acknowledged_per_second, 1), "tickets/s", **extra)
    emit(BENCH, f"{label}_queue_drained_after_last_250", round(drained, 2), "s", **extra)
    for name, values in latencies.items():
        if not values:
            continue
        p95 = round(percentile(values, 0.95), 3)
        goal = {"target_s": TARGET_ACK_P95_S, "meets_target": p95 < TARGET_ACK_P95_S} if name == "ack_sent" else {}
        emit(BENCH, f"{label}_{name}_latency_p50", round(percentile(values, 0.5), 3), "s", **extra)
        emit(BENCH, f"{label}_{name}_latency_p95", p95, "s", **goal, **extra)
        emit(BENCH, f"{label}_{name}_latency_max", round(max(values), 3), "s", **extra)


def backend_cpu_seconds(application_name: str) -> float:
    """CPU of every PostgreSQL backend serving ``application_name`` on this database (persistent connections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [application_name],
        )
        pids = [row[0] for row in cursor.fetchall()]
    return sum(process_cpu_seconds(pid) or 0.0 for pid in pids)


@dataclass(frozen=True)
class CpuSnapshot:
    listener_app: float
    listener_db: float
    worker_app: float
    worker_db: float
    sink: float

    @classmethod
    def take(
        cls, worker: subprocess.Popen[bytes] | None, sink: Any = None, listener: subprocess.Popen[bytes] | None = None
    ) -> CpuSnapshot:
        return cls(
            listener_app=(process_cpu_seconds(listener.pid) or 0.0) if listener is not None else time.process_time(),
            listener_db=backend_cpu_seconds(LISTENER_APPLICATION),
            worker_app=process_tree_cpu_seconds(worker.pid) if worker else 0.0,
            worker_db=backend_cpu_seconds(WORKER_APPLICATION) if worker else 0.0,
            sink=thread_cpu_seconds(sink._thread) if sink is not None else 0.0,
        )


def thread_cpu_seconds(thread: threading.Thread | None) -> float:
    """User + system CPU of one thread of this process, from /proc (0 if it is gone)."""
    if thread is None or thread.native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report_cpu(
    label: str,
    *,
    start: CpuSnapshot,
    ingested: CpuSnapshot,
    drained: CpuSnapshot | None,
    messages: int,
    client_cpu_seconds: float,
    listener_apart: bool = False,
    **extra: Any,
) -> None:
    """CPU per message: the listener process (parsing, ingest, this bench's SMTP clients and sink) and its
    PostgreSQL backends while mail came in; the worker and its backends until the queue was empty.
    With a local database this is what 2 idle cores would have to spend, whatever else runs now.
    The bench's own SMTP clients and sink are also shown apart, and the listener without them."""
    if not database_is_local() or messages == 0:
        return
    per = 1000 / messages
    listener = {
        "listener_app": (ingested.listener_app - start.listener_app) * per,
        "listener_db": (ingested.listener_db - start.listener_db) * per,
    }
    for name, value in listener.items():
        emit(BENCH, f"{label}_{name}_cpu_per_message", round(value, 2), "ms", **extra)
    bench_side = client_cpu_seconds * per + (ingested.sink - start.sink) * per
    emit(BENCH, f"{label}_bench_clients_and_sink_cpu_per_message", round(bench_side, 2), "ms", **extra)
    # A listener in its own process is charged nothing of the bench's; in this process it shares it.
    listener_own = listener["listener_app"] if listener_apart else listener["listener_app"] - bench_side
    emit(BENCH, f"{label}_listener_own_cpu_per_message", round(listener_own, 2), "ms", **extra)
    cores = os.cpu_count() or 1
    ingest = listener_own + listener["listener_db"]
    emit(
        BENCH,
        f"{label}_ingest_capacity_estimate",
        round(cores * 1000 / ingest, 1) if ingest else None,
        "messages/s",
        note=f"{cores} idle cores spent only on the listener and its PostgreSQL backends (CPU per message)",
        **extra,
    )
    if drained is None:
        return
    worker = {
        "worker_app": (drained.worker_app - start.worker_app) * per,
        "worker_db": (drained.worker_db - start.worker_db) * per,
    }
    note = f"{cores} idle cores spent on ingest plus acknowledgement and delivery (CPU per message)"
    if worker["worker_db"] <= 0:
        # Celery closes the database connection after every task unless CELERY_DB_REUSE_MAX is set, so
        # the worker's backends are gone before they can be read.
        del worker["worker_db"]
        note += "; without the worker's PostgreSQL CPU (its connections close after each task)"
    for name, value in worker.items():
        emit(BENCH, f"{label}_{name}_cpu_per_message", round(value, 2), "ms", **extra)
    total = ingest + sum(worker.values())
    emit(
        BENCH,
        f"{label}_end_to_end_capacity_estimate",
        round(cores * 1000 / total, 1) if total else None,
        "messages/s",
        note=note,
        **extra,
    )


def clone_database(source: str, target: str) -> str:
    """``target`` as a copy of ``source`` (CREATE DATABASE ... TEMPLATE), then this process uses it."""
    from django.conf import settings
    from django.db import OperationalError, connection

    connection.close()
    for attempt in range(10):
        try:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
            break
        except OperationalError as error:  # someone (autovacuum) is connected to the source; try again
            if attempt == 9:
                raise RuntimeError(f"could not copy {source!r}: {error}") from error
            time.sleep(2)
    settings.DATABASES[connection.alias]["NAME"] = target
    connection.settings_dict["NAME"] = target
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--reply-every", type=int, default=5, help="every Nth message of a client is a reply")
    parser.add_argument("--with-worker", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--paced-rate", type=float, default=20.0, help="messages/s of the paced batch (0: none)")
    parser.add_argument("--paced-messages", type=int, default=600)
    parser.add_argument("--ack-timeout", type=float, default=600.0)
    parser.add_argument(
        "--worker-pool",
        default="prefork",
        choices=("prefork", "threads", "solo"),
        help="the worker's pool; prefork (the default, as deployed) keeps hard time limits and child isolation",
    )
    parser.add_argument(
        "--backlog-limit",
        type=int,
        help="owed acknowledgements over which the listener holds new mail (default: SMTP_INBOUND_BACKLOG_LIMIT; "
        "0: never; always 0 without a worker, since nothing would send them)",
    )
    parser.add_argument(
        "--listener",
        default="process",
        choices=("process", "in-process"),
        help="process (the default, as deployed): `manage.py smtp_inbound` in a process of its own; "
        "in-process: in this process, beside the bench's SMTP clients and sink",
    )
    parser.add_argument("--database-url", help="use this database (migrated, kept) instead of a fresh one")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--clone-seeded",
        action="store_true",
        help="make the fresh database a copy of the configured (seeded) one, so ingest works against its size",
    )
    args = parser.parse_args()

    configure_environment()
    media = tempfile.TemporaryDirectory(prefix="helpdesk-bench-media-")
    os.environ["MEDIA_ROOT"] = media.name  # attachments are written to disk; keep them out of var/
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.celery import app
    from tickets.models import Message

    # Every connection names itself, so the listener's backends' CPU can be found (with the listener in this
    # process, its threads' connections are this process's; apart, this process's own are not the listener's).
    own_application = LISTENER_APPLICATION if args.listener == "in-process" else "bench-smtp-clients"
    connection.settings_dict.setdefault("OPTIONS", {})["application_name"] = own_application
    original_name = connection.settings_dict["NAME"]
    fresh = not args.database_url
    if fresh and args.clone_seeded:
        name = clone_database(original_name, f"{original_name}_smtp_bench")
        call_command("migrate", verbosity=0, interactive=False)
    elif fresh:
        connection.settings_dict["TEST"]["NAME"] = f"{original_name}_smtp_bench"
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        call_command("migrate", verbosity=0, interactive=False)
        name = original_name
    log(f"smtp_inbound: using database {name!r}")
    emit_load(BENCH, "start")
    extra: dict[str, Any] = {"database": name, "clients": args.clients}
    worker = None
    sink = None
    listener = None
    listener_process: subprocess.Popen[bytes] | None = None
    try:
        purge_tasks(app)
        if args.with_worker:
            from aiosmtpd.controller import Controller

            sink_handler = SinkHandler()
            sink_port = free_port()
            sink = Controller(sink_handler, hostname="127.0.0.1", port=sink_port)
            sink.start()
            env = dict(
                os.environ,
                DATABASE_URL=database_url(connection.settings_dict, name) + f"?application_name={WORKER_APPLICATION}",
                REDIS_URL=settings.REDIS_URL,
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=str(sink_port),
            )
            log_path = Path(media.name) / "worker.log"
            worker = start_worker(env=env, log_path=log_path, pool=args.worker_pool)
            wait_for_worker(app, f"bench-smtp-{os.getpid()}@{socket.gethostname()}", worker)
            log("smtp_inbound: Celery worker ready")

        from channels_app.inbound_pacing import inbound_pacing_from_settings
        from channels_app.smtp_listener import smtp_controller

        backlog_limit = settings.SMTP_INBOUND_BACKLOG_LIMIT if args.backlog_limit is None else args.backlog_limit
        backlog_limit = backlog_limit if worker is not None else 0
        extra["backlog_limit"] = backlog_limit
        extra["listener"] = args.listener
        if worker is not None:
            extra["worker_pool"] = args.worker_pool
        port = free_port()
        if args.listener == "process":
            listener_process = start_listener_process(
                env=dict(
                    os.environ,
                    DATABASE_URL=database_url(connection.settings_dict, name)
                    + f"?application_name={LISTENER_APPLICATION}",
                    REDIS_URL=settings.REDIS_URL,
                    SMTP_INBOUND_BACKLOG_LIMIT=str(backlog_limit),
                ),
                port=port,
                log_path=Path(media.name) / "listener.log",
            )
            log("smtp_inbound: listener process ready")
        else:
            pacing = inbound_pacing_from_settings(limit=backlog_limit)
            listener = smtp_controller(host="127.0.0.1", port=port, pacing=pacing)
            listener.start()
        run = f"r{int(time.time())}"
        plans = compose_batch(
            run=run, count=args.messages, clients=args.clients, reply_every=args.reply_every, offset=0
        )
        before = Message.objects.filter(direction="inbound").count()
        start = CpuSnapshot.take(worker, sink, listener_process)
        batch, first, last = send_batch(port=port, plans=plans, rate=None)
        ingested = CpuSnapshot.take(worker, sink, listener_process)
        inbound = Message.objects.filter(direction="inbound").count() - before
        report_batch("burst", batch, first, last, inbound, with_worker=bool(worker), **extra)
        drained = None
        if worker is not None:
            report_latency("burst", batch, timeout=args.ack_timeout, **extra)
            drained = CpuSnapshot.take(worker, sink, listener_process)
        report_cpu(
            "burst",
            start=start,
            ingested=ingested,
            drained=drained,
            messages=inbound,
            client_cpu_seconds=batch.client_cpu_seconds,
            listener_apart=listener_process is not None,
            **extra,
        )
        if worker is not None:
            if args.paced_rate > 0 and args.paced_messages > 0:
                plans = compose_batch(
                    run=run,
                    count=args.paced_messages,
                    clients=args.clients,
                    reply_every=args.reply_every,
                    offset=args.messages,
                )
                before = Message.objects.filter(direction="inbound").count()
                paced, first, last = send_batch(port=port, plans=plans, rate=args.paced_rate)
                inbound = Message.objects.filter(direction="inbound").count() - before
                paced_extra = {**extra, "rate": args.paced_rate}
                report_batch("paced", paced, first, last, inbound, with_worker=True, **paced_extra)
                report_latency("paced", paced, timeout=args.ack_timeout, **paced_extra)
            emit(BENCH, "sink_messages_received", sink_handler.received, "messages", **extra)
    finally:
        if listener is not None:
            listener.stop()
            pacing.close()
        if listener_process is not None:
            stop_worker(listener_process)
            listener_log = (Path(media.name) / "listener.log").read_text(errors="replace").strip()
            if "Traceback" in listener_log:
                log("smtp_inbound: listener log (last lines):\n" + "\n".join(listener_log.splitlines()[-20:]))
        if worker is not None:
            stop_worker(worker)
            worker_log = (Path(media.name) / "worker.log").read_text(errors="replace").strip()
            if worker_log:
                log("smtp_inbound: worker log (last lines):\n" + "\n".join(worker_log.splitlines()[-20:]))
        if sink is not None:
            sink.stop()
        purge_tasks(app)
        if fresh and not args.keep_database:
            connection.close()
            connection.settings_dict["NAME"] = original_name
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        media.cleanup()
    emit_load(BENCH, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
