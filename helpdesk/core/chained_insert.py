"""Insert a row and the rows that point to it in one statement (a chain of data-modifying CTEs).

A new ticket is a ticket, its first message and the acknowledgement it is owed; a new customer is
a customer and the identity that found them. Each is written on the hot path of every inbound
channel, where one round trip and one statement cost less than three. The SQL of each insert is
Django's own (the same defaults, ``auto_now`` stamps, ``db_default`` expressions and value
preparation as ``Model.save``); each child's foreign key is the parent's new id, read from the
parent's ``RETURNING`` inside the same statement.

Like ``bulk_create``, this sends no ``pre_save``/``post_save`` signals: use it only for models
nothing listens to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery

_PARENT = "chain_parent"


@dataclass
class ChildRow:
    """A row inserted with the parent; ``parent_field`` names its foreign key to it."""

    obj: Model
    parent_field: str
    ignore_conflicts: bool = False  # ON CONFLICT DO NOTHING: then ``inserted`` says whether it was written
    overrides: Mapping[str, Any] = field(default_factory=dict)  # set after Django's stamps, as for the parent
    inserted: bool = field(default=False, init=False)


def _insert_sql(
    obj: Model,
    *,
    connection: Any,
    overrides: Mapping[str, Any],
    ignore_conflicts: bool = False,
) -> tuple[str, tuple[Any, ...], Any]:
    meta = obj._meta
    if obj.pk is not None or meta.auto_field is None:
        raise ValueError(f"{meta.label} rows are inserted here with a new id from the database, not one given.")
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    for model_field in fields:
        model_field.pre_save(obj, add=True)  # what Model.save does first: auto_now stamps
    for attname, value in overrides.items():
        setattr(obj, attname, value)
    query = InsertQuery(type(obj), on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    query.insert_values(fields, [obj], raw=True)  # raw: the stamps above are already set
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = meta.db_returning_fields
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params), compiler


def _assign_returned(obj: Model, compiler: Any, values: Sequence[Any], connection: Any) -> None:
    returning = obj._meta.db_returning_fields
    columns = [returned.get_col(obj._meta.db_table) for returned in returning]
    [converted] = compiler.apply_converters([list(values)], compiler.get_converters(columns))
    for returned, value in zip(returning, converted, strict=True):
        setattr(obj, returned.attname, value)
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_with_children(
    parent: Model,
    children: Sequence[ChildRow] = (),
    *,
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``parent`` and each child in one statement; every object gets its new id, as after save().

    ``overrides`` set fields after Django's stamps (a message's ``created_at`` is when the customer
    wrote, not when it was stored); each child carries its own.
    """
    using = router.db_for_write(type(parent))
    connection = connections[using]
    parent_sql, parent_params, parent_compiler = _insert_sql(parent, connection=connection, overrides=overrides or {})
    parent_pk = connection.ops.quote_name(parent._meta.pk.column)
    pieces = [f"{connection.ops.quote_name(_PARENT)} AS ({parent_sql})"]
    params: list[Any] = list(parent_params)
    child_compilers = []
    for index, child in enumerate(children):
        extra = dict(child.overrides)
        parent_id = f"(SELECT {parent_pk} FROM {connection.ops.quote_name(_PARENT)})"  # noqa: S608 - names only
        extra[child.obj._meta.get_field(child.parent_field).attname] = RawSQL(parent_id, ())  # noqa: S611
        sql, child_params, compiler = _insert_sql(
            child.obj, connection=connection, overrides=extra, ignore_conflicts=child.ignore_conflicts
        )
        pieces.append(f"{connection.ops.quote_name(f'chain_child_{index}')} AS ({sql})")
        params.extend(child_params)
        child_compilers.append(compiler)
    parent_columns = [
        f"(SELECT {connection.ops.quote_name(f.column)} FROM {connection.ops.quote_name(_PARENT)})"  # noqa: S608
        for f in parent._meta.db_returning_fields
    ]
    # A child whose insert was skipped (ON CONFLICT DO NOTHING) returns no row: read as a count and a value.
    child_columns = []
    for index, child in enumerate(children):
        name = connection.ops.quote_name(f"chain_child_{index}")
        child_columns.append(f"(SELECT count(*) FROM {name})")  # noqa: S608
        child_columns.extend(
            f"(SELECT {connection.ops.quote_name(f.column)} FROM {name})"  # noqa: S608
            for f in child.obj._meta.db_returning_fields
        )
    statement = f"WITH {', '.join(pieces)} SELECT {', '.join(parent_columns + child_columns)}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = list(cursor.fetchone())
    position = len(parent._meta.db_returning_fields)
    _assign_returned(parent, parent_compiler, row[:position], connection)
    for child, compiler in zip(children, child_compilers, strict=True):
        width = len(child.obj._meta.db_returning_fields)
        child.inserted = bool(row[position])
        foreign_key = child.obj._meta.get_field(child.parent_field)
        setattr(child.obj, foreign_key.attname, parent.pk)
        foreign_key.set_cached_value(child.obj, parent)
        if child.inserted:
            _assign_returned(child.obj, compiler, row[position + 1 : position + 1 + width], connection)
        position += 1 + width
