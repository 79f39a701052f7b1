"""PUT /api/v1/store/orders/{store_order_id}/: the store creates or replaces an order with its items."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.common import STORE_SYNC_ERROR_RESPONSES, STORE_SYNC_TAG, CurrencyField, MoneyField, StoreSyncApi
from orders.choices import OrderStatus
from orders.models import Order, OrderItem
from orders.services import order_upsert

ZERO = Decimal("0")


class StoreOrderItemInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    unit_price = MoneyField()
    line_total = MoneyField()


class StoreOrderInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The order number customers see, e.g. #1001.")
    store_customer_id = serializers.CharField(max_length=100, help_text="The store's id of a synced customer.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = CurrencyField()
    subtotal = MoneyField(default=ZERO)
    shipping_total = MoneyField(default=ZERO)
    tax_total = MoneyField(default=ZERO)
    discount_total = MoneyField(default=ZERO)
    total = MoneyField()
    amount_paid = MoneyField(default=ZERO)
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True, default=None)
    items = StoreOrderItemInputSerializer(many=True, allow_empty=False)

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        skus = [item["sku"] for item in items]
        repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
        if repeated:
            raise serializers.ValidationError(f"Each SKU appears once per order; repeated: {', '.join(repeated)}.")
        return items


class StoreOrderItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["sku", "name", "quantity", "unit_price", "line_total", "product_id"]


class StoreOrderOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField()
    items = StoreOrderItemOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "store_order_id",
            "number",
            "customer_id",
            "status",
            "currency",
            "subtotal",
            "shipping_total",
            "tax_total",
            "discount_total",
            "total",
            "amount_paid",
            "placed_at",
            "paid_at",
            "items",
        ]


class StoreOrderUpsertApi(StoreSyncApi):
    @extend_schema(
        operation_id="store_order_upsert",
        tags=[STORE_SYNC_TAG],
        summary="Create or replace an order and its items by the store's id",
        description=(
            "Idempotent on the store's order id: 201 when created, 200 otherwise (an unchanged payload "
            "writes nothing). The customer is named by the store's customer id and must be synced first. "
            "Amounts are decimal strings in the order's currency. Items are matched by SKU: changed ones "
            "are updated, new ones added, ones no longer sent removed."
        ),
        request=StoreOrderInputSerializer,
        responses={200: StoreOrderOutputSerializer, 201: StoreOrderOutputSerializer, **STORE_SYNC_ERROR_RESPONSES},
    )
    def put(self, request: Request, store_order_id: str) -> Response:
        serializer = StoreOrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = order_upsert(store_order_id=store_order_id, **serializer.validated_data)
        return Response(StoreOrderOutputSerializer(order).data, status=201 if created else 200)
