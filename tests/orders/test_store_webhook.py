import hashlib
import hmac
import json
import logging
import re
import time
from decimal import Decimal

import pytest
from django.test import Client

from orders.models import Order, Shipment, StoreWebhookEvent
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory, StoreWebhookEventFactory

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/store/webhooks/"
SECRET = "test-store-webhook-secret"


def sign(body: bytes, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Headers as the store sends them: HMAC-SHA256 over "{timestamp}.{raw body}"."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_STORE_TIMESTAMP": stamp, "HTTP_X_STORE_SIGNATURE": f"sha256={digest}"}


def order_data(**overrides):
    return {
        "store_order_id": "ord_1",
        "number": "#1001",
        "store_customer_id": "cus_1",
        "status": "paid",
        "currency": "USD",
        "subtotal": "49.80",
        "total": "49.80",
        "amount_paid": "49.80",
        "placed_at": "2026-03-01T10:00:00Z",
        "items": [
            {"sku": "SHIRT-L", "name": "Linen shirt", "quantity": 2, "unit_price": "24.90", "line_total": "49.80"}
        ],
        **overrides,
    }


def shipment_data(**overrides):
    return {
        "store_shipment_id": "shp_1",
        "store_order_id": "ord_1",
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "tracking_url": "https://track.example.test/1Z999",
        "status": "in_transit",
        "shipped_at": "2026-03-02T08:00:00Z",
        **overrides,
    }


def event_body(event_type="order.created", data=None, event_id="evt_1") -> bytes:
    return json.dumps({"id": event_id, "type": event_type, "data": order_data() if data is None else data}).encode()


def post(client, body: bytes, headers: dict[str, str]):
    return client.generic("POST", WEBHOOK, body, content_type="application/json", **headers)


@pytest.fixture
def store_customer():
    return CustomerFactory(store_customer_id="cus_1")


def refusals(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "orders.webhooks" and record.levelno == logging.WARNING
    ]


# --- applied ------------------------------------------------------------------------


def test_a_signed_order_created_event_is_applied_and_recorded(client, store_customer):
    body = event_body()

    response = post(client, body, sign(body))

    assert response.status_code == 200
    assert response.json() == {"status": "applied"}
    order = Order.objects.get(store_order_id="ord_1")
    assert (order.number, order.customer_id, order.total) == ("#1001", store_customer.pk, Decimal("49.80"))
    assert list(order.items.values_list("sku", "quantity")) == [("SHIRT-L", 2)]
    event = StoreWebhookEvent.objects.get()
    assert (event.event_id, event.event_type, event.payload) == ("evt_1", "order.created", json.loads(body))


def test_the_webhook_needs_no_csrf_token_and_no_session(store_customer):
    body = event_body()

    response = post(Client(enforce_csrf_checks=True), body, sign(body))

    assert response.status_code == 200
    assert Order.objects.filter(store_order_id="ord_1").count() == 1


def test_an_order_updated_event_replaces_the_order(client, store_customer):
    OrderFactory(store_order_id="ord_1", number="#1001", customer=store_customer)
    body = event_body("order.updated", order_data(status="refunded", amount_paid="0.00"))

    response = post(client, body, sign(body))

    assert response.status_code == 200
    order = Order.objects.get(store_order_id="ord_1")
    assert (order.status, order.amount_paid) == ("refunded", Decimal("0.00"))


def test_shipment_created_then_updated_events_track_the_parcel(client, store_customer):
    OrderFactory(store_order_id="ord_1", customer=store_customer)
    created = event_body("shipment.created", shipment_data(), event_id="evt_1")
    delivered = event_body(
        "shipment.updated", shipment_data(status="delivered", delivered_at="2026-03-04T12:00:00Z"), event_id="evt_2"
    )

    first = post(client, created, sign(created))
    second = post(client, delivered, sign(delivered))

    assert (first.status_code, second.status_code) == (200, 200)
    shipment = Shipment.objects.get(store_shipment_id="shp_1")
    assert (shipment.status, shipment.tracking_number) == ("delivered", "1Z999")
    assert shipment.delivered_at.isoformat() == "2026-03-04T12:00:00+00:00"
    assert StoreWebhookEvent.objects.count() == 2


