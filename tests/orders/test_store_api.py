from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from orders.choices import OrderStatus, ShipmentStatus
from orders.models import Order, OrderItem, Product, Shipment
from orders.services import order_upsert
from tests.customers.factories import CustomerFactory, CustomerIdentityFactory
from tests.orders.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/store/customers/{}/"
PRODUCTS = "/api/v1/store/products/{}/"
ORDERS = "/api/v1/store/orders/{}/"
SHIPMENTS = "/api/v1/store/shipments/{}/"
LANGUAGE_CODES = "en, es, zh-hans, zh-hant, fr, id, ja, ko, ru, de, tr, ar, pt"


def customer_body(**overrides):
    return {"name": "Ana Lima", "email": "Ana.Lima@Example.TEST", "phone": "+55 11 91234-5678", **overrides}


def product_body(**overrides):
    return {
        "sku": "SHIRT-L",
        "name": "Linen shirt",
        "price": "24.90",
        "currency": "EUR",
        "stock_on_hand": 7,
        **overrides,
    }


def order_body(**overrides):
    return {
        "number": "#1001",
        "store_customer_id": "cus_1",
        "status": "paid",
        "currency": "EUR",
        "subtotal": "59.80",
        "shipping_total": "4.90",
        "tax_total": "0.00",
        "discount_total": "5.00",
        "total": "59.70",
        "amount_paid": "59.70",
        "placed_at": "2026-03-01T10:00:00Z",
        "paid_at": "2026-03-01T10:01:00Z",
        "items": [
            {"sku": "SHIRT-L", "name": "Linen shirt", "quantity": 2, "unit_price": "24.90", "line_total": "49.80"},
            {"sku": "SOCKS", "name": "Wool socks", "quantity": 1, "unit_price": "10.00", "line_total": "10.00"},
        ],
        **overrides,
    }


def shipment_body(**overrides):
    return {
        "store_order_id": "ord_1",
        "carrier": "DHL",
        "tracking_number": "JD0123",
        "tracking_url": "https://track.example.test/JD0123",
        "status": "in_transit",
        "shipped_at": "2026-03-02T08:00:00Z",
        "estimated_delivery_at": "2026-03-05T18:00:00Z",
        "delivered_at": None,
        **overrides,
    }


@pytest.fixture
def synced_customer():
    return CustomerFactory(store_customer_id="cus_1")


@pytest.fixture
def synced_order(synced_customer):
    return OrderFactory(store_order_id="ord_1", number="#1001", customer=synced_customer)


# --- customers ----------------------------------------------------------------------


def test_customer_upsert_creates_the_customer_with_normalised_identities(store_client):
    response = store_client.put(CUSTOMERS.format("cus_1"), customer_body(language="pt-BR"), format="json")

    assert response.status_code == 201
    customer = Customer.objects.get(store_customer_id="cus_1")
    assert response.json() == {
        "id": customer.pk,
        "store_customer_id": "cus_1",
        "name": "Ana Lima",
        "email": "ana.lima@example.test",
        "phone": "+5511912345678",
        "language": "pt",
        "is_marketing_consent_given": False,
    }
    identities = list(customer.identities.values_list("kind", "value", "is_primary"))
    assert identities == [("email", "ana.lima@example.test", True), ("phone", "+5511912345678", True)]


def test_customer_upsert_sent_twice_changes_nothing_and_answers_200(store_client, stored_counts):
    first = store_client.put(CUSTOMERS.format("cus_1"), customer_body(), format="json")
    customer = Customer.objects.get(store_customer_id="cus_1")
    counts = stored_counts()

    second = store_client.put(CUSTOMERS.format("cus_1"), customer_body(), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert stored_counts() == counts
    assert Customer.objects.get(pk=customer.pk).updated_at == customer.updated_at


def test_customer_upsert_writes_only_the_fields_sent(store_client):
    customer = CustomerFactory(store_customer_id="cus_1", name="Ana", language="es", is_vip=True, notes="Prefers calls")

    response = store_client.put(CUSTOMERS.format("cus_1"), {"name": "Ana Lima"}, format="json")

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.language, customer.is_vip, customer.notes) == (
        "Ana Lima",
        "es",
        True,
        "Prefers calls",
    )


