"""Reads of products, orders and shipments."""

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from orders.models import Order, Product, Shipment


def order_get_by_store_id(*, store_order_id: str) -> Order | None:
    return Order.objects.filter(store_order_id=store_order_id).first()


def product_ids_by_sku(*, skus: Iterable[str]) -> dict[str, int]:
    """Catalogue products for these SKUs, so order items link to what the store sells."""
    return dict(Product.objects.filter(sku__in=list(skus)).values_list("sku", "pk"))


def orders_with_items_and_shipments() -> QuerySet[Order]:
    """Orders as the customer sidebar shows them: items and shipments (newest first) as plain lists."""
    return Order.objects.prefetch_related(
        Prefetch("items", to_attr="item_list"),
        Prefetch("shipments", queryset=Shipment.objects.order_by("-created_at"), to_attr="shipment_list"),
    )


def order_get_by_number(*, number: str) -> Order | None:
    """An order by the number customers quote ("#20431", "20431" and " 20431 " are one order)."""
    number = number.strip()
    if not number:
        return None
    candidates = {number, number.lstrip("#"), f"#{number.lstrip('#')}"}
    return orders_with_items_and_shipments().filter(number__in=candidates).order_by("pk").first()
