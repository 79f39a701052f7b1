from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customers.merge import register_merge_step
        from tickets.services.customer_merge import tickets_follow_merged_customer

        register_merge_step(tickets_follow_merged_customer)
