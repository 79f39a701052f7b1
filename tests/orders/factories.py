from decimal import Decimal

import factory
from django.utils import timezone

from orders.choices import OrderStatus, ShipmentStatus
from orders.models import Order, OrderItem, Product, Shipment, StoreWebhookEvent
from tests.customers.factories import CustomerFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    price = Decimal("24.90")
    stock_on_hand = 10


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"#{10000 + n}")
    customer = factory.SubFactory(CustomerFactory)
    status = OrderStatus.PAID
    total = Decimal("49.80")
    subtotal = Decimal("49.80")
    amount_paid = Decimal("49.80")
    placed_at = factory.LazyFunction(timezone.now)
    paid_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = "Linen shirt"
    quantity = 2
    unit_price = Decimal("24.90")
    line_total = Decimal("49.80")


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = "UPS"
    tracking_number = factory.Sequence(lambda n: f"1Z999AA1{n:08d}")
    tracking_url = factory.LazyAttribute(lambda s: f"https://track.example.test/{s.tracking_number}")
    status = ShipmentStatus.IN_TRANSIT


class StoreWebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreWebhookEvent

    event_id = factory.Sequence(lambda n: f"evt_{n:06d}")
    event_type = "order.created"
    payload = factory.LazyAttribute(lambda event: {"id": event.event_id, "type": event.event_type, "data": {}})
