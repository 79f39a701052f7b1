"""Ticket API routes under /api/v1/. Where two operations share a path, one class joins their views."""

from django.urls import path

from tickets.api.conversation import TicketMessageListApi, TicketNoteCreateApi, TicketReplyApi
from tickets.api.lifecycle import (
    TicketAssignmentApi,
    TicketEscalateApi,
    TicketMergeApi,
    TicketPriorityApi,
    TicketStatusApi,
    TicketTagsApi,
)
from tickets.api.macros import (
    MacroCreateApi,
    MacroListApi,
    MacroUpdateApi,
    TicketMacroApplyApi,
    TicketMacroPreviewApi,
)
from tickets.api.tags import TagCreateApi, TagListApi
from tickets.api.tickets import TicketCreateApi, TicketDetailApi, TicketListApi


class TicketCollectionApi(TicketListApi, TicketCreateApi):
    """GET lists, POST creates."""


class MacroCollectionApi(MacroListApi, MacroCreateApi):
    """GET lists, POST creates."""


class TagCollectionApi(TagListApi, TagCreateApi):
    """GET lists, POST creates."""


urlpatterns = [
    path("tickets/", TicketCollectionApi.as_view(), name="api-tickets"),
    path("tickets/<int:ticket_id>/", TicketDetailApi.as_view(), name="api-ticket"),
    path("tickets/<int:ticket_id>/messages/", TicketMessageListApi.as_view(), name="api-ticket-messages"),
    path("tickets/<int:ticket_id>/reply/", TicketReplyApi.as_view(), name="api-ticket-reply"),
    path("tickets/<int:ticket_id>/notes/", TicketNoteCreateApi.as_view(), name="api-ticket-notes"),
    path("tickets/<int:ticket_id>/status/", TicketStatusApi.as_view(), name="api-ticket-status"),
    path("tickets/<int:ticket_id>/priority/", TicketPriorityApi.as_view(), name="api-ticket-priority"),
    path("tickets/<int:ticket_id>/tags/", TicketTagsApi.as_view(), name="api-ticket-tags"),
    path("tickets/<int:ticket_id>/assignment/", TicketAssignmentApi.as_view(), name="api-ticket-assignment"),
    path("tickets/<int:ticket_id>/escalate/", TicketEscalateApi.as_view(), name="api-ticket-escalate"),
    path("tickets/<int:ticket_id>/merge/", TicketMergeApi.as_view(), name="api-ticket-merge"),
    path(
        "tickets/<int:ticket_id>/macros/<int:macro_id>/preview/",
        TicketMacroPreviewApi.as_view(),
        name="api-ticket-macro-preview",
    ),
    path(
        "tickets/<int:ticket_id>/macros/<int:macro_id>/apply/",
        TicketMacroApplyApi.as_view(),
        name="api-ticket-macro-apply",
    ),
    path("macros/", MacroCollectionApi.as_view(), name="api-macros"),
    path("macros/<int:macro_id>/", MacroUpdateApi.as_view(), name="api-macro"),
    path("tags/", TagCollectionApi.as_view(), name="api-tags"),
]
