from django.contrib import admin

from surveys.models import SurveyResponse


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["kind", "score", "customer", "ticket", "responded_at"]
    list_filter = ["kind", "score"]
    raw_id_fields = ["customer", "ticket"]
    date_hierarchy = "responded_at"
