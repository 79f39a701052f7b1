from django.contrib import admin

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
admin.site.register(WebhookEndpoint)
