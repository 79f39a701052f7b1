"""Writes to products, orders and shipments: the store sync upserts and the store's webhook events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from customers.selectors import customer_get_by_store_id
from helpdesk.core.exceptions import ApplicationError, ConflictError
from orders.models import Order, OrderItem, Product, Shipment, StoreWebhookEvent
from orders.selectors import order_get_by_store_id, product_ids_by_sku

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
ModelT = TypeVar("ModelT", bound=models.Model)


class StoreReferenceError(ApplicationError):
    """The payload names a store record the helpdesk has not been sent yet."""

    def __init__(self, *, field: str, message: str) -> None:
        super().__init__(message, extra={"errors": {field: [message]}})


class StoreSyncConflictError(ConflictError):
    """A natural key (SKU, order number) already belongs to a record linked to another store id."""


class StoreEventType(models.TextChoices):
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    SHIPMENT_CREATED = "shipment.created"
    SHIPMENT_UPDATED = "shipment.updated"


class OrderItemInput(TypedDict):
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


def _assign_changes(instance: models.Model, values: Mapping[str, object]) -> list[str]:
    """Set the fields that differ and name them, so an unchanged sync writes nothing."""
    changed = []
    for field, value in values.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    return changed


def _pick_for_upsert(
    rows: Sequence[ModelT], *, store_field: str, store_id: str, key_field: str, key: str, key_label: str
) -> ModelT | None:
    """Of the rows matching the store id or the natural key, the one this sync writes to.

    A row with the natural key and no store id is one the helpdesk made before the store sent it:
    it is linked, not duplicated. One linked to another store id is a conflict.
    """
    linked = next((row for row in rows if getattr(row, store_field) == store_id), None)
    holder = next((row for row in rows if getattr(row, key_field) == key and row is not linked), None)
    if holder is None:
        return linked
    if linked is None and getattr(holder, store_field) is None:
        return holder
    raise StoreSyncConflictError(
        f"{key_label} {key} already belongs to another record (store id {getattr(holder, store_field)}).",
        extra={"conflicting_id": holder.pk},
    )


def _concurrent_sync_conflict(error: IntegrityError) -> ConflictError:
    return ConflictError("Another sync of this record ran at the same time; send it again.")


def product_upsert(
    *,
    store_product_id: str,
    sku: str,
    name: str,
    price: Decimal,
    currency: str,
    stock_on_hand: int = 0,
) -> tuple[Product, bool]:
    """Create or replace the product the store knows by this id; returns (product, created)."""
    values: dict[str, object] = {
        "store_product_id": store_product_id,
        "sku": sku,
        "name": name,
        "price": price,
        "currency": currency,
        "stock_on_hand": stock_on_hand,
    }
    try:
        with transaction.atomic():
            rows = list(
                Product.objects.select_for_update()
                .filter(Q(store_product_id=store_product_id) | Q(sku=sku))
                .order_by("pk")
            )
            product = _pick_for_upsert(
                rows,
                store_field="store_product_id",
                store_id=store_product_id,
                key_field="sku",
                key=sku,
                key_label="SKU",
            )
            if product is None:
                return Product.objects.create(**values), True
            changed = _assign_changes(product, values)
            if changed:
                product.save(update_fields=[*changed, "updated_at"])
            return product, False
    except IntegrityError as error:
        raise _concurrent_sync_conflict(error) from error


def order_upsert(
    *,
    store_order_id: str,
    number: str,
    store_customer_id: str,
    status: str,
    currency: str,
    total: Decimal,
    placed_at: datetime,
    items: Sequence[OrderItemInput],
    subtotal: Decimal = ZERO,
    shipping_total: Decimal = ZERO,
    tax_total: Decimal = ZERO,
    discount_total: Decimal = ZERO,
    amount_paid: Decimal = ZERO,
    paid_at: datetime | None = None,
) -> tuple[Order, bool]:
    """Create or replace the order the store knows by this id, items included; returns (order, created).

    Items are matched by SKU: changed ones are updated, new ones added, missing ones removed.
    """
    try:
        with transaction.atomic():
            rows = list(
                Order.objects.select_for_update()
                .filter(Q(store_order_id=store_order_id) | Q(number=number))
                .order_by("pk")
            )
            order = _pick_for_upsert(
                rows,
                store_field="store_order_id",
                store_id=store_order_id,
                key_field="number",
                key=number,
                key_label="Order number",
            )
            customer = customer_get_by_store_id(store_customer_id=store_customer_id)
            if customer is None:
                raise StoreReferenceError(
                    field="store_customer_id",
                    message=f"No customer has store id {store_customer_id!r}; sync the customer first.",
                )
            values: dict[str, object] = {
                "store_order_id": store_order_id,
                "number": number,
                "customer_id": customer.pk,
                "status": status,
                "currency": currency,
                "subtotal": subtotal,
                "shipping_total": shipping_total,
                "tax_total": tax_total,
                "discount_total": discount_total,
                "total": total,
                "amount_paid": amount_paid,
                "placed_at": placed_at,
                "paid_at": paid_at,
            }
            created = order is None
            if order is None:
                order = Order.objects.create(**values)
            else:
                changed = _assign_changes(order, values)
                if changed:
                    order.save(update_fields=[*changed, "updated_at"])
            order.customer = customer
            _order_items_replace(order=order, items=items, is_new_order=created)
            return order, created
    except IntegrityError as error:
        raise _concurrent_sync_conflict(error) from error


def _order_items_replace(*, order: Order, items: Sequence[OrderItemInput], is_new_order: bool) -> None:
    product_ids = product_ids_by_sku(skus=[item["sku"] for item in items])
    existing = {} if is_new_order else {item.sku: item for item in order.items.all()}
    to_create: list[OrderItem] = []
    to_update: list[OrderItem] = []
    for item in items:
        values = {
            "name": item["name"],
            "quantity": item["quantity"],
            "unit_price": item["unit_price"],
            "line_total": item["line_total"],
            "product_id": product_ids.get(item["sku"]),
        }
        current = existing.pop(item["sku"], None)
        if current is None:
            to_create.append(OrderItem(order=order, sku=item["sku"], **values))
        elif _assign_changes(current, values):
            to_update.append(current)
    if existing:
        OrderItem.objects.filter(pk__in=[item.pk for item in existing.values()]).delete()
    if to_update:
        OrderItem.objects.bulk_update(to_update, fields=["name", "quantity", "unit_price", "line_total", "product"])
    if to_create:
        OrderItem.objects.bulk_create(to_create)


def shipment_upsert(
    *,
    store_shipment_id: str,
    store_order_id: str,
    carrier: str,
    status: str,
    tracking_number: str = "",
    tracking_url: str = "",
    shipped_at: datetime | None = None,
    estimated_delivery_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> tuple[Shipment, bool]:
    """Create or replace the shipment the store knows by this id; returns (shipment, created)."""
    try:
        with transaction.atomic():
            order = order_get_by_store_id(store_order_id=store_order_id)
            if order is None:
                raise StoreReferenceError(
                    field="store_order_id",
                    message=f"No order has store id {store_order_id!r}; sync the order first.",
                )
            values: dict[str, object] = {
                "order_id": order.pk,
                "carrier": carrier,
                "status": status,
                "tracking_number": tracking_number,
                "tracking_url": tracking_url,
                "shipped_at": shipped_at,
                "estimated_delivery_at": estimated_delivery_at,
                "delivered_at": delivered_at,
            }
            shipment = Shipment.objects.select_for_update().filter(store_shipment_id=store_shipment_id).first()
            created = shipment is None
            if shipment is None:
                shipment = Shipment.objects.create(store_shipment_id=store_shipment_id, **values)
            else:
                changed = _assign_changes(shipment, values)
                if changed:
                    shipment.save(update_fields=[*changed, "updated_at"])
            shipment.order = order
            return shipment, created
    except IntegrityError as error:
        raise _concurrent_sync_conflict(error) from error


_EVENT_APPLIERS: dict[str, Callable[..., object]] = {
    StoreEventType.ORDER_CREATED: order_upsert,
    StoreEventType.ORDER_UPDATED: order_upsert,
    StoreEventType.SHIPMENT_CREATED: shipment_upsert,
    StoreEventType.SHIPMENT_UPDATED: shipment_upsert,
}


def store_webhook_event_apply(
    *, event_id: str, event_type: str, payload: dict[str, Any], data: Mapping[str, Any]
) -> bool:
    """Record the store's event and apply it in one transaction; False when the id was seen before.

    The unique event id is the guard: a concurrent second delivery waits on the first one's insert and
    then finds it, and a failed apply rolls the record back so the store's retry is applied.
    """
    apply = _EVENT_APPLIERS[event_type]
    with transaction.atomic():
        try:
            with transaction.atomic():
                StoreWebhookEvent.objects.create(event_id=event_id, event_type=event_type, payload=payload)
        except IntegrityError:
            logger.info("Store event %s was already applied", event_id)
            return False
        apply(**data)
    return True


def order_customer_reassign(*, source: Customer, target: Customer) -> None:
    """The orders step of a customer merge (registered in OrdersConfig.ready)."""
    Order.objects.filter(customer=source).update(customer=target, updated_at=timezone.now())
