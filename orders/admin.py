from django.contrib import admin

from orders.models import Order, OrderItem, Product, Shipment, StoreWebhookEvent


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


class ShipmentInline(admin.TabularInline):
    model = Shipment
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "status", "total", "currency", "placed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "store_order_id", "customer__name"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    inlines = [OrderItemInline, ShipmentInline]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "price", "currency", "stock_on_hand"]
    search_fields = ["sku", "name"]


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["order", "carrier", "tracking_number", "status", "estimated_delivery_at"]
    list_filter = ["status", "carrier"]
    raw_id_fields = ["order"]


@admin.register(StoreWebhookEvent)
class StoreWebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "created_at"]
    readonly_fields = ["event_id", "event_type", "payload", "created_at"]