def test_the_signature_is_checked_over_the_exact_raw_bytes(client, store_customer):
    # Spacing, key order and escapes that a re-serialised parse would not reproduce.
    body = (
        b'{ "type" : "order.created",\n  "id": "evt_\\u0031",\n  "data": '
        + json.dumps(order_data(), indent=4).encode()
        + b"}\n"
    )

    response = post(client, body, sign(body))

    assert response.status_code == 200
    assert StoreWebhookEvent.objects.get().event_id == "evt_1"


def test_a_repeated_event_id_is_applied_once(client, store_customer):
    body = event_body()
    replay_with_other_data = event_body(data=order_data(total="1.00"))

    first = post(client, body, sign(body))
    second = post(client, replay_with_other_data, sign(replay_with_other_data))

    assert first.json() == {"status": "applied"}
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate"}
    assert Order.objects.get(store_order_id="ord_1").total == Decimal("49.80")
    assert StoreWebhookEvent.objects.count() == 1


def test_an_event_recorded_earlier_is_not_applied_again(client, store_customer):
    StoreWebhookEventFactory(event_id="evt_1")
    body = event_body()

    response = post(client, body, sign(body))

    assert response.json() == {"status": "duplicate"}
    assert Order.objects.count() == 0


# --- refused: signature and timestamp -----------------------------------------------


@pytest.mark.parametrize(
    ("headers_for", "reason"),
    [
        (lambda body: {}, "The X-Store-Timestamp and X-Store-Signature headers are required."),
        (
            lambda body: {"HTTP_X_STORE_TIMESTAMP": sign(body)["HTTP_X_STORE_TIMESTAMP"]},
            "The X-Store-Timestamp and X-Store-Signature headers are required.",
        ),
        (
            lambda body: {"HTTP_X_STORE_SIGNATURE": sign(body)["HTTP_X_STORE_SIGNATURE"]},
            "The X-Store-Timestamp and X-Store-Signature headers are required.",
        ),
        (lambda body: sign(body, secret="not-the-secret"), "The signature does not match the body."),
        (lambda body: sign(body + b" "), "The signature does not match the body."),
        (
            lambda body: {**sign(body), "HTTP_X_STORE_SIGNATURE": sign(body)["HTTP_X_STORE_SIGNATURE"][7:]},
            'X-Store-Signature must look like "sha256=<hex digest>".',
        ),
        (
            lambda body: {**sign(body), "HTTP_X_STORE_SIGNATURE": "sha256=zz\u00e9"},
            "The signature does not match the body.",
        ),
        (
            lambda body: {**sign(body), "HTTP_X_STORE_TIMESTAMP": "yesterday"},
            "X-Store-Timestamp must be a Unix time in seconds.",
        ),
    ],
    ids=[
        "no-headers",
        "no-signature",
        "no-timestamp",
        "wrong-secret",
        "body-changed",
        "no-sha256-prefix",
        "not-hex",
        "timestamp-not-a-number",
    ],
)
def test_a_missing_or_wrong_signature_is_a_401_and_stores_nothing(
    client, store_customer, stored_counts, caplog, headers_for, reason
):
    body = event_body()
    counts = stored_counts()

    response = post(client, body, headers_for(body))

    assert response.status_code == 401
    assert response.json() == {"detail": reason}
    assert stored_counts() == counts
    assert refusals(caplog) == [f"Store webhook refused (401, event -): {reason}"]


def test_a_timestamp_older_than_the_tolerance_is_a_401_and_stores_nothing(
    client, store_customer, stored_counts, caplog
):
    body = event_body()
    counts = stored_counts()

    response = post(client, body, sign(body, timestamp=int(time.time()) - 3600))

    assert response.status_code == 401
    # 3600, or 3601 when a second ticks over between signing and the check.
    assert re.match(r"The timestamp is 360[01] seconds old", response.json()["detail"])
    assert stored_counts() == counts
    assert len(refusals(caplog)) == 1
    assert "seconds old; a replay is refused." in refusals(caplog)[0]


def test_a_timestamp_too_far_in_the_future_is_a_401_and_stores_nothing(client, store_customer, stored_counts, caplog):
    body = event_body()
    counts = stored_counts()

    response = post(client, body, sign(body, timestamp=int(time.time()) + 3600))

    assert response.status_code == 401
    assert response.json()["detail"].endswith("seconds in the future; check the store's clock.")
    assert stored_counts() == counts
    assert len(refusals(caplog)) == 1
    assert "seconds in the future" in refusals(caplog)[0]


