"""Agent workspace pages: the inbox and the ticket page. Thin: parse, call a service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import staff_required
from accounts.choices import Availability
from accounts.models import AgentProfile, Team, User
from customers.choices import IdentityKind
from helpdesk.core.exceptions import ApplicationError
from helpdesk.core.redirects import posted_next
from orders.choices import OrderStatus, ShipmentStatus
from orders.selectors import order_get_by_number
from tickets import forms
from tickets.access import access_attachment, access_macro, access_ticket_by_number, check_order_lookup
from tickets.choices import Channel, Priority, TicketStatus
from tickets.events import inbox_sequence, ticket_sequence
from tickets.models import SlaTarget, Ticket, TicketActivity
from tickets.selectors import (
    INBOX_VIEWS,
    InboxFilters,
    ticket_detail_for_agent,
    ticket_id_by_number,
    ticket_list_for_inbox,
    ticket_page_pickers,
)
from tickets.services.bulk import tickets_bulk_update
from tickets.services.conversation import StaleTicketError, ticket_add_note, ticket_reply
from tickets.services.lifecycle import (
    ticket_assign,
    ticket_change_status,
    ticket_escalate,
    ticket_set_priority,
    ticket_set_tags,
)
from tickets.services.merge import ticket_merge, ticket_split


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", "all")
    if view not in INBOX_VIEWS:
        view = "all"
    form = forms.InboxFilterForm(request.GET or None)
    filters = None
    if form.is_valid():
        data = form.cleaned_data
        filters = InboxFilters(
            status=data["status"],
            priority=data["priority"],
            channel=data["channel"],
            tag=data["tag"],
            team=data["team"],
            assignee=data["assignee"],
            query=data["q"],
        )
    # Read before the rows: an event committed while they are read is caught up on by the page's socket.
    live_sequence = None if request.htmx else inbox_sequence()
    try:
        page = ticket_list_for_inbox(user=request.user, cursor=request.GET.get("after"), view=view, filters=filters)
    except ApplicationError as error:
        return render(request, "tickets/inbox.html", {"error": error.message, "page": None, "form": form}, status=400)
    profile = AgentProfile.objects.filter(user=request.user).only("availability").first()
    context = {
        "labels": _choice_labels(),
        "availability": profile.availability if profile else Availability.OFFLINE,
        "page": page,
        "form": form,
        "view": view,
        "views": INBOX_VIEWS,
        "query_string": _query_without("after", request),
        "live_sequence": live_sequence,
    }
    template = "tickets/_inbox_rows.html" if request.htmx and request.GET.get("after") else "tickets/inbox.html"
    return render(request, template, context)


_LABELLED_CHOICES = {
    "status": TicketStatus,
    "priority": Priority,
    "channel": Channel,
    "activity": TicketActivity.Kind,
    "sla": SlaTarget.Kind,
    "identity": IdentityKind,
    "order_status": OrderStatus,
    "shipment_status": ShipmentStatus,
}


def _choice_labels() -> dict[str, dict[str, str]]:
    """Choice labels in the current language, translated once per page: ``get_FOO_display`` in a
    template rebuilds and translates the whole choice list on every call."""
    return {
        name: {value: str(label) for value, label in choices.choices} for name, choices in _LABELLED_CHOICES.items()
    }


def _query_without(name: str, request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


@staff_required
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose tickets and an action.")
        return redirect("tickets:inbox")
    try:
        assignee = (
            _active_staff_or_none(form.cleaned_data["assignee"]) if form.cleaned_data["action"] == "assign" else None
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(posted_next(request, default=reverse("tickets:inbox")))
    result = tickets_bulk_update(
        actor=request.user,
        ticket_ids=form.ids(),
        action=form.cleaned_data["action"],
        status=form.cleaned_data["status"],
        tag=form.cleaned_data["tag"],
        assignee=assignee,
    )
    if result.updated:
        messages.success(request, f"{len(result.updated)} tickets updated.")
    for ticket_id, error in result.errors.items():
        messages.error(request, f"Ticket {ticket_id}: {error}")
    return redirect(posted_next(request, default=reverse("tickets:inbox")))


def _active_staff_or_none(user_id: int | None) -> User | None:
    """The colleague a picker chose; no choice (the empty option) is None, meaning nobody.

    An id that names no active staff member is refused, so a stale or forged choice never unassigns.
    """
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    if user is None:
        raise ApplicationError(_("That colleague does not exist or is not active staff; nothing was changed."))
    return user


def _team_or_none(team_id: int | None) -> Team | None:
    """The team a picker chose; no choice is None. An id that names no team is refused."""
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ApplicationError(_("That team does not exist; nothing was changed."))
    return team


def _ticket_page(
    request: HttpRequest, number: int, *, status: int = 200, ticket: Ticket | None = None, **extra: Any
) -> HttpResponse:
    # Read before the ticket: a change committed while the page is read is caught up on by its socket.
    ticket_id = ticket.pk if ticket else ticket_id_by_number(number=number)
    live_sequence = ticket_sequence(ticket_id) if ticket_id is not None else None
    ticket = ticket or access_ticket_by_number(request.user, number)
    detail = ticket_detail_for_agent(ticket=ticket, user=request.user)
    reply_form = extra.pop("reply_form", None) or forms.ReplyForm(
        initial={"expected_version": detail.ticket.version, "last_seen_message_id": detail.last_message_id}
    )
    context = {
        "labels": _choice_labels(),
        "detail": detail,
        "ticket": detail.ticket,
        "reply_form": reply_form,
        "note_form": forms.NoteForm(),
        **ticket_page_pickers(user=request.user),
        "status_form": forms.StatusForm(initial={"status": detail.ticket.status}),
        "priority_form": forms.PriorityForm(initial={"priority": detail.ticket.priority}),
        "live_sequence": live_sequence,
        **extra,
    }
    return render(request, "tickets/ticket.html", context, status=status)


@staff_required
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    return _ticket_page(request, number)


# Images a browser only ever draws, so they may open in the page; never SVG, which can carry script.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@staff_required
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    """A customer's file, served so it can never run as a page of the helpdesk's origin."""
    attachment = access_attachment(request.user, number, attachment_id)
    content_type = attachment.content_type.split(";")[0].strip().lower()
    is_inline = content_type in INLINE_IMAGE_TYPES
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not is_inline,
        filename=attachment.filename,
        content_type=content_type if is_inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private"  # the browser may keep it; a shared cache may not
    return response


TicketAction = Callable[[HttpRequest, Any], "int | None"]


def ticket_action(form_class: type[forms.forms.Form]) -> Callable[[TicketAction], Callable[..., HttpResponse]]:
    """POST actions on a ticket: validate the form, call the service, show the page again.

    A domain error (an invalid transition, a closed ticket) is shown to the agent as a message.
    """

    def decorator(action: TicketAction) -> Callable[..., HttpResponse]:
        @staff_required
        @require_POST
        @wraps(action)
        def view(request: HttpRequest, number: int) -> HttpResponse:
            ticket = access_ticket_by_number(request.user, number, for_change=True)
            form = form_class(request.POST)
            if not form.is_valid():
                messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
                return _ticket_page(request, number, status=400)
            request.ticket = ticket  # type: ignore[attr-defined]
            try:
                shown_next = action(request, form)
            except ApplicationError as error:
                messages.error(request, error.message)
                return _ticket_page(request, number, status=error.status_code)
            return redirect("tickets:ticket", number=shown_next or number)

        return view

    return decorator


@staff_required
@require_POST
def ticket_reply_view(request: HttpRequest, number: int) -> HttpResponse:
    ticket = access_ticket_by_number(request.user, number, for_change=True)
    form = forms.ReplyForm(request.POST)
    if not form.is_valid():
        return _ticket_page(request, number, status=400, reply_form=form)
    try:
        ticket_reply(
            ticket_id=ticket.pk,
            author=request.user,
            body_text=form.cleaned_data["body"],
            expected_version=form.cleaned_data["expected_version"],
            last_seen_message_id=form.cleaned_data["last_seen_message_id"],
            status=form.cleaned_data["status"] or None,
        )
    except StaleTicketError as error:
        return _held_back_reply(
            request,
            number,
            error=error,
            body=form.cleaned_data["body"],
            last_seen_message_id=form.cleaned_data["last_seen_message_id"],
            status=form.cleaned_data["status"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _ticket_page(request, number, status=error.status_code, reply_form=form)
    messages.success(request, "Reply sent.")
    return redirect("tickets:ticket", number=number)


def _held_back_reply(
    request: HttpRequest,
    number: int,
    *,
    error: StaleTicketError,
    body: str,
    last_seen_message_id: int | None,
    status: str = "",
) -> HttpResponse:
    """The ticket page again after a reply was held back: the new messages marked, the draft kept in the box."""
    held_back = forms.ReplyForm(
        initial={
            "body": body,
            "expected_version": error.extra["current_version"],
            "last_seen_message_id": max(error.extra["new_message_ids"] or [last_seen_message_id or 0]),
            "status": status,
        }
    )
    return _ticket_page(
        request,
        number,
        status=409,
        reply_form=held_back,
        stale_error=error.message,
        new_message_ids=set(error.extra["new_message_ids"]),
    )


@ticket_action(forms.NoteForm)
def ticket_note_view(request: HttpRequest, form: forms.NoteForm) -> int | None:
    ticket_add_note(ticket_id=request.ticket.pk, author=request.user, body_text=form.cleaned_data["body"])  # type: ignore[attr-defined]
    return None


@ticket_action(forms.StatusForm)
def ticket_status_view(request: HttpRequest, form: forms.StatusForm) -> int | None:
    ticket_change_status(ticket_id=request.ticket.pk, status=form.cleaned_data["status"], actor=request.user)  # type: ignore[attr-defined]
    return None


@ticket_action(forms.PriorityForm)
def ticket_priority_view(request: HttpRequest, form: forms.PriorityForm) -> int | None:
    ticket_set_priority(ticket_id=request.ticket.pk, priority=form.cleaned_data["priority"], actor=request.user)  # type: ignore[attr-defined]
    return None


@ticket_action(forms.TagsForm)
def ticket_tags_view(request: HttpRequest, form: forms.TagsForm) -> int | None:
    ticket_set_tags(ticket_id=request.ticket.pk, actor=request.user, add=form.names("add"), remove=form.names("remove"))  # type: ignore[attr-defined]
    return None


@ticket_action(forms.AssignForm)
def ticket_assign_view(request: HttpRequest, form: forms.AssignForm) -> int | None:
    assignee = _active_staff_or_none(form.cleaned_data["assignee"])
    team = _team_or_none(form.cleaned_data["team"])
    ticket_assign(ticket_id=request.ticket.pk, actor=request.user, assignee=assignee, team=team)  # type: ignore[attr-defined]
    return None


@ticket_action(forms.MergeForm)
def ticket_merge_view(request: HttpRequest, form: forms.MergeForm) -> int | None:
    target = access_ticket_by_number(request.user, form.cleaned_data["into_number"], for_change=True)
    ticket_merge(
        source_id=request.ticket.pk,  # type: ignore[attr-defined]
        target_id=target.pk,
        actor=request.user,
        merge_customers=form.cleaned_data["merge_customers"],
    )
    return target.number


@ticket_action(forms.EscalateForm)
def ticket_escalate_view(request: HttpRequest, form: forms.EscalateForm) -> int | None:
    team = _team_or_none(form.cleaned_data["team"] or None)
    supervisor = _active_staff_or_none(form.cleaned_data["supervisor"] or None)
    ticket_escalate(
        ticket_id=request.ticket.pk,  # type: ignore[attr-defined]
        actor=request.user,
        reason=form.cleaned_data["reason"],
        team=team,
        supervisor=supervisor,
    )
    return None


@staff_required
@require_POST
def message_split_view(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    ticket = access_ticket_by_number(request.user, number, for_change=True)
    if not ticket.messages.filter(pk=message_id).exists():
        messages.error(request, "That message is not on this ticket.")
        return redirect("tickets:ticket", number=number)
    try:
        new_ticket = ticket_split(message_id=message_id, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("tickets:ticket", number=number)
    messages.success(request, f"Split into ticket #{new_ticket.number}.")
    return redirect("tickets:ticket", number=new_ticket.number)


@staff_required
def order_lookup_view(request: HttpRequest, number: int) -> HttpResponse:
    """Any order by its number, shown like the sidebar's (an older one, or one the customer quotes)."""
    ticket = access_ticket_by_number(request.user, number)
    check_order_lookup(request.user)
    wanted = request.GET.get("order", "").strip()[:64]
    found = order_get_by_number(number=wanted)
    if not request.htmx:  # without JavaScript the whole page comes back with the order in the sidebar
        return _ticket_page(request, number, ticket=ticket, looked_up=wanted, found_order=found)
    context = {"ticket": ticket, "found_order": found, "looked_up": wanted, "labels": _choice_labels()}
    return render(request, "tickets/_order_lookup.html", context)


