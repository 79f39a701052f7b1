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

        self._connect_rule_cache()

    @staticmethod
    def _connect_rule_cache() -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import Team, User
        from tickets.models import Macro, PriorityRule, RoutingRule, SlaPolicy, Tag, WebhookEndpoint
        from tickets.rule_cache import rules_changed

        # Any change to what tickets.rule_cache keeps (admin pages included) makes every process read it again:
        # the rules, and the ticket page's pickers (macros, staff, teams, tags).
        for model in (PriorityRule, RoutingRule, SlaPolicy, WebhookEndpoint, Team, Macro, User, Tag):
            post_save.connect(rules_changed, sender=model, dispatch_uid=f"rule-cache-save-{model.__name__}")
            post_delete.connect(rules_changed, sender=model, dispatch_uid=f"rule-cache-delete-{model.__name__}")
        m2m_changed.connect(rules_changed, sender=RoutingRule.tags.through, dispatch_uid="rule-cache-routing-tags")
