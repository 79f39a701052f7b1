"""PUT /api/v1/store/shipments/{store_shipment_id}/: the store creates or replaces a shipment."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.common import STORE_SYNC_ERROR_RESPONSES, STORE_SYNC_TAG, StoreSyncApi
from orders.choices import ShipmentStatus
from orders.models import Shipment
from orders.services import shipment_upsert


class StoreShipmentInputSerializer(serializers.Serializer):
    store_order_id = serializers.CharField(max_length=100, help_text="The store's id of a synced order.")
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=100, allow_blank=True, default="")
    tracking_url = serializers.URLField(max_length=500, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    shipped_at = serializers.DateTimeField(allow_null=True, default=None)
    estimated_delivery_at = serializers.DateTimeField(allow_null=True, default=None)
    delivered_at = serializers.DateTimeField(allow_null=True, default=None)


class StoreShipmentOutputSerializer(serializers.ModelSerializer):
    store_order_id = serializers.CharField(source="order.store_order_id")

    class Meta:
        model = Shipment
        fields = [
            "id",
            "store_shipment_id",
            "store_order_id",
            "carrier",
            "tracking_number",
            "tracking_url",
            "status",
            "shipped_at",
            "estimated_delivery_at",
            "delivered_at",
        ]


class StoreShipmentUpsertApi(StoreSyncApi):
    @extend_schema(
        operation_id="store_shipment_upsert",
        tags=[STORE_SYNC_TAG],
        summary="Create or replace a shipment by the store's id",
        description=(
            "Idempotent on the store's shipment id: 201 when created, 200 otherwise (an unchanged payload "
            "writes nothing). The order is named by the store's order id and must be synced first."
        ),
        request=StoreShipmentInputSerializer,
        responses={
            200: StoreShipmentOutputSerializer,
            201: StoreShipmentOutputSerializer,
            **STORE_SYNC_ERROR_RESPONSES,
        },
    )
    def put(self, request: Request, store_shipment_id: str) -> Response:
        serializer = StoreShipmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shipment, created = shipment_upsert(store_shipment_id=store_shipment_id, **serializer.validated_data)
        return Response(StoreShipmentOutputSerializer(shipment).data, status=201 if created else 200)
