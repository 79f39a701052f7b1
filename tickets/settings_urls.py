"""Settings pages mounted at /settings/: automation for admins, availability for every agent."""

from django.urls import path

from tickets import settings_views as views

app_name = "settings"
urlpatterns = [
    path("", views.settings_index, name="index"),
    path("priority-rules/", views.priority_rules, name="priority-rules"),
    path("priority-rules/new/", views.priority_rule_new, name="priority-rule-new"),
    path("priority-rules/<int:rule_id>/", views.priority_rule_edit, name="priority-rule-edit"),
    path("priority-rules/<int:rule_id>/delete/", views.priority_rule_remove, name="priority-rule-delete"),
    path("routing-rules/", views.routing_rules, name="routing-rules"),
    path("routing-rules/new/", views.routing_rule_new, name="routing-rule-new"),
    path("routing-rules/<int:rule_id>/", views.routing_rule_edit, name="routing-rule-edit"),
    path("routing-rules/<int:rule_id>/delete/", views.routing_rule_remove, name="routing-rule-delete"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/auto-assignment/", views.team_auto_assignment, name="team-auto-assignment"),
    path("availability/", views.availability, name="availability"),
]
