"""The beat schedule as beat stores it (DatabaseScheduler): every entry, with its expiry kept."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from helpdesk.celery import app

# DatabaseScheduler closes the connection it finds, as beat does between ticks: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _stored_schedule():
    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.update_from_dict(settings.CELERY_BEAT_SCHEDULE)
    return {task.name: task for task in PeriodicTask.objects.filter(name__in=list(settings.CELERY_BEAT_SCHEDULE))}


def test_every_entry_is_stored_for_a_task_the_worker_knows():
    stored = _stored_schedule()

    assert set(stored) == set(settings.CELERY_BEAT_SCHEDULE)
    app.loader.import_default_modules()
    for name, task in stored.items():
        assert task.task == settings.CELERY_BEAT_SCHEDULE[name]["task"]
        assert task.task in app.tasks, f"{name} names an unknown task {task.task}"


def test_jobs_that_run_often_expire_unstarted_so_a_backlog_never_runs_them_twice_over():
    stored = _stored_schedule()

    minute_jobs = (
        "sla-send-warnings",
        "sla-mark-breaches",
        "poll-imap-mailboxes",
        "acknowledgement-requests-requeue-stale",
    )
    for name in minute_jobs:
        task = stored[name]
        assert task.expire_seconds is not None, name
        assert task.expire_seconds < 60, name
        assert ModelEntry(task, app=app).options["expires"] == task.expire_seconds, name


def test_the_waiting_queue_safety_net_runs_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["assign-waiting-everywhere"]

    assert entry["task"] == "tickets.tasks.assign_waiting_tickets_everywhere_task"
    assert entry["schedule"].minute == set(range(0, 60, 5))
