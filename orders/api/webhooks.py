"""POST /api/v1/store/webhooks/: the store's signed order and shipment events, each applied once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.core.exceptions import ApplicationError
from orders.api.common import STORE_SYNC_TAG, StoreSyncErrorOutputSerializer
from orders.api.orders import StoreOrderInputSerializer
from orders.api.shipments import StoreShipmentInputSerializer
from orders.services import StoreEventType, store_webhook_event_apply

logger = logging.getLogger("orders.webhooks")

TIMESTAMP_HEADER = "X-Store-Timestamp"
SIGNATURE_HEADER = "X-Store-Signature"
SIGNATURE_PREFIX = "sha256="


class WebhookSignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def store_webhook_signature_verify(*, raw_body: bytes, timestamp: str | None, signature: str | None) -> None:
    """HMAC-SHA256 over "{timestamp}.{raw body}" with the shared secret, within the tolerance window."""
    if not timestamp or not signature:
        raise WebhookSignatureError(f"The {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required.")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} must be a Unix time in seconds.")
    if not signature.startswith(SIGNATURE_PREFIX):
        raise WebhookSignatureError(f'{SIGNATURE_HEADER} must look like "sha256=<hex digest>".')
    expected = hmac.new(
        settings.STORE_WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.removeprefix(SIGNATURE_PREFIX).encode()):
        raise WebhookSignatureError("The signature does not match the body.")
    age = int(time.time()) - int(timestamp)
    if age > settings.STORE_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureError(f"The timestamp is {age} seconds old; a replay is refused.")
    if -age > settings.STORE_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureError(f"The timestamp is {-age} seconds in the future; check the store's clock.")


def _reject_json_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


class StoreWebhookEventInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="The store's event id; a repeated id is applied once.")
    type = serializers.ChoiceField(
        choices=StoreEventType.choices,
        error_messages={
            "invalid_choice": 'Unknown event type "{input}"; expected one of ' + ", ".join(StoreEventType.values) + "."
        },
    )
    # The metaclass takes declared fields off the class, so this does not shadow Serializer.data.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text=(
            "For order events the body of PUT /store/orders/{id}/ plus store_order_id; for shipment events "
            "the body of PUT /store/shipments/{id}/ plus store_shipment_id."
        )
    )


class StoreOrderEventDataSerializer(StoreOrderInputSerializer):
    store_order_id = serializers.CharField(max_length=100)


class StoreShipmentEventDataSerializer(StoreShipmentInputSerializer):
    store_shipment_id = serializers.CharField(max_length=100)


EVENT_DATA_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    StoreEventType.ORDER_CREATED: StoreOrderEventDataSerializer,
    StoreEventType.ORDER_UPDATED: StoreOrderEventDataSerializer,
    StoreEventType.SHIPMENT_CREATED: StoreShipmentEventDataSerializer,
    StoreEventType.SHIPMENT_UPDATED: StoreShipmentEventDataSerializer,
}


class StoreWebhookOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="applied, or duplicate when the event id was received before.")


def _refuse(*, status: int, detail: str, extra: dict[str, Any] | None = None, event_id: str | None = None) -> Response:
    extra = extra or {}
    logger.warning(
        "Store webhook refused (%s, event %s): %s%s",
        status,
        event_id or "-",
        detail,
        f" {json.dumps(extra, sort_keys=True)}" if extra else "",
    )
    response = Response({"detail": detail, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = f'{SIGNATURE_HEADER} realm="store-webhooks"'
    return response


class StoreWebhookApi(APIView):
    # The signature is the authentication; the body is read raw (request.body) so it is checked over the
    # exact bytes the store signed, never over a re-serialised parse. The parser is only for the schema.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="store_webhook_receive",
        tags=[STORE_SYNC_TAG],
        summary="Receive a signed order or shipment event from the store",
        description=(
            "Signed with HMAC-SHA256 over `{X-Store-Timestamp}.{raw body}` using the shared store webhook "
            "secret; X-Store-Signature is `sha256=<hex digest>`. A timestamp more than "
            f"{settings.STORE_WEBHOOK_TOLERANCE_SECONDS} seconds old or ahead is refused. Event types: "
            + ", ".join(StoreEventType.values)
            + ". An event id already received is answered 200 with status duplicate and not applied again."
        ),
        auth=[],
        parameters=[
            OpenApiParameter(TIMESTAMP_HEADER, OpenApiTypes.INT, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
        ],
        request=StoreWebhookEventInputSerializer,
        responses={
            200: StoreWebhookOutputSerializer,
            400: OpenApiResponse(
                StoreSyncErrorOutputSerializer,
                description="Malformed JSON, an unknown event type, or event data failing validation.",
            ),
            401: OpenApiResponse(
                StoreSyncErrorOutputSerializer,
                description="Missing or wrong signature, or a timestamp outside the tolerance.",
            ),
            409: OpenApiResponse(
                StoreSyncErrorOutputSerializer, description="An order number already belongs to another order."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        raw_body = request.body
        try:
            store_webhook_signature_verify(
                raw_body=raw_body,
                timestamp=request.headers.get(TIMESTAMP_HEADER),
                signature=request.headers.get(SIGNATURE_HEADER),
            )
        except WebhookSignatureError as error:
            return _refuse(status=401, detail=error.reason)

        try:
            event = json.loads(raw_body, parse_constant=_reject_json_constant)
        except (ValueError, RecursionError) as error:
            return _refuse(status=400, detail=f"The body is not valid JSON: {error}")

        envelope = StoreWebhookEventInputSerializer(data=event)
        if not envelope.is_valid():
            raw_id = event.get("id") if isinstance(event, dict) else None
            return _refuse(
                status=400,
                detail="The event is not valid.",
                extra={"errors": envelope.errors},
                event_id=str(raw_id)[:100] if raw_id is not None else None,
            )
        event_id = envelope.validated_data["id"]
        event_type = envelope.validated_data["type"]

        data = EVENT_DATA_SERIALIZERS[event_type](data=envelope.validated_data["data"])
        if not data.is_valid():
            return _refuse(
                status=400, detail="The event data is not valid.", extra={"errors": data.errors}, event_id=event_id
            )

        try:
            is_applied = store_webhook_event_apply(
                event_id=event_id, event_type=event_type, payload=event, data=data.validated_data
            )
        except ApplicationError as error:
            return _refuse(status=error.status_code, detail=error.message, extra=error.extra, event_id=event_id)
        return Response({"status": "applied" if is_applied else "duplicate"})
