"""Forms for the admins' automation settings (priority rules, routing rules, auto-assignment) and availability."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import Availability
from accounts.models import Team
from tickets.choices import Channel, Priority
from tickets.models import PriorityRule, RoutingRule, Tag


class CommaSeparatedField(forms.CharField):
    """A list of short texts typed as "a, b, c"; blanks and repeats are dropped."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if not value:
            return []
        items = [" ".join(item.split()) for item in str(value).split(",")]
        return list(dict.fromkeys(item for item in items if item))


class PriorityRuleForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Set priority to"))
    keywords = CommaSeparatedField(
        required=False,
        label=_("Keywords"),
        help_text=_("Comma-separated words or phrases, such as: charged twice, chargeback. Any one matches."),
    )
    is_vip_only = forms.BooleanField(required=False, label=_("Only for VIP customers"))
    min_order_total = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        label=_("Minimum order total"),
        help_text=_("The linked order, or else the customer's largest order."),
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Channels"),
        help_text=_("None ticked: any channel."),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))

    @staticmethod
    def initial_for(rule: PriorityRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "priority": rule.priority,
            "keywords": rule.keywords,
            "is_vip_only": rule.is_vip_only,
            "min_order_total": rule.min_order_total,
            "channels": rule.channels,
            "is_active": rule.is_active,
        }


class RoutingRuleForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), label=_("Send to team"))
    position = forms.IntegerField(
        min_value=0, initial=0, label=_("Position"), help_text=_("Lower runs first; the first matching rule wins.")
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Channels"),
        help_text=_("None ticked: any channel."),
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Contact reasons"),
        help_text=_("Any one of them. None ticked: any."),
    )
    languages = CommaSeparatedField(
        required=False,
        label=_("Customer languages"),
        help_text=_("Comma-separated codes, such as: es, pt. Empty: any language."),
    )
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Priorities"),
        help_text=_("None ticked: any priority."),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))

    @staticmethod
    def initial_for(rule: RoutingRule) -> dict[str, Any]:
        return {
            "team": rule.team_id,
            "position": rule.position,
            "channels": rule.channels,
            "tags": list(rule.tags.all()),
            "languages": rule.languages,
            "priorities": rule.priorities,
            "is_active": rule.is_active,
        }


class TeamAutoAssignmentForm(forms.Form):
    is_enabled = forms.BooleanField(required=False)


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(
        choices=[
            (Availability.AVAILABLE, Availability.AVAILABLE.label),
            (Availability.AWAY, Availability.AWAY.label),
        ]
    )