def test_a_timestamp_inside_the_tolerance_is_accepted(client, store_customer):
    body = event_body()

    response = post(client, body, sign(body, timestamp=int(time.time()) - 240))

    assert response.status_code == 200


# --- refused: body ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"id": "evt_1", "type": ', "The body is not valid JSON: Expecting value: line 1 column 25 (char 24)"),
        (b"", "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (
            b"\xff\xfe\x00",
            "The body is not valid JSON: 'utf-16-le' codec can't decode byte 0x00 in position 2: truncated data",
        ),
        (b'{"id": NaN}', "The body is not valid JSON: NaN is not a JSON value"),
    ],
    ids=["truncated", "empty", "not-text", "nan"],
)
def test_malformed_json_is_a_400_and_stores_nothing(client, stored_counts, caplog, body, detail):
    counts = stored_counts()

    response = post(client, body, sign(body))

    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert stored_counts() == counts
    assert refusals(caplog) == [f"Store webhook refused (400, event -): {detail}"]


def test_an_unknown_event_type_is_a_400_and_stores_nothing(client, store_customer, stored_counts, caplog):
    body = event_body("order.deleted")
    counts = stored_counts()

    response = post(client, body, sign(body))

    errors = {
        "type": [
            'Unknown event type "order.deleted"; expected one of '
            "order.created, order.updated, shipment.created, shipment.updated."
        ]
    }
    assert response.status_code == 400
    assert response.json() == {"detail": "The event is not valid.", "errors": errors}
    assert stored_counts() == counts
    assert refusals(caplog) == [
        "Store webhook refused (400, event evt_1): The event is not valid. "
        + json.dumps({"errors": errors}, sort_keys=True)
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b"[]", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        (
            json.dumps({"type": "order.created", "data": "ord_1"}).encode(),
            {"id": ["This field is required."], "data": ['Expected a dictionary of items but got type "str".']},
        ),
    ],
    ids=["not-an-object", "no-id-and-data-not-an-object"],
)
def test_an_event_without_its_envelope_is_a_400_and_stores_nothing(client, stored_counts, caplog, body, errors):
    counts = stored_counts()

    response = post(client, body, sign(body))

    assert response.status_code == 400
    assert response.json() == {"detail": "The event is not valid.", "errors": errors}
    assert stored_counts() == counts
    assert len(refusals(caplog)) == 1


def test_event_data_failing_validation_is_a_400_with_the_field_errors_and_stores_nothing(
    client, store_customer, stored_counts, caplog
):
    data = order_data(total=49.8, currency="dollars")
    del data["store_order_id"]
    body = event_body(data=data)
    counts = stored_counts()

    response = post(client, body, sign(body))

    errors = {
        "store_order_id": ["This field is required."],
        "currency": ['Use a three-letter ISO 4217 code in capitals, such as "USD".'],
        "total": ['Send amounts as decimal strings such as "19.99", never as numbers.'],
    }
    assert response.status_code == 400
    assert response.json() == {"detail": "The event data is not valid.", "errors": errors}
    assert stored_counts() == counts
    assert refusals(caplog) == [
        "Store webhook refused (400, event evt_1): The event data is not valid. "
        + json.dumps({"errors": errors}, sort_keys=True)
    ]


def test_an_event_for_a_customer_not_synced_yet_is_a_400_and_its_retry_is_applied_later(client, stored_counts, caplog):
    body = event_body()
    counts = stored_counts()

    refused = post(client, body, sign(body))

    message = "No customer has store id 'cus_1'; sync the customer first."
    assert refused.status_code == 400
    assert refused.json() == {"detail": message, "errors": {"store_customer_id": [message]}}
    assert stored_counts() == counts
    assert len(refusals(caplog)) == 1

    CustomerFactory(store_customer_id="cus_1")
    retried = post(client, body, sign(body))

    assert retried.json() == {"status": "applied"}
    assert Order.objects.filter(store_order_id="ord_1").count() == 1


def test_the_webhook_accepts_only_post(client):
    response = client.get(WEBHOOK)

    assert response.status_code == 405
    assert StoreWebhookEvent.objects.count() == 0
