"""Reads of survey answers for other parts of the helpdesk."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from surveys.models import SurveyResponse
from tickets.customer_history import PastRating
from tickets.models import Ticket


def past_ratings_for_customer(*, customer_id: int, limit: int, visible_tickets: QuerySet[Ticket]) -> list[PastRating]:
    """The customer's latest answers, newest first, with the ticket each was about; an answer about a
    ticket outside ``visible_tickets`` is left out (one about no ticket is kept)."""
    about_a_visible_ticket = Exists(visible_tickets.filter(pk=OuterRef("ticket_id")))
    responses = (
        SurveyResponse.objects.filter(Q(ticket__isnull=True) | about_a_visible_ticket, customer_id=customer_id)
        .select_related("ticket")
        .only("kind", "score", "comment", "responded_at", "ticket__number")
        .order_by("-responded_at", "-id")[:limit]
    )
    return [
        PastRating(
            kind=response.kind,
            label=str(response.get_kind_display()),
            score=response.score,
            scale_max=response.scale_max,
            comment=response.comment,
            ticket_number=response.ticket.number if response.ticket else None,
            responded_at=response.responded_at,
        )
        for response in responses
    ]
