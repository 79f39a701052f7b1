"""Server-side prepared statements for the few statements every inbound message runs.

PostgreSQL plans a statement each time it receives one as text; for the chained inserts of a new
ticket that planning costs more than running them. A statement run here is prepared once per
database session (``PREPARE``, on the first use in that session) and afterwards only executed
(``EXECUTE name(params)``): the plan is kept by the server, and PostgreSQL re-plans it by itself
when a table it reads changes.

A prepared statement belongs to the session, not to a transaction: a rollback keeps it. Which
sessions hold which statements is remembered per driver connection, so a connection that Django
replaces (expired, broken, closed) starts with none.

The ``PREPARE`` is sent through the driver's own cursor, once per session like the time-zone setup
Django runs on connect, so query counts (``assertNumQueries``, the benchmarks) see what each
request costs: one statement per ``EXECUTE``.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Sequence
from typing import Any

_PLACEHOLDER = re.compile(r"%%|%s")
_prepared_by_connection: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
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
    name = name or statement_name(sql)
    raw_connection = cursor.db.connection
    prepared = _prepared_by_connection.get(raw_connection)
    if prepared is None:
        prepared = _prepared_by_connection[raw_connection] = set()
    if name not in prepared:
        with raw_connection.cursor() as raw_cursor:
            raw_cursor.execute(f"PREPARE {name} AS {_numbered(sql)}")
        prepared.add(name)
        _sql_by_name[name] = sql
    if params:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
    else:
        cursor.execute(f"EXECUTE {name}")


def executed_sql(logged: str) -> str:
    """The statement behind a logged ``EXECUTE helpdesk_...`` (query logs, tests); other SQL as it is."""
    match = _EXECUTE.match(logged)
    return _sql_by_name.get(match.group(1), logged) if match else logged
