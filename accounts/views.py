"""Admin settings pages for staff accounts and security."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import permission_required
from accounts.forms import SecuritySettingsForm
from accounts.models import StaffSecuritySettings
from accounts.services import security_settings_update


@permission_required("accounts.manage_settings")
def security_settings(request: HttpRequest) -> HttpResponse:
    current = StaffSecuritySettings.load()
    # Not `request.POST or None`: a POST with every box unticked has an empty body (htmx sends the
    # CSRF token as a header), and must still bind the form.
    form = SecuritySettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"is_mfa_required_for_staff": current.is_mfa_required_for_staff},
    )
    if request.method == "POST" and form.is_valid():
        security_settings_update(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Security settings saved."))
        return redirect("accounts:security-settings")
    return render(request, "accounts/security_settings.html", {"form": form})
