"""Channel-side records: inbound email that could not be parsed is kept whole here, never dropped."""

from django.db import models

from helpdesk.core.models import TimeStampedModel


class QuarantinedEmail(TimeStampedModel):
    class Source(models.TextChoices):
        SMTP = "smtp", "SMTP listener"
        IMAP = "imap", "IMAP poller"
        WEBHOOK = "webhook", "Provider webhook"

    source = models.CharField(max_length=16, choices=Source.choices)
    envelope_sender = models.CharField(max_length=320, blank=True)
    envelope_recipients = models.JSONField(default=list)
    raw_message = models.BinaryField()
    reason = models.TextField()
    is_resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Quarantined {self.source} email {self.pk}: {self.reason[:60]}"
