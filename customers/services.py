"""Writes to customer records: the store's upserts, identities, and merging two records of one person."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from customers.choices import IdentityKind
from customers.identities import identity_value_normalize
from customers.merge import merge_steps
from customers.models import Customer, CustomerIdentity
from customers.selectors import customer_identity_list_matching
from helpdesk.core.exceptions import ApplicationError, ConflictError, NotFoundError

logger = logging.getLogger(__name__)


class IdentityConflictError(ConflictError):
    """The identity already points to another customer; only a merge may join the two."""


class CustomerMergeError(ApplicationError):
    """A merge that would lose or loop records."""


def _assign_changes(instance: Model, values: Mapping[str, object]) -> list[str]:
    """Set the fields that differ and name them, so an unchanged sync writes nothing."""
    changed = []
    for field, value in values.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    return changed


def _identity_conflict(identity: CustomerIdentity) -> IdentityConflictError:
    kind = str(IdentityKind(identity.kind).label).lower()
    return IdentityConflictError(
        f"The {kind} {identity.value} already belongs to another customer (#{identity.customer_id}); "
        "merge the two customers first.",
        extra={"conflicting_customer_id": identity.customer_id},
    )


def customer_upsert(
    *,
    store_customer_id: str,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    language: str | None = None,
    is_marketing_consent_given: bool | None = None,
) -> tuple[Customer, bool]:
    """Create or update the customer the store knows by this id; returns (customer, created).

    Only the fields given are written (the helpdesk owns notes, VIP and a language it detected); an
    email or phone becomes the customer's primary identity of that kind and earlier ones are kept,
    since the customer may still write from them. A customer the helpdesk already had without a
    store id (who emailed before ordering) is linked rather than duplicated.
    """
    wanted: dict[str, str] = {}
    if email:
        wanted[IdentityKind.EMAIL] = identity_value_normalize(kind=IdentityKind.EMAIL, value=email)
    if phone:
        wanted[IdentityKind.PHONE] = identity_value_normalize(kind=IdentityKind.PHONE, value=phone)
    values: dict[str, object] = {
        field: value
        for field, value in (
            ("name", name),
            ("language", language),
            ("is_marketing_consent_given", is_marketing_consent_given),
        )
        if value is not None
    }
    try:
        with transaction.atomic():
            return _customer_upsert_locked(store_customer_id=store_customer_id, values=values, wanted=wanted)
    except IntegrityError as error:
        raise ConflictError("Another sync of this customer ran at the same time; send it again.") from error


def _customer_upsert_locked(
    *, store_customer_id: str, values: dict[str, object], wanted: dict[str, str]
) -> tuple[Customer, bool]:
    customer = Customer.objects.select_for_update().filter(store_customer_id=store_customer_id).first()
    if customer is not None and customer.merged_into_id is not None:
        customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)

    # Read without a lock: customers are always locked before identities, and the unique constraint
    # turns a racing insert into a conflict.
    matching = list(customer_identity_list_matching(identities=wanted))
    foreign = [identity for identity in matching if customer is None or identity.customer_id != customer.pk]
    changed: list[str] = []
    if foreign and customer is None:
        owner_ids = {identity.customer_id for identity in foreign}
        candidate = Customer.objects.select_for_update().get(pk=foreign[0].customer_id)
        if len(owner_ids) == 1 and candidate.store_customer_id is None and candidate.merged_into_id is None:
            customer = candidate
            customer.store_customer_id = store_customer_id
            changed.append("store_customer_id")
            foreign = []
    if foreign:
        raise _identity_conflict(foreign[0])

    created = customer is None
    if customer is None:
        customer = Customer.objects.create(store_customer_id=store_customer_id, **values)
    else:
        changed += _assign_changes(customer, values)
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])

    if wanted:
        _customer_identities_make_primary(customer=customer, wanted=wanted, is_new_customer=created)
    return customer, created


def _customer_identities_make_primary(*, customer: Customer, wanted: dict[str, str], is_new_customer: bool) -> None:
    own = [] if is_new_customer else list(customer.identities.select_for_update().order_by("pk"))
    now = timezone.now()
    for kind, value in wanted.items():
        same_kind = [identity for identity in own if identity.kind == kind]
        current = next((identity for identity in same_kind if identity.value == value), None)
        demoted = [identity.pk for identity in same_kind if identity.is_primary and identity is not current]
        if demoted:
            CustomerIdentity.objects.filter(pk__in=demoted).update(is_primary=False, updated_at=now)
        if current is None:
            CustomerIdentity.objects.create(customer=customer, kind=kind, value=value, is_primary=True)
        elif not current.is_primary:
            CustomerIdentity.objects.filter(pk=current.pk).update(is_primary=True, updated_at=now)


def customer_merge(*, source: Customer, target: Customer) -> Customer:
    """Fold source into target: identities, orders and whatever else apps registered move to target.

    Notes are joined, the VIP flag is kept if either had it, and source stays as a record pointing to
    target (merged_into), so links to it still resolve.
    """
    if source.pk == target.pk:
        raise CustomerMergeError("A customer cannot be merged into itself.")
    with transaction.atomic():
        locked = {
            customer.pk: customer
            for customer in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
        }
        if len(locked) != 2:
            raise NotFoundError("One of the customers to merge no longer exists.")
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None:
            raise CustomerMergeError(f"Customer #{source.pk} was already merged into #{source.merged_into_id}.")
        if target.merged_into_id is not None:
            raise CustomerMergeError(
                f"Customer #{target.pk} was merged into #{target.merged_into_id}; merge into that customer instead."
            )

        now = timezone.now()
        kinds_with_primary = set(
            CustomerIdentity.objects.filter(customer=target, is_primary=True).values_list("kind", flat=True)
        )
        CustomerIdentity.objects.filter(customer=source, kind__in=kinds_with_primary, is_primary=True).update(
            is_primary=False, updated_at=now
        )
        CustomerIdentity.objects.filter(customer=source).update(customer=target, updated_at=now)
        # Keep every merged record one hop from its survivor.
        Customer.objects.filter(merged_into=source).update(merged_into=target, updated_at=now)
        for step in merge_steps():
            step(source=source, target=target)

        target.notes = "\n\n".join(notes for notes in (target.notes, source.notes) if notes.strip())
        target.is_vip = target.is_vip or source.is_vip
        target.save(update_fields=["notes", "is_vip", "updated_at"])
        source.merged_into = target
        source.save(update_fields=["merged_into", "updated_at"])
    logger.info("Customer %s merged into %s", source.pk, target.pk)
    return target
