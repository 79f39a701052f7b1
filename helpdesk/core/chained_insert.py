"""Insert a row and the rows that point to it in one statement (a chain of data-modifying CTEs).

A new ticket is a ticket, its first message and the acknowledgement it is owed; a new customer is
a customer and the identity that found them. Each is written on the hot path of every inbound
channel, where one round trip and one statement cost less than three. The SQL of each insert is
Django's own (the same defaults, ``auto_now`` stamps, ``db_default`` expressions and value
preparation as ``Model.save``); each child's foreign key is the parent's new id, read from the
parent's ``RETURNING`` inside the same statement.

Django's insert compiler builds that SQL once for each shape of row (which fields hold plain values
and which hold database expressions such as a ``db_default``); later rows of the same shape reuse
it and only prepare their values, and the whole statement runs as a server-side prepared statement
(``helpdesk.core.prepared_statements``). The first row of each shape checks that values prepared
this way are exactly those the compiler produced; a shape that does not check out is compiled for
every row instead.

Like ``bulk_create``, this sends no ``pre_save``/``post_save`` signals: use it only for models
nothing listens to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.constants import OnConflict
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.db.models.sql import InsertQuery

from helpdesk.core.prepared_statements import execute_prepared, statement_name

_PARENT = "chain_parent"


@dataclass(eq=False)
class ChildRow:
    """A row inserted with the parent; ``parent_field`` names its foreign key to it.

    ``children`` point to this row and are written with it. ``only_after`` names a row written
    earlier in the same statement: this one (and its children) is written only if that one was.
    """

    obj: Model
    parent_field: str
    ignore_conflicts: bool = False  # ON CONFLICT DO NOTHING: then ``inserted`` says whether it was written
    overrides: Mapping[str, Any] = field(default_factory=dict)  # set after Django's stamps, as for the parent
    children: Sequence[ChildRow] = ()
    only_after: ChildRow | None = None
    inserted: bool = field(default=False, init=False)


@dataclass(frozen=True)
class _InsertPlan:
    """One row's INSERT as the compiler wrote it, and how to prepare another row's values for it."""

    sql: str
    fields: tuple[Field, ...]
    expression_params: tuple[tuple[Any, ...] | None, ...]  # per field: an expression's own params, or None
    returning: tuple[Field, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]

    def params(self, obj: Model, connection: Any) -> list[Any]:
        params: list[Any] = []
        for model_field, fixed in zip(self.fields, self.expression_params, strict=True):
            if fixed is None:
                params.append(model_field.get_db_prep_save(getattr(obj, model_field.attname), connection=connection))
            else:
                params.extend(fixed)
        return params


_plans: dict[tuple[Any, ...], _InsertPlan] = {}  # a shape that does not check out is never kept
_statements: dict[tuple[Any, ...], tuple[str, str]] = {}  # the chain's SQL and its prepared name
_insertable: dict[type[Model], tuple[Field, ...]] = {}


def _insertable_fields(model: type[Model]) -> tuple[Field, ...]:
    fields = _insertable.get(model)
    if fields is None:
        meta = model._meta
        fields = tuple(f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field)
        _insertable[model] = fields
    return fields


def _shape(obj: Model, fields: tuple[Field, ...], connection: Any, ignore_conflicts: bool) -> tuple[Any, ...] | None:
    """What decides the SQL of ``obj``'s insert; None when an expression in it is compiled for it alone."""
    shape: list[Any] = [type(obj), connection.alias, ignore_conflicts]
    for model_field in fields:
        value = getattr(obj, model_field.attname)
        if not hasattr(value, "as_sql"):
            shape.append(None)
        elif isinstance(value, DatabaseDefault):
            shape.append("db_default")  # the field's own db_default: one expression per field
        elif value is model_field.db_default:
            shape.append("db_default_inline")
        elif isinstance(value, RawSQL):
            shape.append(("raw", value.sql, tuple(value.params)))
        else:
            return None
    return tuple(shape)


