"""Outbound webhooks: the store's own systems hear about ticket events, signed and retried."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from helpdesk.core.encryption import EncryptedTextField
from helpdesk.core.models import TimeStampedModel
from tickets.webhook_addresses import validate_webhook_url


class WebhookEndpoint(TimeStampedModel):
    class Event(models.TextChoices):
        TICKET_CREATED = "ticket.created", "Ticket created"
        TICKET_UPDATED = "ticket.updated", "Ticket updated"
        TICKET_SOLVED = "ticket.solved", "Ticket solved"

    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    secret = EncryptedTextField(help_text="Signs every delivery (HMAC-SHA256); stored encrypted.")
    events = ArrayField(models.CharField(max_length=32, choices=Event.choices), default=list)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=32)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once_per_event")]
        # The stale-delivery sweep reads the few pending rows by age, never the delivered history.
        indexes = [
            models.Index(fields=["updated_at"], condition=models.Q(status="pending"), name="webhook_pending_by_age")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id}: {self.status}"
