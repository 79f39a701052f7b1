"""A worker keeps its database connection between tasks, for CONN_MAX_AGE, as Django does between requests."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tests.realtime.test_worker import acknowledgement_sent, inbound_email, wait_for
from tests.support.celery_worker import CeleryWorkerProcess
from tests.support.processes import database_url_for_children
from tickets.models import AutoAcknowledgement
from tickets.services.ingest import ingest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker_backends(application_name: str) -> list[tuple[int, object]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s ORDER BY backend_start",
            [application_name],
        )
        return list(cursor.fetchall())


@pytest.fixture
def reusing_worker():
    application_name = f"worker-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorkerProcess(
        extra_environment={
            "DATABASE_URL": f"{database_url_for_children()}?application_name={application_name}",
            "TEST_WORKER_CONN_MAX_AGE": "60",
        }
    )
    worker.start()
    yield worker, application_name
    worker.stop()


def test_three_acknowledgements_run_on_one_database_connection(reusing_worker):
    _worker, application_name = reusing_worker
    tickets = []
    for subject in ("Damaged", "Late", "Wrong size"):
        ticket = ingest(inbound=inbound_email(subject)).ticket
        # One at a time, so each acknowledgement is its own task run.
        wait_for(lambda ticket=ticket: acknowledgement_sent(ticket), what=f"the acknowledgement of {subject!r}")
        tickets.append(ticket)

    backends = _worker_backends(application_name)
    first_acknowledged = AutoAcknowledgement.objects.filter(ticket=tickets[0]).values_list("created_at", flat=True)

    # Celery's own default would have closed it after each task: nothing would be left open now.
    assert len(backends) == 1
    assert backends[0][1] < first_acknowledged.get()  # opened before the first task, and still the one in use


def test_a_kept_connection_the_server_dropped_is_replaced_before_the_next_task(reusing_worker):
    _worker, application_name = reusing_worker
    first = ingest(inbound=inbound_email("Damaged")).ticket
    wait_for(lambda: acknowledgement_sent(first), what="the first acknowledgement")
    [(dropped_pid, _started)] = _worker_backends(application_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dropped_pid])

    second = ingest(inbound=inbound_email("Late")).ticket
    wait_for(lambda: acknowledgement_sent(second), what="the acknowledgement after the dropped connection")

    assert [pid for pid, _started in _worker_backends(application_name)] not in ([], [dropped_pid])
    assert AutoAcknowledgement.objects.filter(ticket__in=[first, second]).count() == 2
