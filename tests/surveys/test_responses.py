from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers.services import customer_merge
from surveys.choices import SurveyKind
from surveys.models import SurveyResponse
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.surveys.factories import SurveyResponseFactory
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.selectors import customer_sidebar

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "score", "is_allowed"),
    [
        (SurveyKind.CSAT, 1, True),
        (SurveyKind.CSAT, 5, True),
        (SurveyKind.CSAT, 0, False),
        (SurveyKind.CSAT, 6, False),
        (SurveyKind.NPS, 0, True),
        (SurveyKind.NPS, 10, True),
        (SurveyKind.NPS, 11, False),
        (SurveyKind.CES, 7, True),
        (SurveyKind.CES, 8, False),
    ],
)
def test_a_score_must_lie_on_its_kinds_scale(kind, score, is_allowed):
    customer = CustomerFactory()
    if is_allowed:
        SurveyResponseFactory(customer=customer, kind=kind, score=score)
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            SurveyResponseFactory(customer=customer, kind=kind, score=score)
    assert SurveyResponse.objects.filter(customer=customer).count() == int(is_allowed)


def test_the_sidebar_lists_the_customers_past_ratings_newest_first(agent):
    ticket = TicketFactory()
    rated = TicketFactory(customer=ticket.customer)
    now = timezone.now()
    older = SurveyResponseFactory(customer=ticket.customer, score=2, responded_at=now - timedelta(days=40))
    newer = SurveyResponseFactory(
        customer=ticket.customer, kind=SurveyKind.NPS, score=9, ticket=rated, responded_at=now - timedelta(days=1)
    )
    SurveyResponseFactory(score=1)  # someone else's

    ratings = customer_sidebar(customer=ticket.customer, user=agent, exclude_ticket_id=ticket.pk).ratings

    assert [(r.kind, r.score, r.scale_max, r.ticket_number) for r in ratings] == [
        (SurveyKind.NPS, 9, 10, rated.number),
        (SurveyKind.CSAT, 2, 5, None),
    ]
    assert [r.responded_at for r in ratings] == [newer.responded_at, older.responded_at]


def test_the_ticket_page_shows_past_ratings_with_their_comment(client, agent):
    ticket = TicketFactory()
    CustomerIdentityFactory(customer=ticket.customer)
    MessageFactory(ticket=ticket)
    SurveyResponseFactory(customer=ticket.customer, score=4, comment="Quick and kind, thanks")
    client.force_login(agent)

    body = client.get(reverse("tickets:ticket", args=[ticket.number])).content.decode()

    assert "4/5" in body
    assert "Quick and kind, thanks" in body
    assert "No ratings yet." not in body


def test_ratings_follow_a_merged_customer(agent):
    source, target = CustomerFactory(), CustomerFactory()
    response = SurveyResponseFactory(customer=source)

    customer_merge(source=source, target=target)

    response.refresh_from_db()
    assert response.customer == target
    assert [r.score for r in customer_sidebar(customer=target, user=agent).ratings] == [response.score]
