"""Reads of products, orders and shipments."""

from collections.abc import Iterable

from orders.models import Order, Product


def order_get_by_store_id(*, store_order_id: str) -> Order | None:
    return Order.objects.filter(store_order_id=store_order_id).first()


def product_ids_by_sku(*, skus: Iterable[str]) -> dict[str, int]:
    """Catalogue products for these SKUs, so order items link to what the store sells."""
    return dict(Product.objects.filter(sku__in=list(skus)).values_list("sku", "pk"))
