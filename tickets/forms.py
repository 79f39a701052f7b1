"""Forms of the agent workspace: they parse input; services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.choices import Channel, Priority, TicketStatus

_BLANK = [("", "—")]


class InboxFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.ChoiceField(required=False, choices=_BLANK + list(TicketStatus.choices))
    priority = forms.ChoiceField(required=False, choices=_BLANK + list(Priority.choices))
    channel = forms.ChoiceField(required=False, choices=_BLANK + list(Channel.choices))
    tag = forms.CharField(required=False)
    team = forms.IntegerField(required=False)
    assignee = forms.IntegerField(required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Reply"))
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    last_seen_message_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", _("Keep status"))]
        + [(value, _("and set %s") % label) for value, label in TicketStatus.choices if value != TicketStatus.NEW],
    )


class PageVersionForm(forms.Form):
    """The ticket as the agent's page shows it: what a reply written on that page was written against."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    last_seen_message_id = forms.IntegerField(widget=forms.HiddenInput, required=False)


class MacroApplyForm(PageVersionForm):
    macro = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Internal note"))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class TagsForm(forms.Form):
    add = forms.CharField(required=False)
    remove = forms.CharField(required=False)

    def names(self, field: str) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get(field, "").split(",") if name.strip()]


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False)
    team = forms.IntegerField(required=False)


class MergeForm(forms.Form):
    into_number = forms.IntegerField(label=_("Merge into ticket number"))
    merge_customers = forms.BooleanField(required=False)


class EscalateForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.IntegerField(required=False)
    supervisor = forms.IntegerField(required=False)


class BulkForm(forms.Form):
    ticket_ids = forms.CharField()
    action = forms.ChoiceField(
        choices=[
            ("assign_me", _("Assign to me")),
            ("status", _("Set status")),
            ("tag", _("Add tag")),
            ("assign", _("Assign to")),
        ]
    )
    status = forms.ChoiceField(required=False, choices=_BLANK + list(TicketStatus.choices))
    tag = forms.CharField(required=False)
    assignee = forms.IntegerField(required=False)

    def ids(self) -> list[int]:
        return [int(value) for value in self.cleaned_data["ticket_ids"].split(",") if value.strip().isdigit()][:200]
