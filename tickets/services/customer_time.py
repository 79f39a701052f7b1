"""The time zone a customer is told times in: theirs when known, else that of the calendar counting their ticket."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickets.models import SlaPolicy, Ticket
from tickets.services.sla import sla_time_zone_for

# The customer record's default: nothing has learned the customer's zone, so UTC says nothing about them.
_UNKNOWN_ZONES = frozenset({"", "UTC"})
UTC_ZONE = ZoneInfo("UTC")


def _known_zone(name: str) -> ZoneInfo | None:
    if name in _UNKNOWN_ZONES:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def ticket_customer_zone(*, ticket: Ticket, policy: SlaPolicy | None = None) -> ZoneInfo:
    """The customer's own zone; when unknown, the zone the desk answers their ticket in (its SLA calendar's)."""
    return _known_zone(ticket.customer.timezone) or sla_time_zone_for(ticket=ticket, policy=policy) or UTC_ZONE
