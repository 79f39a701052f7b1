from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("settings/security/", views.security_settings, name="security-settings"),
]
