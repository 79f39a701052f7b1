from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customers.merge import register_merge_step
        from surveys.services import responses_follow_merged_customer

        register_merge_step(responses_follow_merged_customer)

        from surveys.selectors import past_ratings_for_customer
        from tickets.customer_history import register_ratings_reader

        # tickets cannot import surveys: the ticket page's sidebar reads past ratings through this.
        register_ratings_reader(past_ratings_for_customer)