def test_customer_upsert_with_a_new_email_makes_it_primary_and_keeps_the_old_one(store_client):
    customer = CustomerFactory(store_customer_id="cus_1")
    CustomerIdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value="old@example.test", is_primary=True)

    response = store_client.put(CUSTOMERS.format("cus_1"), {"email": "New@Example.test"}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] == "new@example.test"
    identities = sorted(customer.identities.values_list("value", "is_primary"))
    assert identities == [("new@example.test", True), ("old@example.test", False)]


def test_customer_upsert_with_an_email_of_another_store_customer_is_a_409_and_changes_nothing(
    store_client, stored_counts
):
    other = CustomerFactory(store_customer_id="cus_other")
    CustomerIdentityFactory(customer=other, value="ana.lima@example.test")
    counts = stored_counts()

    response = store_client.put(CUSTOMERS.format("cus_1"), customer_body(), format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The email address ana.lima@example.test already belongs to another customer (#{other.pk}); "
        "merge the two customers first.",
        "conflicting_customer_id": other.pk,
    }
    assert stored_counts() == counts


def test_customer_upsert_links_a_customer_the_helpdesk_had_without_a_store_id(store_client, stored_counts):
    emailed_first = CustomerFactory(name="")
    CustomerIdentityFactory(customer=emailed_first, value="ana.lima@example.test")
    counts = stored_counts()

    response = store_client.put(CUSTOMERS.format("cus_1"), customer_body(phone=None), format="json")

    assert response.status_code == 200
    emailed_first.refresh_from_db()
    assert (emailed_first.store_customer_id, emailed_first.name) == ("cus_1", "Ana Lima")
    assert stored_counts() == counts


def test_customer_upsert_of_a_merged_customer_writes_the_survivor(store_client):
    survivor = CustomerFactory(store_customer_id="cus_2")
    CustomerFactory(store_customer_id="cus_1", merged_into=survivor)

    response = store_client.put(CUSTOMERS.format("cus_1"), {"name": "Ana Lima"}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == survivor.pk
    survivor.refresh_from_db()
    assert survivor.name == "Ana Lima"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
        (
            {"phone": "12345"},
            {"phone": ["'12345' is not a phone number in international form; send it as E.164, e.g. +14155550123."]},
        ),
        ({"language": "xx"}, {"language": ["Unsupported language 'xx'; use one of " + LANGUAGE_CODES + "."]}),
    ],
    ids=["email", "phone", "language"],
)
def test_customer_upsert_with_invalid_fields_is_a_400_and_stores_nothing(store_client, stored_counts, body, errors):
    counts = stored_counts()

    response = store_client.put(CUSTOMERS.format("cus_1"), body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert stored_counts() == counts


# --- products -----------------------------------------------------------------------


def test_product_upsert_creates_then_an_identical_payload_changes_nothing(store_client):
    first = store_client.put(PRODUCTS.format("prod_1"), product_body(), format="json")
    product = Product.objects.get(store_product_id="prod_1")

    second = store_client.put(PRODUCTS.format("prod_1"), product_body(), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == {
        "id": product.pk,
        "store_product_id": "prod_1",
        "sku": "SHIRT-L",
        "name": "Linen shirt",
        "price": "24.90",
        "currency": "EUR",
        "stock_on_hand": 7,
    }
    assert Product.objects.get(pk=product.pk).updated_at == product.updated_at


def test_product_upsert_replaces_changed_fields(store_client):
    ProductFactory(store_product_id="prod_1", sku="SHIRT-L", price=Decimal("24.90"))

    response = store_client.put(PRODUCTS.format("prod_1"), product_body(price="19.90", stock_on_hand=0), format="json")

    assert response.status_code == 200
    product = Product.objects.get(store_product_id="prod_1")
    assert (product.price, product.stock_on_hand) == (Decimal("19.90"), 0)


def test_product_upsert_links_a_product_with_the_sku_and_no_store_id(store_client, stored_counts):
    product = ProductFactory(sku="SHIRT-L", store_product_id=None)
    counts = stored_counts()

    response = store_client.put(PRODUCTS.format("prod_1"), product_body(), format="json")

    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert stored_counts() == counts


def test_product_upsert_with_the_sku_of_another_store_product_is_a_409(store_client, stored_counts):
    other = ProductFactory(sku="SHIRT-L", store_product_id="prod_other")
    counts = stored_counts()

    response = store_client.put(PRODUCTS.format("prod_1"), product_body(), format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "SKU SHIRT-L already belongs to another record (store id prod_other).",
        "conflicting_id": other.pk,
    }
    assert stored_counts() == counts


# --- orders -------------------------------------------------------------------------


def test_order_upsert_creates_the_order_with_its_items(store_client, synced_customer):
    shirt = ProductFactory(sku="SHIRT-L")

    response = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")

    assert response.status_code == 201
    order = Order.objects.get(store_order_id="ord_1")
    assert response.json() == {
        "id": order.pk,
        "store_order_id": "ord_1",
        "number": "#1001",
        "customer_id": synced_customer.pk,
        "status": "paid",
        "currency": "EUR",
        "subtotal": "59.80",
        "shipping_total": "4.90",
        "tax_total": "0.00",
        "discount_total": "5.00",
        "total": "59.70",
        "amount_paid": "59.70",
        "placed_at": "2026-03-01T10:00:00Z",
        "paid_at": "2026-03-01T10:01:00Z",
        "items": [
            {
                "sku": "SHIRT-L",
                "name": "Linen shirt",
                "quantity": 2,
                "unit_price": "24.90",
                "line_total": "49.80",
                "product_id": shirt.pk,
            },
            {
                "sku": "SOCKS",
                "name": "Wool socks",
                "quantity": 1,
                "unit_price": "10.00",
                "line_total": "10.00",
                "product_id": None,
            },
        ],
    }
    assert order.total == Decimal("59.70")


def test_order_upsert_sent_twice_changes_nothing_and_answers_200(store_client, synced_customer, stored_counts):
    first = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")
    order = Order.objects.get(store_order_id="ord_1")
    item_ids = list(order.items.values_list("pk", flat=True))
    counts = stored_counts()

    second = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert stored_counts() == counts
    assert Order.objects.get(pk=order.pk).updated_at == order.updated_at
    assert list(order.items.values_list("pk", flat=True)) == item_ids


def test_order_upsert_updates_changed_items_adds_new_ones_and_removes_missing_ones(store_client, synced_customer):
    store_client.put(ORDERS.format("ord_1"), order_body(), format="json")
    shirt_id = OrderItem.objects.get(sku="SHIRT-L").pk
    items = [
        {"sku": "SHIRT-L", "name": "Linen shirt", "quantity": 1, "unit_price": "24.90", "line_total": "24.90"},
        {"sku": "CAP", "name": "Cap", "quantity": 1, "unit_price": "15.00", "line_total": "15.00"},
    ]

    response = store_client.put(
        ORDERS.format("ord_1"), order_body(items=items, status="fulfilled", total="39.90"), format="json"
    )

    assert response.status_code == 200
    order = Order.objects.get(store_order_id="ord_1")
    assert (order.status, order.total) == (OrderStatus.FULFILLED, Decimal("39.90"))
    assert list(order.items.values_list("pk", "sku", "quantity")) == [
        (shirt_id, "SHIRT-L", 1),
        (OrderItem.objects.get(sku="CAP").pk, "CAP", 1),
    ]


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"total": 59.7}, {"total": ['Send amounts as decimal strings such as "19.99", never as numbers.']}),
        ({"total": "59.701"}, {"total": ["Ensure that there are no more than 2 decimal places."]}),
        ({"currency": "euro"}, {"currency": ['Use a three-letter ISO 4217 code in capitals, such as "USD".']}),
        ({"status": "lost"}, {"status": ['"lost" is not a valid choice.']}),
        ({"items": []}, {"items": {"non_field_errors": ["This list may not be empty."]}}),
        (
            {
                "items": [
                    {"sku": "A", "name": "A", "quantity": 1, "unit_price": "1.00", "line_total": "1.00"},
                    {"sku": "A", "name": "A", "quantity": 1, "unit_price": "1.00", "line_total": "1.00"},
                ]
            },
            {"items": ["Each SKU appears once per order; repeated: A."]},
        ),
    ],
    ids=["float-total", "fractional-cents", "currency", "status", "no-items", "repeated-sku"],
)
def test_order_upsert_with_invalid_fields_is_a_400_and_stores_nothing(
    store_client, synced_customer, stored_counts, overrides, errors
):
    counts = stored_counts()

    response = store_client.put(ORDERS.format("ord_1"), order_body(**overrides), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert stored_counts() == counts


def test_order_upsert_for_a_customer_not_synced_yet_is_a_400_and_stores_nothing(store_client, stored_counts):
    counts = stored_counts()

    response = store_client.put(ORDERS.format("ord_1"), order_body(store_customer_id="cus_unknown"), format="json")

    message = "No customer has store id 'cus_unknown'; sync the customer first."
    assert response.status_code == 400
    assert response.json() == {"detail": message, "errors": {"store_customer_id": [message]}}
    assert stored_counts() == counts


def test_order_upsert_with_the_number_of_another_store_order_is_a_409(store_client, synced_customer, stored_counts):
    other = OrderFactory(number="#1001", store_order_id="ord_other")
    counts = stored_counts()

    response = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Order number #1001 already belongs to another record (store id ord_other).",
        "conflicting_id": other.pk,
    }
    assert stored_counts() == counts


