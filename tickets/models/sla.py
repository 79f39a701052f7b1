"""Business-hours calendars, SLA policies and each ticket's SLA targets."""

import datetime
import functools
import zoneinfo

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from helpdesk.core.models import TimeStampedModel
from tickets.choices import Channel, Priority
from tickets.models.core import Ticket


@functools.cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class BusinessCalendar(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # An unknown zone would make every SLA clock on this calendar run around the clock instead.
        if self.timezone not in _time_zone_names():
            raise ValidationError(
                {
                    "timezone": _("%(zone)s is not a time zone; use a name such as Europe/Berlin.")
                    % {"zone": self.timezone}
                }
            )


class BusinessHoursInterval(models.Model):
    """One opening interval on one weekday (0 = Monday), in the calendar's local time."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "starts_at"]
        constraints = [
            # An interval ending at 00:00 runs to the end of its day (tickets.business_hours.END_OF_DAY).
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")) | models.Q(ends_at=datetime.time(0)),
                name="interval_ends_after_start",
                violation_error_message=_(
                    "An interval must end after it starts; an end of 00:00 means midnight at the end of the day."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts_at}-{self.ends_at}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class CalendarAssignment(models.Model):
    """Which calendar a team or a channel works by (a team's wins over its channel's)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="assignments")
    team = models.OneToOneField(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_assignment"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, null=True, blank=True, unique=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=False) ^ models.Q(channel__isnull=False),
                name="calendar_for_team_xor_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.calendar} for {self.team or self.channel}"


class SlaPolicy(TimeStampedModel):
    """Targets in business minutes; the first active policy (by position) whose conditions match applies."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    priorities = ArrayField(models.CharField(max_length=16, choices=Priority.choices), default=list, blank=True)
    channels = ArrayField(models.CharField(max_length=16, choices=Channel.choices), default=list, blank=True)
    is_vip_only = models.BooleanField(default=False)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warning_minutes = models.PositiveIntegerField(
        default=30, help_text="Warn this many business minutes before a breach."
    )
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaTarget(TimeStampedModel):
    """One running SLA target of a ticket; pending and on hold pause it."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_RESPONSE = "next_response", "Next response"
        RESOLUTION = "resolution", "Resolution"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_targets")
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the clock is paused.")
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_business_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Kept while paused.")
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    breach_escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the breach raised the priority and reached the team lead."
    )
    assignee_warned_at = models.DateTimeField(null=True, blank=True)
    lead_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="one_sla_target_per_kind")]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="sla_target_running",
                condition=models.Q(met_at__isnull=True, due_at__isnull=False),
            ),
            models.Index(
                fields=["ticket"],
                name="sla_target_unescalated",
                condition=models.Q(met_at__isnull=True, breached_at__isnull=False, breach_escalated_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.ticket_id}"

    @property
    def is_met(self) -> bool:
        return self.met_at is not None and (self.breached_at is None or self.met_at <= self.breached_at)
