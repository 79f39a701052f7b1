import factory
from django.utils import timezone

from surveys.choices import SurveyKind
from surveys.models import SurveyResponse
from tests.customers.factories import CustomerFactory


class SurveyResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyResponse

    kind = SurveyKind.CSAT
    customer = factory.SubFactory(CustomerFactory)
    score = 5
    responded_at = factory.LazyFunction(timezone.now)
