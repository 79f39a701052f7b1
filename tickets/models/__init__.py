"""Ticket models, one module per concept, re-exported here."""

from tickets.models.automation import Macro, MacroTranslation, PriorityRule, RoutingRule
from tickets.models.core import (
    TICKET_NUMBER_SEQUENCE,
    AcknowledgementRequest,
    Attachment,
    AutoAcknowledgement,
    Escalation,
    Mention,
    Message,
    MessageDelivery,
    Tag,
    Ticket,
    TicketActivity,
)
from tickets.models.sla import (
    BusinessCalendar,
    BusinessHoursInterval,
    CalendarAssignment,
    Holiday,
    SlaPolicy,
    SlaTarget,
)
from tickets.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = (
    "TICKET_NUMBER_SEQUENCE",
    "AcknowledgementRequest",
    "Attachment",
    "AutoAcknowledgement",
    "BusinessCalendar",
    "BusinessHoursInterval",
    "CalendarAssignment",
    "Escalation",
    "Holiday",
    "Macro",
    "MacroTranslation",
    "Mention",
    "Message",
    "MessageDelivery",
    "PriorityRule",
    "RoutingRule",
    "SlaPolicy",
    "SlaTarget",
    "Tag",
    "Ticket",
    "TicketActivity",
    "WebhookDelivery",
    "WebhookEndpoint",
)
