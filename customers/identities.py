"""Finding the customer behind an email address, phone number or social handle."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import connection

from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from helpdesk.core.chained_insert import ChildRow, UnlessFound, insert_with_children
from helpdesk.core.exceptions import ApplicationError
from helpdesk.core.prepared_statements import execute_prepared, statement_name

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)


class InvalidIdentityError(ApplicationError):
    """An email address or phone number that cannot be normalised."""


def identity_value_normalize(*, kind: str, value: str) -> str:
    """Emails lower-cased, phones in E.164, so one person's identity is stored one way.

    Strict: a phone number not in international form is refused (what the store sends is checked).
    """
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    if kind in _PHONE_KINDS:
        compact = _PHONE_SEPARATORS.sub("", value)
        if compact.startswith("00"):
            compact = f"+{compact[2:]}"
        if not _E164.match(compact):
            raise InvalidIdentityError(
                f"{value!r} is not a phone number in international form; send it as E.164, e.g. +14155550123."
            )
        return compact
    return value


def identity_normalise(*, kind: str, value: str) -> str:
    """The same form for an inbound sender, which is never refused: a phone number that is not E.164
    keeps its digits behind a plus, so the message is still recorded (and matched the next time)."""
    try:
        return identity_value_normalize(kind=kind, value=value)
    except InvalidIdentityError:
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"+{digits}" if digits else value.strip()


# Table names and columns come from the models; every value is a query parameter.
_CUSTOMERS, _IDENTITIES = Customer._meta.db_table, CustomerIdentity._meta.db_table
_CUSTOMER_FIELDS = tuple(Customer._meta.concrete_fields)
_CUSTOMER_ATTNAMES = [f.attname for f in _CUSTOMER_FIELDS]
# One join read as a Customer: this runs for every inbound message, where building the ORM's
# select_related query would cost more than running it. Columns are named, not ``customer.*``, so a
# column added by a migration does not change what the prepared statement returns.
_OWNER_COLUMNS = ", ".join(f'customer."{f.column}"' for f in _CUSTOMER_FIELDS)
_OWNER = (
    f"SELECT {_OWNER_COLUMNS}"  # noqa: S608
    f" FROM {_CUSTOMERS} customer JOIN {_IDENTITIES} identity"
    " ON identity.customer_id = customer.id WHERE identity.kind = %s AND identity.value = %s"
)
_OWNER_NAME = statement_name(_OWNER)
_DROP_UNCLAIMED = f"DELETE FROM {_CUSTOMERS} WHERE id = %s"  # noqa: S608


def _customer_from_row(row: tuple) -> Customer:
    values = [
        f.from_db_value(value, None, connection) if hasattr(f, "from_db_value") else value
        for f, value in zip(_CUSTOMER_FIELDS, row, strict=True)
    ]
    return Customer.from_db(connection.alias, _CUSTOMER_ATTNAMES, values)


def _identity_owner(*, kind: str, value: str) -> Customer | None:
    with connection.cursor() as cursor:
        execute_prepared(cursor, _OWNER, [kind, value], name=_OWNER_NAME)
        row = cursor.fetchone()
    return None if row is None else _customer_from_row(row)


def customer_find_or_create_by_identity(
    *,
    kind: str,
    value: str,
    name: str = "",
    language: str | None = None,
    with_a_new_customer: Sequence[ChildRow] = (),
) -> tuple[Customer, bool]:
    """Return the customer who owns this identity, creating both when it is new.

    One statement either way: it looks the identity up and, only when nobody owns it, writes the
    customer and the claim on the identity. Safe under concurrent calls for the same identity: the
    unique (kind, value) constraint decides the winner. A concurrent claim makes this claim wait for
    the other transaction and then insert nothing (ON CONFLICT DO NOTHING) instead of failing the
    whole transaction; the loser removes the customer it had just created and reads the winner's.

    ``with_a_new_customer``: rows pointing to the customer (``parent_field`` names the foreign key)
    written in the same statement, only if this call creates the customer; each row's ``inserted``
    says whether it was.
    """
    normalised = identity_normalise(kind=kind, value=value)
    customer = Customer(name=name.strip()[:200], language=language or "en")
    identity = CustomerIdentity(customer=customer, kind=kind, value=normalised, is_primary=True)
    claim = ChildRow(identity, "customer", ignore_conflicts=True)
    for row in with_a_new_customer:
        row.only_after = claim
    owner = UnlessFound(_OWNER, [kind, normalised], width=len(_CUSTOMER_FIELDS))
    if not insert_with_children(customer, [claim, *with_a_new_customer], unless=owner):
        assert owner.row is not None  # noqa: S101 - set when something was found
        return _customer_from_row(owner.row), False
    if claim.inserted:
        return customer, True
    with connection.cursor() as cursor:
        cursor.execute(_DROP_UNCLAIMED, [customer.pk])
    winner = _identity_owner(kind=kind, value=normalised)
    if winner is None:  # the identity was removed again in between (its customer deleted): start over
        return customer_find_or_create_by_identity(
            kind=kind, value=value, name=name, language=language, with_a_new_customer=with_a_new_customer
        )
    return winner, False
