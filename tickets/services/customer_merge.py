"""When two customer records are merged, their tickets follow the survivor."""

from __future__ import annotations

from customers.models import Customer
from tickets.models import Ticket


def tickets_follow_merged_customer(*, source: Customer, target: Customer) -> None:
    Ticket.objects.filter(customer=source).update(customer=target)
