"""Settings pages: admins keep priority rules, routing rules and auto-assignment; every agent sets availability."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import TextChoices
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import permission_required, staff_required
from accounts.models import Team
from accounts.services import agent_set_availability
from helpdesk.core.exceptions import ApplicationError
from helpdesk.core.redirects import posted_next
from tickets.choices import Channel, Priority
from tickets.models import PriorityRule, RoutingRule
from tickets.services.priority_rules import (
    priority_rule_create,
    priority_rule_delete,
    priority_rule_list,
    priority_rule_update,
)
from tickets.services.routing import (
    routing_rule_create,
    routing_rule_delete,
    routing_rule_list,
    routing_rule_update,
    team_list_for_routing,
    team_set_auto_assignment,
)
from tickets.settings_forms import AvailabilityForm, PriorityRuleForm, RoutingRuleForm, TeamAutoAssignmentForm

admin_only = permission_required("accounts.manage_settings")


def _labels(values: list[str], choices: type[TextChoices]) -> list[str]:
    return [str(choices(value).label) if value in choices.values else value for value in values]


def _posted(request: HttpRequest) -> QueryDict | None:
    # Not `request.POST or None`: a form with every box unticked posts an empty body and must still bind.
    return request.POST if request.method == "POST" else None


def _rule_form_page(
    request: HttpRequest,
    *,
    form: Any,
    save: Callable[[dict[str, Any]], object],
    saved_message: str,
    template: str,
    rule: object | None,
    list_url: str,
) -> HttpResponse:
    """Create or edit a rule: a valid POST calls ``save``; a domain error goes back on the form."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, saved_message)
            return redirect(list_url)
    return render(request, template, {"form": form, "rule": rule}, status=400 if request.method == "POST" else 200)


@admin_only
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/settings/index.html")


# --- Priority rules -------------------------------------------------------------------------------


@admin_only
def priority_rules(request: HttpRequest) -> HttpResponse:
    rows = [{"rule": rule, "channels": _labels(rule.channels, Channel)} for rule in priority_rule_list()]
    return render(request, "tickets/settings/priority_rules.html", {"rules": rows})


@admin_only
def priority_rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(
        request,
        form=PriorityRuleForm(_posted(request)),
        save=lambda data: priority_rule_create(actor=request.user, **data),
        saved_message=_("Priority rule created."),
        template="tickets/settings/priority_rule_form.html",
        rule=None,
        list_url="settings:priority-rules",
    )


@admin_only
def priority_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(PriorityRule, pk=rule_id)
    return _rule_form_page(
        request,
        form=PriorityRuleForm(_posted(request), initial=PriorityRuleForm.initial_for(rule)),
        save=lambda data: priority_rule_update(actor=request.user, rule_id=rule.pk, **data),
        saved_message=_("Priority rule saved."),
        template="tickets/settings/priority_rule_form.html",
        rule=rule,
        list_url="settings:priority-rules",
    )


@admin_only
def priority_rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(PriorityRule, pk=rule_id)
    if request.method == "POST":
        try:
            priority_rule_delete(actor=request.user, rule_id=rule.pk)
        except ApplicationError as error:  # deleted by someone else a moment ago
            messages.error(request, error.message)
        else:
            messages.success(request, _("Priority rule deleted."))
        return redirect("settings:priority-rules")
    return render(
        request,
        "tickets/settings/confirm_delete.html",
        {"what": _('the priority rule "%(name)s"') % {"name": rule.name}, "cancel": "settings:priority-rules"},
    )


# --- Routing rules --------------------------------------------------------------------------------


@admin_only
def routing_rules(request: HttpRequest) -> HttpResponse:
    rows = [
        {"rule": rule, "channels": _labels(rule.channels, Channel), "priorities": _labels(rule.priorities, Priority)}
        for rule in routing_rule_list()
    ]
    return render(request, "tickets/settings/routing_rules.html", {"rules": rows})


@admin_only
def routing_rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(
        request,
        form=RoutingRuleForm(_posted(request)),
        save=lambda data: routing_rule_create(actor=request.user, **data),
        saved_message=_("Routing rule created."),
        template="tickets/settings/routing_rule_form.html",
        rule=None,
        list_url="settings:routing-rules",
    )


@admin_only
def routing_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    return _rule_form_page(
        request,
        form=RoutingRuleForm(_posted(request), initial=RoutingRuleForm.initial_for(rule)),
        save=lambda data: routing_rule_update(actor=request.user, rule_id=rule.pk, **data),
        saved_message=_("Routing rule saved."),
        template="tickets/settings/routing_rule_form.html",
        rule=rule,
        list_url="settings:routing-rules",
    )


@admin_only
def routing_rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule.objects.select_related("team"), pk=rule_id)
    if request.method == "POST":
        try:
            routing_rule_delete(actor=request.user, rule_id=rule.pk)
        except ApplicationError as error:  # deleted by someone else a moment ago
            messages.error(request, error.message)
        else:
            messages.success(request, _("Routing rule deleted."))
        return redirect("settings:routing-rules")
    return render(
        request,
        "tickets/settings/confirm_delete.html",
        {"what": _("the routing rule to %(team)s") % {"team": rule.team.name}, "cancel": "settings:routing-rules"},
    )


# --- Teams: the auto-assignment switch ------------------------------------------------------------


@admin_only
def teams(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/settings/teams.html", {"teams": team_list_for_routing()})


@admin_only
@require_POST
def team_auto_assignment(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id)
    form = TeamAutoAssignmentForm(request.POST)
    form.is_valid()  # a lone optional checkbox: always valid, absent means off
    team = team_set_auto_assignment(
        actor=request.user, team_id=team.pk, is_enabled=form.cleaned_data.get("is_enabled", False)
    )
    if team.is_auto_assignment_enabled:
        messages.success(request, _("Auto-assignment is on for %(team)s.") % {"team": team.name})
    else:
        messages.success(request, _("Auto-assignment is off for %(team)s.") % {"team": team.name})
    return redirect("settings:teams")


# --- Every agent: their own availability ----------------------------------------------------------


@staff_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """The top bar's toggle: htmx swaps in the new toggle; a plain post goes back where it came from."""
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose available or away."), status=400)
    try:
        profile = agent_set_availability(user=request.user, availability=form.cleaned_data["availability"])
    except ApplicationError as error:
        return HttpResponse(error.message, status=400)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "tickets/settings/_availability.html", {"availability": profile.availability})
    return redirect(posted_next(request, default="/"))