def _stamped(obj: Model, overrides: Mapping[str, Any], *, inline_defaults: bool = False) -> tuple[Field, ...]:
    meta = obj._meta
    if obj.pk is not None or meta.auto_field is None:
        raise ValueError(f"{meta.label} rows are inserted here with a new id from the database, not one given.")
    fields = _insertable_fields(type(obj))
    for model_field in fields:
        value = model_field.pre_save(obj, add=True)  # what Model.save does first: auto_now stamps
        if inline_defaults and isinstance(value, DatabaseDefault):
            # INSERT ... SELECT has no DEFAULT keyword: the column's default expression itself.
            setattr(obj, model_field.attname, model_field.db_default)
    for attname, value in overrides.items():
        setattr(obj, attname, value)
    return fields


def _same_param(left: Any, right: Any) -> bool:
    # Adapted values (a JSON document) compare by what they wrap.
    return type(left) is type(right) and getattr(left, "adapted", left) == getattr(right, "adapted", right)


def _compile(
    obj: Model, fields: tuple[Field, ...], connection: Any, ignore_conflicts: bool
) -> tuple[_InsertPlan, list[Any], bool]:
    """The compiler's SQL and params for ``obj``, and whether another row's values can be prepared for it."""
    meta = obj._meta
    query = InsertQuery(type(obj), on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    query.insert_values(list(fields), [obj], raw=True)  # raw: the stamps are already set
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = meta.db_returning_fields
    [(sql, compiled)] = compiler.as_sql()
    returning = tuple(meta.db_returning_fields)
    columns = [returned.get_col(meta.db_table) for returned in returning]
    converters = tuple(
        (position, tuple(convs), column) for position, (convs, column) in compiler.get_converters(columns).items()
    )
    expression_params: list[tuple[Any, ...] | None] = []
    reusable = True
    for model_field in fields:
        value = getattr(obj, model_field.attname)
        if hasattr(value, "as_sql"):
            _sql, params = compiler.field_as_sql(model_field, None, compiler.prepare_value(model_field, value))
            expression_params.append(tuple(params))
        else:
            reusable = reusable and getattr(model_field, "get_placeholder", None) is None
            expression_params.append(None)
    plan = _InsertPlan(sql, fields, tuple(expression_params), returning, converters)
    if reusable:
        prepared = plan.params(obj, connection)
        reusable = len(prepared) == len(compiled) and all(map(_same_param, prepared, compiled))
    return plan, list(compiled), reusable


def _insert_for(
    obj: Model,
    *,
    connection: Any,
    overrides: Mapping[str, Any],
    ignore_conflicts: bool = False,
    inline_defaults: bool = False,
) -> tuple[_InsertPlan, list[Any], tuple[Any, ...] | None]:
    """The INSERT for ``obj``, its params, and its shape when the SQL is kept for rows like it."""
    fields = _stamped(obj, overrides, inline_defaults=inline_defaults)
    shape = _shape(obj, fields, connection, ignore_conflicts)
    plan = _plans.get(shape) if shape is not None else None
    if plan is not None:
        return plan, plan.params(obj, connection), shape
    plan, params, reusable = _compile(obj, fields, connection, ignore_conflicts)
    if shape is None or not reusable:
        return plan, params, None
    _plans[shape] = plan
    return plan, params, shape


def _assign_returned(obj: Model, plan: _InsertPlan, values: Sequence[Any], connection: Any) -> None:
    values = list(values)
    for position, convs, column in plan.converters:
        value = values[position]
        for converter in convs:
            value = converter(value, column, connection)
        values[position] = value
    for returned, value in zip(plan.returning, values, strict=True):
        setattr(obj, returned.attname, value)
    obj._state.adding = False
    obj._state.db = connection.alias


@dataclass
class UnlessFound:
    """A query run first in the same statement: when it finds a row, nothing is inserted.

    ``row`` is then the row it found (its columns in order); it stays None when the rows were inserted.
    """

    sql: str
    params: Sequence[Any]
    width: int  # how many columns the query returns
    row: tuple[Any, ...] | None = field(default=None, init=False)


_EXISTING = "chain_existing"


def _only_if(sql: str, condition: str) -> str:
    """A single-row ``INSERT ... VALUES (...)`` that inserts only when ``condition`` holds."""
    head, values = sql.split(" VALUES (", 1)
    end = -1
    for clause in (") ON CONFLICT", ") RETURNING"):
        end = values.find(clause)
        if end != -1:
            break
    if end == -1:
        end = values.rindex(")")
    # INSERT ... SELECT infers each placeholder's type from its target column, as VALUES does, when prepared.
    return f"{head} SELECT {values[:end]} WHERE {condition}{values[end + 1 :]}"


_pointers: dict[str, RawSQL] = {}


def _pointer(connection: Any, cte: str, pk_column: str) -> RawSQL:
    """A row's new id, as a row pointing to it reads it inside the statement."""
    key = f"{cte}.{pk_column}"
    expression = _pointers.get(key)
    if expression is None:
        quote = connection.ops.quote_name
        sql = f"(SELECT {quote(pk_column)} FROM {quote(cte)})"  # noqa: S608 - names only
        expression = _pointers[key] = RawSQL(sql, ())  # noqa: S611
    return expression


@dataclass(eq=False)
class _Node:
    """One row of the chain: its CTE, the row it points to, and what its insert waits on."""

    obj: Model
    cte: str
    plan: _InsertPlan
    params: list[Any]
    shape: tuple[Any, ...] | None
    conditions: tuple[str, ...] = ()  # all must hold for the row to be written
    parent: _Node | None = None
    row: ChildRow | None = None  # None for the chain's first row
    ignore_conflicts: bool = False

    @property
    def may_skip(self) -> bool:
        return bool(self.conditions) or self.ignore_conflicts

    @property
    def sql(self) -> str:
        return _only_if(self.plan.sql, " AND ".join(self.conditions)) if self.conditions else self.plan.sql


def _nodes(
    parent: Model,
    children: Sequence[ChildRow],
    connection: Any,
    overrides: Mapping[str, Any],
    unless: UnlessFound | None,
) -> list[_Node]:
    quote = connection.ops.quote_name
    plan, params, shape = _insert_for(
        parent, connection=connection, overrides=overrides, inline_defaults=unless is not None
    )
    conditions = (f"NOT EXISTS (SELECT FROM {quote(_EXISTING)})",) if unless is not None else ()
    root = _Node(parent, _PARENT, plan, params, shape, conditions)
    nodes = [root]
    by_row: dict[int, _Node] = {}

    def add(rows: Sequence[ChildRow], parent_node: _Node) -> None:
        for child in rows:
            extra = dict(child.overrides)
            foreign_key = child.obj._meta.get_field(child.parent_field)
            extra[foreign_key.attname] = _pointer(connection, parent_node.cte, parent_node.obj._meta.pk.column)
            conditions = []
            if parent_node.may_skip:
                conditions.append(f"EXISTS (SELECT FROM {quote(parent_node.cte)})")
            if child.only_after is not None:
                conditions.append(f"EXISTS (SELECT FROM {quote(by_row[id(child.only_after)].cte)})")
            plan, params, shape = _insert_for(
                child.obj,
                connection=connection,
                overrides=extra,
                ignore_conflicts=child.ignore_conflicts,
                inline_defaults=bool(conditions),
            )
            node = _Node(
                child.obj,
                f"chain_row_{len(nodes)}",
                plan,
                params,
                shape,
                tuple(conditions),
                parent_node,
                child,
                child.ignore_conflicts,
            )
            nodes.append(node)
            by_row[id(child)] = node
            add(child.children, node)

    add(children, root)
    return nodes


def _chain_sql(nodes: Sequence[_Node], connection: Any, unless: UnlessFound | None) -> str:
    quote = connection.ops.quote_name
    pieces, columns = [], []
    if unless is not None:
        existing = quote(_EXISTING)
        pieces.append(f"{existing} AS ({unless.sql} LIMIT 1)")
        columns.append(f"(SELECT count(*) FROM {existing})")  # noqa: S608
    pieces += [f"{quote(node.cte)} AS ({node.sql})" for node in nodes]
    root = nodes[0]
    columns += [f"(SELECT {quote(f.column)} FROM {quote(root.cte)})" for f in root.plan.returning]  # noqa: S608
    # A row that was skipped (ON CONFLICT DO NOTHING, a condition) returns nothing: read as a count and values.
    for node in nodes[1:]:
        name = quote(node.cte)
        columns.append(f"(SELECT count(*) FROM {name})")  # noqa: S608
        columns.extend(f"(SELECT {quote(f.column)} FROM {name})" for f in node.plan.returning)  # noqa: S608
    select = f"SELECT {', '.join(columns)}"
    if unless is not None:
        # The row found, beside the counts and the new ids: one row either way.
        select += f", found.* FROM (SELECT 1) AS one LEFT JOIN {quote(_EXISTING)} AS found ON true"
    return f"WITH {', '.join(pieces)} {select}"


def insert_with_children(
    parent: Model,
    children: Sequence[ChildRow] = (),
    *,
    overrides: Mapping[str, Any] | None = None,
    unless: UnlessFound | None = None,
) -> bool:
    """Insert ``parent`` and each child (and theirs) in one statement; every object written gets its new
    id, as after save().

    ``overrides`` set fields after Django's stamps (a message's ``created_at`` is when the customer
    wrote, not when it was stored); each child carries its own. ``unless``: a query that, when it
    finds a row, stops anything being inserted (find-or-create in one round trip); then this
    returns False and ``unless.row`` holds what it found. Otherwise it returns True.
    """
    connection = connections[router.db_for_write(type(parent))]
    nodes = _nodes(parent, children, connection, overrides or {}, unless)
    params = list(unless.params) if unless is not None else []
    for node in nodes:
        params.extend(node.params)
    shapes = [node.shape for node in nodes]
    with connection.cursor() as cursor:
        if None in shapes:
            if unless is not None:
                raise ValueError("A find-or-create insert runs prepared: every row's SQL must be reusable.")
            cursor.execute(_chain_sql(nodes, connection, unless), params)
        else:
            key = (
                tuple(shapes),
                tuple((node.cte, node.parent.cte if node.parent else None, node.conditions) for node in nodes),
                unless.sql if unless is not None else None,
            )
            statement = _statements.get(key)
            if statement is None:
                sql = _chain_sql(nodes, connection, unless)
                statement = _statements[key] = (sql, statement_name(sql))
            execute_prepared(cursor, statement[0], params, name=statement[1])
        row = list(cursor.fetchone())
    if unless is not None:
        found, row = row[0], row[1:]
        if found:
            unless.row = tuple(row[len(row) - unless.width :])
            return False
    root = nodes[0]
    position = len(root.plan.returning)
    _assign_returned(parent, root.plan, row[:position], connection)
    for node in nodes[1:]:
        assert node.row is not None  # noqa: S101 - every row but the first has one
        assert node.parent is not None  # noqa: S101 - and a row it points to
        width = len(node.plan.returning)
        node.row.inserted = bool(row[position])
        foreign_key = node.obj._meta.get_field(node.row.parent_field)
        setattr(node.obj, foreign_key.attname, node.parent.obj.pk)
        foreign_key.set_cached_value(node.obj, node.parent.obj)
        if node.row.inserted:
            _assign_returned(node.obj, node.plan, row[position + 1 : position + 1 + width], connection)
        position += 1 + width
    return True
