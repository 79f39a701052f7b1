"""Fixtures for store sync tests: the store's integration token and a snapshot of what is stored."""

import pytest

from customers.models import Customer, CustomerIdentity
from orders.models import Order, OrderItem, Product, Shipment, StoreWebhookEvent


@pytest.fixture
def store_client(admin_user, token_client_for):
    """The store's integration user holds an admin-role token (orders.change_order)."""
    return token_client_for(admin_user)


@pytest.fixture
def stored_counts():
    """Row counts of everything store sync writes, to assert that a refusal stored nothing."""

    def count() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (Customer, CustomerIdentity, Product, Order, OrderItem, Shipment, StoreWebhookEvent)
        }

    return count
