"""Finding the customer behind an email address, phone number or social handle."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity


def identity_normalise(*, kind: str, value: str) -> str:
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    if kind in {IdentityKind.PHONE, IdentityKind.WHATSAPP}:
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"+{digits}" if digits else value
    return value


def customer_find_or_create_by_identity(
    *, kind: str, value: str, name: str = "", language: str | None = None
) -> tuple[Customer, bool]:
    """Return the customer who owns this identity, creating both when it is new.

    Safe under concurrent calls for the same identity: the unique (kind, value)
    constraint decides the winner and the loser reads the winner's row.
    """
    normalised = identity_normalise(kind=kind, value=value)
    existing = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=normalised).first()
    if existing is not None:
        return existing.customer, False
    try:
        with transaction.atomic():
            customer = Customer.objects.create(name=name.strip()[:200], language=language or "en")
            CustomerIdentity.objects.create(customer=customer, kind=kind, value=normalised, is_primary=True)
            return customer, True
    except IntegrityError:
        identity = CustomerIdentity.objects.select_related("customer").get(kind=kind, value=normalised)
        return identity.customer, False
