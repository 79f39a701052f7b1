from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customers.merge import register_merge_step
        from tickets.services.customer_merge import tickets_follow_merged_customer

        register_merge_step(tickets_follow_merged_customer)

        from accounts.services import register_availability_listener
        from tickets.services.routing import routing_after_availability_change

        # accounts cannot import tickets: an agent who becomes available reaches routing this way.
        register_availability_listener(routing_after_availability_change)

        from tickets.events import register_ticket_listener
        from tickets.services.webhooks import webhook_events_record

        register_ticket_listener(webhook_events_record)  # outbound webhooks hear of every ticket change
