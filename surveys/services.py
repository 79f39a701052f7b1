"""Writes of survey answers."""

from __future__ import annotations

from customers.models import Customer
from surveys.models import SurveyResponse


def responses_follow_merged_customer(*, source: Customer, target: Customer) -> None:
    SurveyResponse.objects.filter(customer=source).update(customer=target)