def test_order_upsert_for_a_merged_customer_attaches_the_order_to_the_survivor(store_client):
    survivor = CustomerFactory(store_customer_id="cus_2")
    CustomerFactory(store_customer_id="cus_1", merged_into=survivor)

    response = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")

    assert response.status_code == 201
    assert Order.objects.get(store_order_id="ord_1").customer_id == survivor.pk


def _order_kwargs(**overrides):
    return {
        "store_order_id": "ord_1",
        "number": "#1001",
        "store_customer_id": "cus_1",
        "status": OrderStatus.PAID,
        "currency": "EUR",
        "total": Decimal("59.80"),
        "placed_at": timezone.now(),
        "items": [
            {
                "sku": f"SKU-{n}",
                "name": "Item",
                "quantity": 1,
                "unit_price": Decimal("5.98"),
                "line_total": Decimal("5.98"),
            }
            for n in range(10)
        ],
        **overrides,
    }


def test_order_upsert_creating_an_order_costs_a_fixed_number_of_queries(django_assert_num_queries, synced_customer):
    # savepoint, lock by store id or number, customer, insert order, products by SKU, insert items, release.
    with django_assert_num_queries(7):
        order, created = order_upsert(**_order_kwargs())

    assert created is True
    assert order.items.count() == 10


def test_order_upsert_of_an_unchanged_order_only_reads(django_assert_num_queries, synced_customer):
    kwargs = _order_kwargs()
    order_upsert(**kwargs)

    # savepoint, lock, customer, existing items, products by SKU, release: no write.
    with django_assert_num_queries(6):
        _order, created = order_upsert(**kwargs)

    assert created is False


