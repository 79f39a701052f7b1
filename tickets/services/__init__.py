"""Every write to tickets and messages goes through these services."""

from tickets.services.acknowledgement import ticket_send_auto_acknowledgement
from tickets.services.delivery import message_deliver
from tickets.services.ingest import InboundAttachment, InboundMessage, IngestResult, ingest

__all__ = (
    "InboundAttachment",
    "InboundMessage",
    "IngestResult",
    "ingest",
    "message_deliver",
    "ticket_send_auto_acknowledgement",
)
