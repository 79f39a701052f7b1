"""Pages customers reach from their email: confirming that a solved request is solved."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from tickets.models import Ticket
from tickets.status_effects import ticket_confirm_solved, ticket_from_confirmation_token


@require_http_methods(["GET", "POST"])
def confirm_solved(request: HttpRequest, token: str) -> HttpResponse:
    ticket_id = ticket_from_confirmation_token(token)
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        return render(request, "tickets/public/confirm_invalid.html", status=404)
    with translation.override(ticket.customer.language or "en"):
        if request.method == "POST":
            ticket = ticket_confirm_solved(ticket_id=ticket.pk)
            return render(request, "tickets/public/confirm_done.html", {"ticket": ticket})
        # GET only asks: link scanners and previews must not close tickets.
        return render(request, "tickets/public/confirm_ask.html", {"ticket": ticket, "token": token})
