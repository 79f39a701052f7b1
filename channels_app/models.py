"""Channel-side records: inbound email that could not be parsed is kept whole here, never dropped."""

from django.conf import settings
from django.db import models

from helpdesk.core.encryption import EncryptedTextField
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
    is_headers_only = models.BooleanField(
        default=False, help_text="Too large to fetch: only its headers were kept, so it cannot be retried here."
    )
    digest = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="SHA-256 of the raw bytes: kept once."
    )
    size = models.PositiveIntegerField(default=0, help_text="Bytes of the raw message.")
    header_from = models.CharField(max_length=320, blank=True, help_text="The From header, if it could be read.")
    subject = models.CharField(max_length=255, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["is_resolved", "-created_at"], name="quarantine_review_order")]

    def __str__(self) -> str:
        return f"Quarantined {self.source} email {self.pk}: {self.reason[:60]}"


class ImapMailbox(TimeStampedModel):
    """An existing mailbox the IMAP poller reads (beat runs it every minute)."""

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(default=True)
    username = models.CharField(max_length=255)
    password = EncryptedTextField()
    folder = models.CharField(max_length=255, default="INBOX")
    uid_validity = models.BigIntegerField(null=True, blank=True)
    last_seen_uid = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"
