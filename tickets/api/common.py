"""What every ticket API view shares: the base view, error shapes, and how tickets and messages look."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from customers.models import Customer
from helpdesk.core.exceptions import ApplicationError
from tickets.models import Attachment, Message, Ticket
from tickets.status_machine import InvalidTransitionError

TICKETS_TAG = "tickets"
MACROS_TAG = "macros"
CONTACT_REASONS_TAG = "contact reasons"
MAX_PAGE_SIZE = 100


class TicketsApi(APIView):
    """Token (or session) authentication; staff only (the project's default permission class)."""

    parser_classes = [JSONParser]

    def handle_exception(self, exc: Exception) -> Response:
        # The status machine calls a refused transition a 409; to an API client it is a request the
        # ticket cannot take (retrying will not help), so it is answered 400 with the same message.
        if isinstance(exc, InvalidTransitionError):
            exc = ApplicationError(exc.message, extra=exc.extra)
        return super().handle_exception(exc)


def next_page_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


# --- Errors ---------------------------------------------------------------------------------------


class ErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StaleTicketOutputSerializer(ErrorOutputSerializer):
    current_version = serializers.IntegerField()
    new_message_ids = serializers.ListField(child=serializers.IntegerField())


_ERRORS = {
    400: OpenApiResponse(
        description="Field errors (by field name), or a change the ticket refuses; `detail` says why."
    ),
    401: OpenApiResponse(ErrorOutputSerializer, description="No token, or an unknown one."),
    403: OpenApiResponse(ErrorOutputSerializer, description="Signed in, but not allowed to do this."),
    404: OpenApiResponse(ErrorOutputSerializer, description="No such ticket, or not one the caller may see."),
    409: OpenApiResponse(ErrorOutputSerializer, description="The change conflicts with what is stored."),
}


def error_responses(*codes: int, **overrides: OpenApiResponse) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation; ``overrides`` as ``e409=OpenApiResponse(...)``."""
    responses = {code: _ERRORS[code] for code in codes}
    responses.update({int(key.removeprefix("e")): value for key, value in overrides.items()})
    return responses


# --- Representations ------------------------------------------------------------------------------


class StaffOutputSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")

    class Meta:
        model = User
        fields = ["id", "name", "email"]


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerSummaryOutputSerializer(serializers.ModelSerializer):
    email = serializers.CharField(source="primary_email", allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "email", "language", "store_customer_id", "is_vip"]


class TicketOutputSerializer(serializers.ModelSerializer):
    customer = CustomerSummaryOutputSerializer()
    assignee = StaffOutputSerializer(allow_null=True)
    team = TeamOutputSerializer(allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    merged_into_number = serializers.IntegerField(source="merged_into.number", allow_null=True, default=None)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "customer",
            "assignee",
            "team",
            "tags",
            "order_number",
            "merged_into_number",
            "version",
            "last_message_at",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
            "sla_next_due_at",
        ]
        extra_kwargs = {"version": {"help_text": "Send it back as expected_version with a reply."}}


class AttachmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "is_inline", "refusal_reason"]


class MessageOutputSerializer(serializers.ModelSerializer):
    author = StaffOutputSerializer(allow_null=True)
    is_note = serializers.BooleanField(help_text="An internal note: staff only, never sent to the customer.")
    attachments = AttachmentOutputSerializer(many=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket_id",
            "direction",
            "channel",
            "is_note",
            "is_automatic",
            "author",
            "sender_address",
            "body_text",
            "body_html",
            "created_at",
            "attachments",
        ]


class TicketPageOutputSerializer(serializers.Serializer):
    results = TicketOutputSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")
    next = serializers.URLField(allow_null=True)


class MessagePageOutputSerializer(serializers.Serializer):
    results = MessageOutputSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")
    next = serializers.URLField(allow_null=True)


class TicketWithMessageOutputSerializer(serializers.Serializer):
    message = MessageOutputSerializer()
    ticket = TicketOutputSerializer()
