from django.urls import path

from channels_app import views
from channels_app.webhooks import MailgunInboundWebhook

app_name = "channels_app"
urlpatterns = [
    path("email/inbound/mailgun/", MailgunInboundWebhook.as_view(), name="mailgun-inbound"),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<int:quarantined_email_id>/raw/", views.quarantine_download, name="quarantine-download"),
    path("quarantine/<int:quarantined_email_id>/retry/", views.quarantine_retry, name="quarantine-retry"),
]
