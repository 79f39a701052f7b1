from django import forms
from django.contrib import admin

from channels_app.models import ImapMailbox, QuarantinedEmail


@admin.register(QuarantinedEmail)
class QuarantinedEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "header_from", "subject", "size", "reason", "is_resolved")
    list_filter = ("is_resolved", "source")
    search_fields = ("header_from", "envelope_sender", "subject", "reason")
    exclude = ("raw_message",)
    readonly_fields = (
        "source",
        "envelope_sender",
        "envelope_recipients",
        "reason",
        "digest",
        "size",
        "header_from",
        "subject",
        "is_resolved",
        "resolved_at",
        "resolved_by",
        "resolved_message",
    )

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # quarantine is filled by the inbound doors only


class ImapMailboxForm(forms.ModelForm):
    # Never sent back to the browser; left blank on an edit, the stored password stays.
    password = forms.CharField(widget=forms.PasswordInput(), required=False)

    class Meta:
        model = ImapMailbox
        fields = ("name", "host", "port", "use_ssl", "username", "password", "folder", "is_active")

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or self.instance.password
        if not password:
            raise forms.ValidationError("A password is required.")
        return password


@admin.register(ImapMailbox)
class ImapMailboxAdmin(admin.ModelAdmin):
    form = ImapMailboxForm
    list_display = ("name", "username", "host", "folder", "is_active", "last_polled_at", "last_seen_uid", "last_error")
    readonly_fields = ("uid_validity", "last_seen_uid", "last_polled_at", "last_error")
