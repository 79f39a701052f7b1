"""PUT /api/v1/store/products/{store_product_id}/: the store creates or replaces a product."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orders.api.common import STORE_SYNC_ERROR_RESPONSES, STORE_SYNC_TAG, CurrencyField, MoneyField, StoreSyncApi
from orders.models import Product
from orders.services import product_upsert


class StoreProductInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    price = MoneyField()
    currency = CurrencyField()
    stock_on_hand = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1, default=0)


class StoreProductOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "store_product_id", "sku", "name", "price", "currency", "stock_on_hand"]


class StoreProductUpsertApi(StoreSyncApi):
    @extend_schema(
        operation_id="store_product_upsert",
        tags=[STORE_SYNC_TAG],
        summary="Create or replace a product by the store's id",
        description=(
            "Idempotent on the store's product id: 201 when created, 200 otherwise (an unchanged payload "
            "writes nothing). A product the helpdesk already has with that SKU and no store id is linked; "
            "one linked to another store product is a 409."
        ),
        request=StoreProductInputSerializer,
        responses={200: StoreProductOutputSerializer, 201: StoreProductOutputSerializer, **STORE_SYNC_ERROR_RESPONSES},
    )
    def put(self, request: Request, store_product_id: str) -> Response:
        serializer = StoreProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product, created = product_upsert(store_product_id=store_product_id, **serializer.validated_data)
        return Response(StoreProductOutputSerializer(product).data, status=201 if created else 200)
