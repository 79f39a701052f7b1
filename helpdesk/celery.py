"""The Celery application: configuration comes from Django settings under the CELERY_ prefix."""

import os
from typing import Any

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_per_task(sender: Any = None, **_kwargs: Any) -> None:
    """Each task gets the connection lifecycle Django gives each request.

    Celery's Django fixup closes every database connection before and after each task unless
    CELERY_DB_REUSE_MAX is set (it is, in settings), so every acknowledgement used to open a new
    PostgreSQL connection: a server process forked and authenticated for a few milliseconds of work.
    Here a connection is kept while it is younger than CONN_MAX_AGE and passes the health check
    (CONN_HEALTH_CHECKS) that Django runs on its next use; a broken or old one is closed. Tasks
    run eagerly (inside a caller's transaction) are left alone, as the fixup leaves them.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
