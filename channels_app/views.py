"""Channel settings pages: the quarantine of inbound email an admin reviews."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import permission_required
from channels_app.access import QUARANTINE_PERMISSION, access_quarantined_email
from channels_app.email_inbound import quarantined_email_retry
from channels_app.selectors import quarantined_email_list
from helpdesk.core.exceptions import ApplicationError

PAGE_SIZE = 50


@permission_required(QUARANTINE_PERMISSION)
def quarantine_list(request: HttpRequest) -> HttpResponse:
    show_resolved = request.GET.get("status") == "resolved"
    page = Paginator(quarantined_email_list(is_resolved=show_resolved), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "channels_app/quarantine_list.html", {"page": page, "show_resolved": show_resolved})


@permission_required(QUARANTINE_PERMISSION)
def quarantine_download(request: HttpRequest, quarantined_email_id: int) -> HttpResponse:
    quarantined = access_quarantined_email(request.user, quarantined_email_id)
    response = HttpResponse(bytes(quarantined.raw_message), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="quarantined-{quarantined.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@permission_required(QUARANTINE_PERMISSION)
def quarantine_retry(request: HttpRequest, quarantined_email_id: int) -> HttpResponse:
    quarantined = access_quarantined_email(request.user, quarantined_email_id)
    try:
        quarantined = quarantined_email_retry(quarantined_email_id=quarantined.pk, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("channels_app:quarantine")
    if quarantined.is_resolved:
        messages.success(request, _("The email was processed and is no longer in quarantine."))
    else:
        messages.error(request, _("The email still cannot be processed: %(reason)s") % {"reason": quarantined.reason})
    return redirect("channels_app:quarantine")
