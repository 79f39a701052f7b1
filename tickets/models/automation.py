"""What admins configure to automate the desk: priority rules, routing rules and macros."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from accounts.models import Team
from helpdesk.core.models import TimeStampedModel
from tickets.choices import Channel, Priority, TicketStatus
from tickets.models.core import Tag


class PriorityRule(TimeStampedModel):
    """Sets a new ticket's priority when all of its filled-in conditions hold; the highest match wins."""

    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    keywords = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    is_vip_only = models.BooleanField(default=False)
    min_order_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    channels = ArrayField(models.CharField(max_length=16, choices=Channel.choices), default=list, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(TimeStampedModel):
    """Sends matching tickets to a team; within the team, auto-assignment picks an agent."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    channels = ArrayField(models.CharField(max_length=16, choices=Channel.choices), default=list, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    languages = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    priorities = ArrayField(models.CharField(max_length=16, choices=Priority.choices), default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Route to {self.team}"


class Macro(TimeStampedModel):
    """A canned response: text with placeholders, and optional status, priority and tag changes."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Empty: shared with everyone.",
    )
    body = models.TextField()
    set_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    set_priority = models.CharField(max_length=16, choices=Priority.choices, blank=True)
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    usage_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        # NULLS NOT DISTINCT: two shared macros (no owner) may not share a name either.
        constraints = [
            models.UniqueConstraint(fields=["name", "owner"], name="macro_name_unique_per_owner", nulls_distinct=False)
        ]

    def __str__(self) -> str:
        return self.name


class MacroTranslation(models.Model):
    macro = models.ForeignKey(Macro, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10)
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["macro", "language"], name="macro_translation_once")]

    def __str__(self) -> str:
        return f"{self.macro} ({self.language})"
