"""REST API routes, version 1."""

from django.urls import include, path

urlpatterns = [
    path("store/", include("orders.api.urls")),
    path("", include("tickets.api.urls")),
]
