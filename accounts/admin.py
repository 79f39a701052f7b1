from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AgentProfile, StaffSecuritySettings, Team, User
from helpdesk.core.exceptions import ApplicationError
from helpdesk.core.languages import supported_languages


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_staff", "is_active"]
    list_filter = ["role", "is_staff", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "role"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "is_auto_assignment_enabled"]
    filter_horizontal = ["members"]


class AgentProfileAdminForm(forms.ModelForm):
    class Meta:
        model = AgentProfile
        fields = "__all__"  # noqa: DJ007  # the admin edits the whole profile

    def clean_languages(self) -> list[str]:
        # Stored as customers' languages are, so routing compares them as they are.
        try:
            return supported_languages(self.cleaned_data["languages"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    form = AgentProfileAdminForm
    list_display = ["user", "availability", "ticket_capacity", "chat_capacity"]
    list_filter = ["availability"]
    list_select_related = ["user"]


admin.site.register(StaffSecuritySettings)
