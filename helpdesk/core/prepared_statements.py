"""Server-side prepared statements for the few statements every inbound message runs.

PostgreSQL plans a statement each time it receives one as text; for the chained inserts of a new
ticket that planning costs more than running them. A statement run here is prepared once per
database session (``PREPARE``, on the first use in that session) and afterwards only executed
(``EXECUTE name(params)``): the plan is kept by the server, and PostgreSQL re-plans it by itself
when a table it reads changes.

A prepared statement belongs to the session, not to a transaction: a rollback keeps it. Which
sessions hold which statements is remembered per driver connection, so a connection that Django
replaces (expired, broken, closed) starts with none.

The ``PREPARE`` is sent through the driver's own cursor (under Django's error translation), once per
session like the time-zone setup Django runs on connect, so query counts (``assertNumQueries``, the
benchmarks) count one statement per ``EXECUTE``; a session that lives for one request only
(``CONN_MAX_AGE`` 0) pays a ``PREPARE`` round trip on each first use.

PostgreSQL re-plans a prepared statement when a table it reads changes, but refuses to run one whose
result columns changed type (a migration altered a column it returns: "cached plan must not change
result type"), and a statement the session no longer holds cannot run at all. Either error fails the
statement at hand; the session is then retired: its statements run unprepared until Django closes the
connection at the end of the request, task or message, and the next session prepares them afresh.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError
from psycopg2.extensions import TRANSACTION_STATUS_INERROR as _IN_ERROR

_PLACEHOLDER = re.compile(r"%%|%s")
_prepared_by_connection: weakref.WeakKeyDictionary[Any, set[str] | None] = weakref.WeakKeyDictionary()
# SQLSTATEs that say the session's prepared statements cannot be trusted: a result that changed type
# (feature_not_supported, as PostgreSQL reports it), a statement the session does not hold.
_STALE_STATEMENT_CODES = frozenset({"0A000", "26000"})
_sql_by_name: dict[str, str] = {}
_EXECUTE = re.compile(r"^EXECUTE (helpdesk_[0-9a-f]{24})\b")


def statement_name(sql: str) -> str:
    """A name for ``sql`` that is the same in every process (so a log line names one statement)."""
    return "helpdesk_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:24]


def _numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1 .. $n``; ``%%`` is a literal percent sign."""
    position = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal position
        if match.group() == "%%":
            return "%"
        position += 1
        return f"${position}"

    return _PLACEHOLDER.sub(replace, sql)


def execute_prepared(cursor: Any, sql: str, params: Sequence[Any], *, name: str | None = None) -> None:
    """Run ``sql`` (``%s`` placeholders, as for ``cursor.execute``) on a Django cursor, prepared.

    ``name`` is ``statement_name(sql)``; a caller that keeps the SQL can keep the name with it.
    """
    database = cursor.db
    raw_connection = database.connection
    prepared = _prepared_by_connection.get(raw_connection, set())
    if prepared is None:
        # A retired session: until it is closed, each statement is prepared under a name of its own and
        # let go after it ran (some statements need the types a prepared statement infers).
        once = f"helpdesk_once_{uuid.uuid4().hex}"
        _prepare(database, once, sql)
        try:
            _execute(cursor, once, params)
        finally:
            if not database.needs_rollback and raw_connection.get_transaction_status() != _IN_ERROR:
                with database.wrap_database_errors, raw_connection.cursor() as raw_cursor:
                    raw_cursor.execute(f"DEALLOCATE {once}")
        return
    name = name or statement_name(sql)
    if name not in prepared:
        _prepare(database, name, sql)
        prepared.add(name)
        _prepared_by_connection[raw_connection] = prepared
        _sql_by_name[name] = sql
    try:
        _execute(cursor, name, params)
    except DatabaseError as error:
        if getattr(error.__cause__, "pgcode", None) in _STALE_STATEMENT_CODES:
            _retire(database)
        raise


def _prepare(database: Any, name: str, sql: str) -> None:
    database.validate_no_broken_transaction()
    with database.wrap_database_errors, database.connection.cursor() as raw_cursor:
        raw_cursor.execute(f"PREPARE {name} AS {_numbered(sql)}")


def _execute(cursor: Any, name: str, params: Sequence[Any]) -> None:
    if params:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
    else:
        cursor.execute(f"EXECUTE {name}")


def _retire(database: Any) -> None:
    """Stop preparing on this session, and have Django close it when the request, task or message ends."""
    _prepared_by_connection[database.connection] = None
    database.close_at = time.monotonic()


def executed_sql(logged: str) -> str:
    """The statement behind a logged ``EXECUTE helpdesk_...`` (query logs, tests); other SQL as it is."""
    match = _EXECUTE.match(logged)
    return _sql_by_name.get(match.group(1), logged) if match else logged
