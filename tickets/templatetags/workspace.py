"""Small template helpers for the agent workspace's hot lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tickets.selectors import InboxRow

register = template.Library()


@register.filter
def label(labels: dict[str, str], value: str) -> str:
    """``{{ labels.status|label:ticket.status }}``: a choice's label from a dict built once per page."""
    return labels.get(value, value)


ROW_HTML = (
    '<tr class="ticket-row priority-{priority}" data-ticket="{pk}" data-href="{url}">'
    '<td data-label="{l_select}"><input type="checkbox" class="row-select" value="{pk}" '
    'aria-label="{l_select} #{number}"></td>'
    '<td data-label="#"><a href="{url}">{number}</a></td>'
    '<td data-label="{l_subject}"><a href="{url}" class="subject">{subject}</a>{tags}</td>'
    '<td data-label="{l_customer}">{customer}</td>'
    '<td data-label="{l_status}"><span class="status status-{status}">{status_label}</span></td>'
    '<td data-label="{l_priority}">{priority_label}</td>'
    '<td data-label="{l_channel}">{channel_label}</td>'
    '<td data-label="{l_assignee}">{assignee}</td>'
    '<td data-label="{l_activity}"><time datetime="{activity_iso}">{activity}</time>{sla}</td>'
    "</tr>\n"
)


class Stamps:
    """Dates as the inbox shows them ("Nov 5, 14:03", "Tue 09:30") in the agent's time zone and language.

    The same output as the ``date`` filter's "M j, H:i" and "D H:i", without its per-call format parsing:
    a page of 50 rows formats about a hundred dates.
    """

    def __init__(self) -> None:
        self.months = {number: str(name).title() for number, name in MONTHS_3.items()}
        self.weekdays = {number: str(name) for number, name in WEEKDAYS_ABBR.items()}
        self.zone = timezone.get_current_timezone()

    def activity(self, moment: datetime) -> tuple[str, str]:
        local = moment.astimezone(self.zone)
        return local.isoformat(), f"{self.months[local.month]} {local.day}, {local:%H:%M}"

    def due(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{self.weekdays[local.weekday()]} {local:%H:%M}"


@register.simple_tag
def inbox_rows(rows: Sequence[InboxRow], labels: Mapping[str, Mapping[str, str]]) -> SafeString:
    """The inbox's table rows, built in Python the way Django's admin builds its change-list rows.

    The hottest markup in the workspace: a page of 50 rows through the template engine cost more than
    everything else on the page together. Every value is escaped here (``html.escape``, as Django's
    ``escape`` does); the fixed words and labels once per page, the rows' own text once per row.
    """
    inbox_url = escape(reverse("tickets:inbox"))
    stamps = Stamps()
    words = {
        "l_select": escape(_("Select")),
        "l_subject": escape(_("Subject")),
        "l_customer": escape(_("Customer")),
        "l_status": escape(_("Status")),
        "l_priority": escape(_("Priority")),
        "l_channel": escape(_("Channel")),
        "l_assignee": escape(_("Assignee")),
        "l_activity": escape(_("Last activity")),
    }
    sla_html = ' <span class="sla-due" title="' + escape(_("SLA due")) + '">⏱ {}</span>'
    statuses, priorities, channels = (
        {value: escape(text) for value, text in labels[kind].items()} for kind in ("status", "priority", "channel")
    )
    html = []
    for row in rows:
        activity_iso, activity = stamps.activity(row.last_message_at)
        status, priority = escape(row.status), escape(row.priority)
        html.append(
            ROW_HTML.format(
                pk=row.pk,
                number=row.number,
                url=f"{inbox_url}tickets/{row.number}/",
                subject=escape(row.subject),
                tags="".join(f' <span class="tag">{escape(tag)}</span>' for tag in row.tags),
                customer=escape(row.customer_name),
                status=status,
                status_label=statuses.get(row.status, status),
                priority=priority,
                priority_label=priorities.get(row.priority, priority),
                channel_label=channels.get(row.channel) or escape(row.channel),
                assignee=escape(row.assignee_name) if row.assignee_name else "—",
                activity_iso=activity_iso,
                activity=escape(activity),
                sla=sla_html.format(escape(stamps.due(row.sla_next_due_at))) if row.sla_next_due_at else "",
                **words,
            )
        )
    return SafeString("".join(html))


@register.simple_tag
def choice_select(form: object, name: str, aria_label: str = "") -> SafeString:
    """A form's choice field as a plain <select>: the widget templates cost a millisecond a field."""
    field = form[name]  # type: ignore[index]
    choices = [(str(value), str(text)) for value, text in field.field.choices]
    label = f' aria-label="{escape(aria_label)}"' if aria_label else ""
    html = f'<select name="{escape(name)}" id="{escape(field.auto_id)}"{label}>'
    return SafeString(html + options(choices, str(field.value() or "")) + "</select>")


@register.simple_tag
def options(choices: Sequence[tuple[object, str]], selected: object = None) -> SafeString:
    """``<option>`` elements for (value, label) pairs the view built, the ``selected`` value marked.

    A pair whose label is empty renders as a bare option (a datalist suggestion).
    """
    html = []
    for value, text in choices:
        mark = " selected" if selected is not None and value == selected else ""
        if text:
            html.append(f'<option value="{escape(str(value))}"{mark}>{escape(text)}</option>')
        else:
            html.append(f'<option value="{escape(str(value))}"{mark}>')
    return SafeString("".join(html))
