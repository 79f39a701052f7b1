"""What customers answered when asked how the service was."""

from django.db import models
from django.db.models import Q

from customers.models import Customer
from helpdesk.core.models import TimeStampedModel
from surveys.choices import SCORE_RANGES, SurveyKind
from tickets.models import Ticket


def _score_in_range() -> Q:
    allowed = Q()
    for kind, (low, high) in SCORE_RANGES.items():
        allowed |= Q(kind=kind, score__gte=low, score__lte=high)
    return allowed


class SurveyResponse(TimeStampedModel):
    """One answer: the score on its kind's scale, an optional comment, the ticket it was about."""

    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_responses")
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    responded_at = models.DateTimeField()

    class Meta:
        ordering = ["-responded_at", "-id"]
        indexes = [models.Index(fields=["customer", "-responded_at"], name="survey_response_customer")]
        constraints = [
            models.CheckConstraint(condition=_score_in_range(), name="survey_response_score_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}"

    @property
    def scale_max(self) -> int:
        return SCORE_RANGES[self.kind][1]
