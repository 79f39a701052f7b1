"""The ticket page's timeline, built in Python like the inbox rows: a conversation of 100 messages
through the template engine cost more than the rest of the page together.

Every value is escaped here (``html.escape``, as Django's ``escape`` does); message bodies in HTML
were sanitised when they were stored and are the only markup taken as is.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from html import escape

from django import template
from django.middleware.csrf import get_token
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tickets.choices import MessageDirection
from tickets.models import Ticket
from tickets.selectors import TimelineMessage
from tickets.services.merge import split_leaves_a_customer_message
from tickets.templatetags.workspace import Stamps

register = template.Library()


@register.simple_tag(takes_context=True)
def timeline(
    context: template.Context,
    ticket: Ticket,
    messages: Sequence[TimelineMessage],
    labels: Mapping[str, Mapping[str, str]],
    new_message_ids: Container[int] = (),
) -> SafeString:
    words = _Words(ticket=ticket, csrf_token=get_token(context["request"]), labels=labels)
    can_split = split_leaves_a_customer_message(
        customer_message_count=sum(1 for message in messages if message.direction == MessageDirection.INBOUND)
    )
    stamps = Stamps()
    new_ids = new_message_ids or ()  # unset in the context: nothing is new
    html = [_message_html(message, words, stamps, can_split, message.pk in new_ids) for message in messages]
    return SafeString("".join(html))


class _Words:
    """What every message of the page repeats, translated and escaped once."""

    def __init__(self, *, ticket: Ticket, csrf_token: str, labels: Mapping[str, Mapping[str, str]]) -> None:
        ticket_url = reverse("tickets:ticket", args=[ticket.number])
        self.customer = escape(str(ticket.customer))
        self.helpdesk = escape(_("Helpdesk"))
        self.note = escape(_("internal note"))
        self.automatic = escape(_("automatic"))
        self.not_kept = escape(_("not kept"))
        self.show_quoted = escape(_("Show quoted text"))
        self.channels = {value: escape(text) for value, text in labels["channel"].items()}
        self.split_form = (
            f'<form method="post" action="{escape(ticket_url)}messages/{{pk}}/split/" class="inline">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
            f'<button type="submit" class="link">{escape(_("Split"))}</button></form>'
        )

    def author(self, message: TimelineMessage) -> str:
        if message.direction == MessageDirection.INBOUND:
            return self.customer
        return escape(message.author_name) if message.author_name else self.helpdesk


def _message_html(message: TimelineMessage, words: _Words, stamps: Stamps, can_split: bool, is_new: bool) -> str:
    direction = escape(message.direction)
    if message.direction == MessageDirection.NOTE:
        kind = words.note
    else:
        kind = words.channels.get(message.channel) or escape(message.channel)
    if message.is_automatic:
        kind += f" · {words.automatic}"
    iso, shown = stamps.activity(message.created_at)
    split = (
        words.split_form.format(pk=message.pk) if can_split and message.direction == MessageDirection.INBOUND else ""
    )
    # body_html was sanitised when it was stored (tickets.html.sanitise_html); plain text is escaped here.
    body = message.body_html or linebreaks(message.body_text, autoescape=True)
    quoted = ""
    if message.quoted_text:
        quoted = f'<details class="quoted"><summary>{words.show_quoted}</summary>'
        quoted += f"<pre>{escape(message.quoted_text)}</pre></details>"
    return (
        f'<li class="message message-{direction}{" message-new" if is_new else ""}" id="message-{message.pk}">'
        f'<div class="message-head"><strong>{words.author(message)}</strong> <span class="muted">{kind}</span> '
        f'<time datetime="{iso}">{escape(shown)}</time> {split}</div>'
        f'<div class="message-body">{body}</div>{quoted}{_attachments_html(message, words)}</li>\n'
    )


def _attachments_html(message: TimelineMessage, words: _Words) -> str:
    if not message.attachments:
        return ""
    items = []
    for attachment in message.attachments:
        name = escape(attachment.filename)
        if attachment.refusal_reason:
            reason = escape(attachment.refusal_reason)
            items.append(f'<li><span class="error">{name} — {words.not_kept}: {reason}</span></li>')
        else:
            size = escape(str(filesizeformat(attachment.size)))
            link = f'<a href="{escape(attachment.url)}">{name}</a>'
            items.append(f'<li>{link} <span class="muted">{size}</span></li>')
    return f'<ul class="attachments">{"".join(items)}</ul>'
