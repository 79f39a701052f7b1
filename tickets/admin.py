import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from tickets.models import (
    Attachment,
    BusinessCalendar,
    BusinessHoursInterval,
    Holiday,
    Macro,
    MacroTranslation,
    Message,
    PriorityRule,
    RoutingRule,
    SlaPolicy,
    Tag,
    Ticket,
    WebhookEndpoint,
)


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = ["direction", "channel", "author", "body_text", "external_message_id"]
    readonly_fields = ["external_message_id"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "subject", "customer", "status", "priority", "channel", "assignee", "last_message_at"]
    list_filter = ["status", "priority", "channel", "team"]
    search_fields = ["=number", "subject", "customer__name"]
    list_select_related = ["customer", "assignee"]
    raw_id_fields = ["customer", "assignee", "order", "merged_into", "split_from"]
    filter_horizontal = ["tags"]
    inlines = [MessageInline]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "refusal_reason"]
    raw_id_fields = ["message"]


class IntervalInline(admin.TabularInline):
    model = BusinessHoursInterval
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "is_default"]
    inlines = [IntervalInline, HolidayInline]


class MacroTranslationInline(admin.TabularInline):
    model = MacroTranslation
    extra = 0


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "set_status", "set_priority", "is_active", "usage_count"]
    inlines = [MacroTranslationInline]


admin.site.register(Tag)
admin.site.register(SlaPolicy)
admin.site.register(PriorityRule)
admin.site.register(RoutingRule)


class WebhookEndpointForm(forms.ModelForm):
    # The signing secret is never sent back to the browser: blank on an edit keeps the stored one, and a
    # new endpoint saved without one gets a generated secret, shown once.
    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        widget=forms.PasswordInput(),
        required=False,
        help_text="Leave blank to keep the current secret (a new endpoint gets a generated one, shown once).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "secret", "is_active")

    def clean_secret(self) -> str:
        return self.cleaned_data.get("secret") or self.instance.secret or ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "events", "is_active", "updated_at")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        generated = not obj.secret
        if generated:
            obj.secret = secrets.token_urlsafe(32)
        super().save_model(request, obj, form, change)
        if generated:
            messages.warning(
                request, f"Signing secret for {obj.url}: {obj.secret} (copy it now: it is not shown again)."
            )
