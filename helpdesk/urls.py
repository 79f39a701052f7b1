"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from helpdesk.core import views as core_views
from tickets import public_views as ticket_public_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("staff/", include("accounts.urls")),
    path("inbox/", include("tickets.urls")),
    path("settings/", include("tickets.settings_urls")),
    path("store/", include("orders.urls")),
    path("channels/", include("channels_app.urls")),
    path("requests/<str:token>/confirm/", ticket_public_views.confirm_solved, name="ticket-confirm-solved"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("helpdesk.api_urls")),
]
