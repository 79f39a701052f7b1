"""Agent workspace pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import staff_required
from helpdesk.core.exceptions import ApplicationError
from tickets.selectors import ticket_list_for_inbox


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    try:
        page = ticket_list_for_inbox(user=request.user, cursor=request.GET.get("after"))
    except ApplicationError as error:
        return render(request, "tickets/inbox.html", {"error": error.message, "page": None}, status=400)
    template = "tickets/_inbox_rows.html" if request.htmx else "tickets/inbox.html"
    return render(request, template, {"page": page})
