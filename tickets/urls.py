from django.urls import path

from tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.inbox_bulk, name="bulk"),
    path("tickets/<int:number>/", views.ticket_page, name="ticket"),
    path("tickets/<int:number>/reply/", views.ticket_reply_view, name="reply"),
    path("tickets/<int:number>/note/", views.ticket_note_view, name="note"),
    path("tickets/<int:number>/status/", views.ticket_status_view, name="status"),
    path("tickets/<int:number>/priority/", views.ticket_priority_view, name="priority"),
    path("tickets/<int:number>/tags/", views.ticket_tags_view, name="tags"),
    path("tickets/<int:number>/assign/", views.ticket_assign_view, name="assign"),
    path("tickets/<int:number>/merge/", views.ticket_merge_view, name="merge"),
    path("tickets/<int:number>/escalate/", views.ticket_escalate_view, name="escalate"),
    path("tickets/<int:number>/messages/<int:message_id>/split/", views.message_split_view, name="split"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("tickets/<int:number>/orders/", views.order_lookup_view, name="order-lookup"),
    path("tickets/<int:number>/macro/preview/", views.macro_preview_view, name="macro-preview"),
    path("tickets/<int:number>/macro/apply/", views.macro_apply_view, name="macro-apply"),
]
