import factory

from tests.customers.factories import CustomerFactory
from tickets.choices import Channel, MessageDirection, TicketStatus
from tickets.models import Message, Tag, Ticket


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"reason-{n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Faker("sentence", nb_words=5)
    customer = factory.SubFactory(CustomerFactory)
    status = TicketStatus.OPEN
    channel = Channel.EMAIL


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    channel = Channel.EMAIL
    direction = MessageDirection.INBOUND
    body_text = factory.Faker("paragraph")
