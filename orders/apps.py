from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # customers sits below orders, so it cannot move orders itself during a merge.
        from customers.merge import register_merge_step
        from orders.services import order_customer_reassign

        register_merge_step(order_customer_reassign)
