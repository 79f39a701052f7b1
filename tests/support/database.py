"""Helpers for tests that run transactions side by side on the real database."""

from __future__ import annotations

import time

from django.db import connection


def wait_for_a_blocked_query(timeout: float = 10.0) -> bool:
    """Whether another session of this test database comes to wait on a lock within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False
