"""Reads of customer records and the identities that point to them."""

from django.db.models import Q, QuerySet

from customers.models import Customer, CustomerIdentity


def customer_get_by_store_id(*, store_customer_id: str) -> Customer | None:
    """The customer the store's id now stands for: the survivor when that record was merged away."""
    customer = Customer.objects.select_related("merged_into").filter(store_customer_id=store_customer_id).first()
    if customer is not None and customer.merged_into is not None:
        return customer.merged_into
    return customer


def customer_identity_list_matching(*, identities: dict[str, str]) -> QuerySet[CustomerIdentity]:
    """Identity rows with any of the given (kind, normalised value) pairs, whoever owns them."""
    if not identities:
        return CustomerIdentity.objects.none()
    match = Q()
    for kind, value in identities.items():
        match |= Q(kind=kind, value=value)
    return CustomerIdentity.objects.filter(match).order_by("pk")
