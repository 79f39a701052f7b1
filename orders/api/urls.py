"""Store sync API routes: PUT upserts keyed by the store's ids, and the signed webhook."""

from django.urls import path, re_path

from orders.api.common import STORE_ID_PATTERN
from orders.api.customers import StoreCustomerUpsertApi
from orders.api.orders import StoreOrderUpsertApi
from orders.api.products import StoreProductUpsertApi
from orders.api.shipments import StoreShipmentUpsertApi
from orders.api.webhooks import StoreWebhookApi

urlpatterns = [
    re_path(
        rf"^customers/(?P<store_customer_id>{STORE_ID_PATTERN})/$",
        StoreCustomerUpsertApi.as_view(),
        name="store-customer-upsert",
    ),
    re_path(
        rf"^products/(?P<store_product_id>{STORE_ID_PATTERN})/$",
        StoreProductUpsertApi.as_view(),
        name="store-product-upsert",
    ),
    re_path(
        rf"^orders/(?P<store_order_id>{STORE_ID_PATTERN})/$", StoreOrderUpsertApi.as_view(), name="store-order-upsert"
    ),
    re_path(
        rf"^shipments/(?P<store_shipment_id>{STORE_ID_PATTERN})/$",
        StoreShipmentUpsertApi.as_view(),
        name="store-shipment-upsert",
    ),
    path("webhooks/", StoreWebhookApi.as_view(), name="store-webhook"),
]
