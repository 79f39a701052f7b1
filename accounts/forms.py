from django import forms
from django.utils.translation import gettext_lazy as _


class SecuritySettingsForm(forms.Form):
    is_mfa_required_for_staff = forms.BooleanField(
        required=False, label=_("Require two-factor authentication for every staff member")
    )