def test_order_upsert_changing_every_item_costs_the_same_as_changing_one(django_assert_num_queries, synced_customer):
    kwargs = _order_kwargs()
    order_upsert(**kwargs)
    changed = [{**item, "quantity": 2, "line_total": Decimal("11.96")} for item in kwargs["items"]]

    # savepoint, lock, customer, update order, existing items, products, bulk update items, release.
    with django_assert_num_queries(8):
        order_upsert(**{**kwargs, "total": Decimal("119.60"), "items": changed})

    assert set(OrderItem.objects.values_list("quantity", flat=True)) == {2}


def test_order_upsert_api_costs_a_fixed_number_of_queries(django_assert_num_queries, store_client, synced_customer):
    # token and user, the user's permissions (two), the service's seven, the items for the response.
    with django_assert_num_queries(11):
        response = store_client.put(ORDERS.format("ord_1"), order_body(), format="json")

    assert response.status_code == 201


# --- shipments ----------------------------------------------------------------------


def test_shipment_upsert_creates_then_an_identical_payload_changes_nothing(store_client, synced_order, stored_counts):
    first = store_client.put(SHIPMENTS.format("shp_1"), shipment_body(), format="json")
    shipment = Shipment.objects.get(store_shipment_id="shp_1")
    counts = stored_counts()

    second = store_client.put(SHIPMENTS.format("shp_1"), shipment_body(), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == {
        "id": shipment.pk,
        "store_shipment_id": "shp_1",
        "store_order_id": "ord_1",
        "carrier": "DHL",
        "tracking_number": "JD0123",
        "tracking_url": "https://track.example.test/JD0123",
        "status": "in_transit",
        "shipped_at": "2026-03-02T08:00:00Z",
        "estimated_delivery_at": "2026-03-05T18:00:00Z",
        "delivered_at": None,
    }
    assert stored_counts() == counts
    assert Shipment.objects.get(pk=shipment.pk).updated_at == shipment.updated_at


def test_shipment_upsert_records_delivery(store_client, synced_order):
    store_client.put(SHIPMENTS.format("shp_1"), shipment_body(), format="json")

    response = store_client.put(
        SHIPMENTS.format("shp_1"),
        shipment_body(status="delivered", delivered_at="2026-03-04T12:30:00Z"),
        format="json",
    )

    assert response.status_code == 200
    shipment = Shipment.objects.get(store_shipment_id="shp_1")
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at.isoformat() == "2026-03-04T12:30:00+00:00"


def test_shipment_upsert_for_an_order_not_synced_yet_is_a_400_and_stores_nothing(store_client, stored_counts):
    counts = stored_counts()

    response = store_client.put(SHIPMENTS.format("shp_1"), shipment_body(), format="json")

    message = "No order has store id 'ord_1'; sync the order first."
    assert response.status_code == 400
    assert response.json() == {"detail": message, "errors": {"store_order_id": [message]}}
    assert stored_counts() == counts


# --- who may sync -------------------------------------------------------------------

ENDPOINTS = [
    (CUSTOMERS.format("cus_9"), customer_body()),
    (PRODUCTS.format("prod_9"), product_body()),
    (ORDERS.format("ord_9"), order_body(number="#9009")),
    (SHIPMENTS.format("shp_9"), shipment_body()),
]
ENDPOINT_IDS = ["customers", "products", "orders", "shipments"]


@pytest.mark.parametrize(("url", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(("role", "status"), [(Role.AGENT, 403), (Role.SUPERVISOR, 403), (Role.ADMIN, 201)])
def test_only_a_token_with_orders_change_order_may_sync(
    token_client_for, staff_by_role, synced_order, stored_counts, url, body, role, status
):
    counts = stored_counts()

    response = token_client_for(staff_by_role[role]).put(url, body, format="json")

    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "This token may not sync store data."}
        assert stored_counts() == counts
    else:
        assert stored_counts() != counts


@pytest.mark.parametrize(("url", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_store_sync_without_a_token_is_a_401_and_changes_nothing(api_client, synced_order, stored_counts, url, body):
    counts = stored_counts()

    response = api_client.put(url, body, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert stored_counts() == counts


def test_store_sync_with_an_unknown_token_is_a_401(api_client, stored_counts):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.put(CUSTOMERS.format("cus_1"), customer_body(), format="json")

    assert response.status_code == 401
    assert Customer.objects.count() == 0


def test_a_store_id_longer_than_the_column_is_a_404(store_client):
    response = store_client.put(CUSTOMERS.format("c" * 101), customer_body(), format="json")

    assert response.status_code == 404
    assert CustomerIdentity.objects.count() == 0


# --- schema -------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_store_sync_endpoint(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    store_paths = {path: sorted(operations) for path, operations in paths.items() if path.startswith("/api/v1/store/")}
    assert store_paths == {
        "/api/v1/store/customers/{store_customer_id}/": ["put"],
        "/api/v1/store/products/{store_product_id}/": ["put"],
        "/api/v1/store/orders/{store_order_id}/": ["put"],
        "/api/v1/store/shipments/{store_shipment_id}/": ["put"],
        "/api/v1/store/webhooks/": ["post"],
    }
    webhook = paths["/api/v1/store/webhooks/"]["post"]
    assert webhook["operationId"] == "store_webhook_receive"
    assert {parameter["name"] for parameter in webhook["parameters"]} == {"X-Store-Timestamp", "X-Store-Signature"}
    assert sorted(webhook["responses"]) == ["200", "400", "401", "409"]
    order_put = paths["/api/v1/store/orders/{store_order_id}/"]["put"]
    assert sorted(order_put["responses"]) == ["200", "201", "400", "401", "403", "409"]