@staff_required
def macro_preview_view(request: HttpRequest, number: int) -> HttpResponse:
    """The macro rendered for this ticket, with any placeholder that has no value shown before sending.

    Its send button carries the version and last message of the page the agent is reading (not the
    ticket's current ones), so a macro picked after a colleague answered is held back like a reply.
    """
    from tickets.services.macros import macro_render

    ticket = access_ticket_by_number(request.user, number)
    macro_id = request.GET.get("macro", "")
    if not macro_id.isdigit():
        return HttpResponse(_("That macro does not exist."), status=404)
    macro = access_macro(request.user, int(macro_id), for_use=True)
    form = forms.PageVersionForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Reload the page to use a macro."), status=400)
    rendered = macro_render(macro=macro, ticket=ticket, agent=request.user)
    return render(
        request,
        "tickets/_macro_preview.html",
        {
            "ticket": ticket,
            "macro": macro,
            "rendered": rendered,
            "expected_version": form.cleaned_data["expected_version"],
            "last_seen_message_id": form.cleaned_data["last_seen_message_id"],
        },
    )


@staff_required
@require_POST
def macro_apply_view(request: HttpRequest, number: int) -> HttpResponse:
    from tickets.services.macros import macro_apply

    ticket = access_ticket_by_number(request.user, number, for_change=True)
    form = forms.MacroApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was sent: reload the page and pick the macro again."))
        return _ticket_page(request, number, status=400)
    try:
        macro_apply(
            macro_id=form.cleaned_data["macro"],
            ticket_id=ticket.pk,
            agent=request.user,
            expected_version=form.cleaned_data["expected_version"],
            last_seen_message_id=form.cleaned_data["last_seen_message_id"],
        )
    except StaleTicketError as error:
        return _held_back_reply(
            request,
            number,
            error=error,
            body=error.extra.get("held_back_text", ""),
            last_seen_message_id=form.cleaned_data["last_seen_message_id"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _ticket_page(request, number, status=error.status_code)
    messages.success(request, _("Macro applied and reply sent."))
    return redirect("tickets:ticket", number=number)
