"""Tickets and their single timeline of messages (every channel) with attachments."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models.functions import Now, Upper

from accounts.models import Team
from customers.models import Customer
from helpdesk.core.models import TimeStampedModel
from orders.models import Order
from tickets.choices import Channel, MessageDirection, Priority, TicketStatus

TICKET_NUMBER_SEQUENCE = "tickets_ticket_number_seq"


class Tag(TimeStampedModel):
    """A contact reason admins keep, so managers can see why customers write."""

    name = models.CharField(max_length=64, unique=True)
    is_complaint = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            # "Refund" and "refund" would split one contact reason in two in the reports.
            models.UniqueConstraint(Upper("name"), name="tag_name_unique_ignoring_case"),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(TimeStampedModel):
    number = models.BigIntegerField(
        unique=True,
        editable=False,
        db_default=models.Func(models.Value(TICKET_NUMBER_SEQUENCE), function="nextval"),
    )
    subject = models.CharField(max_length=255)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    last_message_at = models.DateTimeField(db_default=Now(), db_index=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change; guards concurrent replies.")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged")
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="splits")
    status_changed_at = models.DateTimeField(db_default=Now())
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    complaint_due_at = models.DateTimeField(null=True, blank=True)
    complaint_extension_sent_at = models.DateTimeField(null=True, blank=True)
    pending_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    sla_next_due_at = models.DateTimeField(null=True, blank=True, help_text="The earliest running SLA target.")

    class Meta:
        ordering = ["-last_message_at", "-id"]
        permissions = [("view_all_tickets", "Can view every ticket, whoever it is assigned to")]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="ticket_inbox_order"),
            models.Index(fields=["status", "-last_message_at", "-id"], name="ticket_status_inbox"),
            models.Index(fields=["assignee", "-last_message_at", "-id"], name="ticket_assignee_inbox"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_history"),
            models.Index(
                fields=["sla_next_due_at"], name="ticket_sla_due", condition=models.Q(sla_next_due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class Message(TimeStampedModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(max_length=16, choices=MessageDirection.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    body_text = models.TextField(blank=True, help_text="What agents see: quoted history stripped.")
    body_html = models.TextField(blank=True, help_text="Sanitised HTML; never raw input.")
    quoted_text = models.TextField(blank=True, help_text="The quoted history stripped from body_text, kept.")
    external_message_id = models.CharField(max_length=998, null=True, blank=True)
    references = models.JSONField(default=list, blank=True, help_text="Message-IDs this message answers.")
    sender_address = models.CharField(max_length=254, blank=True)
    is_automatic = models.BooleanField(default=False, help_text="Sent by the helpdesk, not by a person.")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="message_timeline"),
            GinIndex(SearchVector("body_text", config="simple"), name="message_body_search"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_message_id"],
                condition=models.Q(external_message_id__isnull=False),
                name="message_unique_external_id_per_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on {self.ticket_id}"

    @property
    def is_note(self) -> bool:
        return self.direction == MessageDirection.NOTE


class Attachment(TimeStampedModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_id = models.CharField(max_length=255, blank=True, help_text="For inline images referenced by cid:")
    is_inline = models.BooleanField(default=False)
    refusal_reason = models.CharField(max_length=255, blank=True, help_text="Why the file was not kept, if it was not.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class MessageDelivery(TimeStampedModel):
    """The outbox row for one outgoing message: delivered once, whatever retries happen."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="delivery")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The stale-delivery sweep reads the few pending rows by age, never the sent history.
        indexes = [
            models.Index(fields=["updated_at"], condition=models.Q(status="pending"), name="delivery_pending_by_age")
        ]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.status}"


class AutoAcknowledgement(TimeStampedModel):
    """At most one automatic acknowledgement per ticket (the unique ticket enforces it)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="auto_acknowledgement")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Acknowledgement of {self.ticket_id}"


class AcknowledgementRequest(TimeStampedModel):
    """A new ticket still owed its acknowledgement: written with the ticket, removed once it was sent.

    The acknowledgement sender is woken after the ticket commits; if the process dies in between, or
    the broker is briefly unreachable, this row is what beat finds to wake it again. A sender claims
    a batch of rows until ``claimed_until``; a sender that died leaves them to the next once it passes.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="+")
    claimed_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Acknowledgement owed to {self.ticket_id}"


class TicketActivity(models.Model):
    """The audit trail of a ticket: who changed what, when and why."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status changed"
        PRIORITY = "priority", "Priority changed"
        ASSIGNMENT = "assignment", "Assignment changed"
        TAGS = "tags", "Tags changed"
        MERGE = "merge", "Merged"
        SPLIT = "split", "Split"
        ESCALATION = "escalation", "Escalated"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="activity_timeline")]
        verbose_name_plural = "ticket activities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class Escalation(TimeStampedModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    escalated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Escalation of {self.ticket_id}"


class Mention(TimeStampedModel):
    """A colleague named with @ in an internal note; they are notified once."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="mention_once_per_note")]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.message_id}"
