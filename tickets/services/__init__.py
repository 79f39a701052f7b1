"""Every write to tickets and messages goes through these services."""

from tickets.services.acknowledgement import acknowledgements_send_owed
from tickets.services.delivery import message_deliver
from tickets.services.ingest import InboundAttachment, InboundMessage, IngestResult, ingest

__all__ = (
    "InboundAttachment",
    "InboundMessage",
    "IngestResult",
    "acknowledgements_send_owed",
    "ingest",
    "message_deliver",
)
